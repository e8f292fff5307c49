// sipp as a carrier's SIP trunk calling the gateway (UDP, plain RTP, G.711 + telephone-event): writes a scenario
// for one call from options (the digits to type, when to pause, how the call ends, digest credentials), since sipp
// cannot loop over the characters of a string. Run the file with sipp.ts (`scenario: <path>`).
//
// Facts found with sip-tester 3.6.1 (verified against sipp and baresip callees in test/unit/peers-sipp.test.ts):
// - `[cseq]` counts up by itself for each new request of the call (INVITE 1, ACK 1, INFO 2, INFO 3, BYE 4; the
//   retried INVITE after a challenge is 2), and `[branch]` differs per message.
// - `<exec rtp_stream="FILE,-1,PT"/>` streams a raw G.711 file (headerless, 8 kHz, PT 0 µ-law or 8 A-law) in 20 ms
//   packets from the -mp port to the media address of the 200's SDP, looping forever (-1); SSRC 0xCA110000 for the first call, sequence from 0, no marker bit.
//   That keeps the callee's media timeout away and is the caller's "voice" (a tone the other side listens for).
// - `[authentication username=U password=P]` answers the challenge of the last 401/407 received with
//   `auth="true"`; the values must be literal in 3.6.1 (a `[$var]` inside is not expanded), hence this generator.
//   Its digest `uri` is `sip:<remote_ip>:<remote_port>` (no user part) unless sipp gets `-auth_uri` (SippOptions
//   authUri; sipp puts "sip:" in front of the value itself): the gateway checks the digest-uri against the
//   Request-URI, user part included, so pass authUri = the Request-URI, e.g. sip:<did>@127.0.0.1:5060.
// - The ACK of a non-2xx final response must reuse the INVITE's branch: taken from the response's Via by a regexp,
//   which stays right however the scenario is laid out (unlike sipp's positional `[branch-N]`).
// - A request that arrives while the scenario sits in a `<pause>` (e.g. the callee's BYE) is unexpected: sipp
//   aborts the call ("Aborting call on an unexpected BYE") and counts it failed. So with hangup 'await-bye' the steps
//   may not end in a pause (the BYE wait replaces it), and a BYE before the last digit fails the call, as it should.
// - The INFO body goes out as `Signal=5\r\nDuration=160\r\n` (Content-Length 24).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { g711Encode, type G711Law } from './wav.js';

/** The characters a step may type: each becomes one SIP INFO (application/dtmf-relay). */
export const DTMF_DIGITS = /^[0-9*#A-D]+$/;

export type TrunkStep =
  /** Types `digits` one INFO each (`Signal=<d>` / `Duration=<durationMs>`), each answered 200, `gapMs` apart. */
  | { readonly digits: string; readonly gapMs?: number }
  | { readonly pauseMs: number };

export interface TrunkAudio {
  /** A raw G.711 file (headerless, 8 kHz), e.g. from writeG711File(); absolute path, no commas. */
  readonly file: string;
  /** Its law; it must be the codec the callee answers with (the offer lists `codecs`, first preferred). */
  readonly law: G711Law;
}

export interface TrunkScenarioOptions {
  /** Audio codecs to offer, first preferred (default PCMU then PCMA); telephone-event/8000 is always offered as 101. */
  readonly codecs?: readonly G711Law[];
  /**
   * Digest credentials: the first INVITE must then be challenged (401 or 407); it is ACKed and re-sent with the
   * answer. `expect: 'accepted'` wants a 200 to that; `'rejected'` wants 401, 403 or 407 (ACKed; the call ends).
   */
  readonly auth?: { readonly username: string; readonly password: string; readonly expect: 'accepted' | 'rejected' };
  /** The first INVITE must be refused with exactly this status (e.g. 403 from outside the trunk's addresses). */
  readonly refusedWith?: number;
  /** Streamed, looping, from the ACK until the call ends. */
  readonly audio?: TrunkAudio;
  /** What to do once the call is up, in order. */
  readonly steps?: readonly TrunkStep[];
  /** `Duration=` of each INFO, in ms (default 160). */
  readonly durationMs?: number;
  /** `bye` (default): hang up after the steps and expect 200. `await-bye`: the callee must send BYE (answered 200). */
  readonly hangup?: 'bye' | 'await-bye';
  /** With `await-bye`: how long after the steps the BYE may take before the call fails (default 30000). */
  readonly awaitByeMs?: number;
  /** The `From` display and user (default "trunk"). */
  readonly caller?: string;
}

const PAYLOAD_TYPES: Record<G711Law, number> = { pcmu: 0, pcma: 8 };
const RTPMAP: Record<G711Law, string> = { pcmu: 'PCMU/8000', pcma: 'PCMA/8000' };
const DEFAULT_GAP_MS = 250;

/** Writes `samples` (in [-1, 1), 8 kHz) as a raw G.711 file for `TrunkAudio`. */
export function writeG711File(path: string, samples: Float32Array, law: G711Law): string {
  writeFileSync(path, g711Encode(samples, law));
  return path;
}

function checkToken(what: string, value: string): string {
  if (!/^[A-Za-z0-9._~!$&'()*+;=:%-]+$/.test(value) || value.includes(']')) {
    throw new Error(`${what} must be a plain token for sipp's [authentication] keyword: ${JSON.stringify(value)}`);
  }
  return value;
}

function cdata(lines: readonly string[]): string {
  return `    <![CDATA[\n\n${lines.map((line) => (line === '' ? '' : `      ${line}`)).join('\n')}\n\n    ]]>`;
}

/** The scenario XML of one trunk call; see TrunkScenarioOptions. */
export function trunkScenarioXml(options: TrunkScenarioOptions = {}): string {
  const codecs = options.codecs ?? ['pcmu', 'pcma'];
  if (codecs.length === 0) throw new Error('offer at least one codec');
  const caller = checkToken('caller', options.caller ?? 'trunk');
  const durationMs = options.durationMs ?? 160;
  const hangup = options.hangup ?? 'bye';
  if (options.auth && options.refusedWith !== undefined) throw new Error('auth and refusedWith exclude each other');
  if (options.audio?.file.includes(',')) throw new Error(`sipp's rtp_stream cannot take a path with a comma: ${options.audio.file}`);
  if (options.audio && !codecs.includes(options.audio.law)) throw new Error(`audio law ${options.audio.law} is not offered`);
  for (const step of options.steps ?? []) {
    if ('digits' in step && !DTMF_DIGITS.test(step.digits)) throw new Error(`not DTMF digits: ${JSON.stringify(step.digits)}`);
    if ('pauseMs' in step && !(Number.isInteger(step.pauseMs) && step.pauseMs > 0)) throw new Error(`bad pause ${step.pauseMs}`);
  }
  const lastStep = options.steps?.at(-1);
  if (hangup === 'await-bye' && lastStep && 'pauseMs' in lastStep) {
    throw new Error("with hangup 'await-bye' the steps may not end in a pause: a BYE arriving in it would abort the call (use awaitByeMs)");
  }

  const from = `From: "${caller}" <sip:${caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]`;
  const to = 'To: <sip:[service]@[remote_ip]:[remote_port]>';
  const contact = `Contact: <sip:${caller}@[local_ip]:[local_port];transport=[transport]>`;
  const via = (branch: string): string => `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=${branch};rport`;
  const sdp = (version: number): string[] => [
    'v=0',
    `o=${caller} 53655765 ${version} IN IP[local_ip_type] [local_ip]`,
    's=-',
    'c=IN IP[media_ip_type] [media_ip]',
    't=0 0',
    `m=audio [media_port] RTP/AVP ${codecs.map((codec) => PAYLOAD_TYPES[codec]).join(' ')} 101`,
    ...codecs.map((codec) => `a=rtpmap:${PAYLOAD_TYPES[codec]} ${RTPMAP[codec]}`),
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=ptime:20',
    'a=sendrecv',
  ];
  const invite = (authenticated: boolean, version: number): string =>
    `  <send retrans="500">\n${cdata([
      'INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0',
      via('[branch]'),
      from,
      to,
      'Call-ID: [call_id]',
      'CSeq: [cseq] INVITE',
      contact,
      ...(authenticated && options.auth
        ? [`[authentication username=${checkToken('username', options.auth.username)} password=${checkToken('password', options.auth.password)}]`]
        : []),
      'Max-Forwards: 70',
      'User-Agent: sipgw-interop-trunk',
      'Content-Type: application/sdp',
      'Content-Length: [len]',
      '',
      ...sdp(version),
    ])}\n  </send>`;
  const provisional = ['100', '180', '183'].map((code) => `  <recv response="${code}" optional="true"/>`).join('\n');
  // A non-2xx final response: keep its Via branch (the INVITE's) for the ACK.
  const takeBranch = (variable: string): string =>
    `<action><ereg regexp="branch=([^;, ]+)" search_in="hdr" header="Via:" check_it="true" assign_to="${variable}_via,${variable}"/></action>`;
  const nonSuccessAck = (variable: string): string =>
    `  <send>\n${cdata([
      'ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0',
      via(`[$${variable}]`),
      from,
      `${to}[peer_tag_param]`,
      'Call-ID: [call_id]',
      'CSeq: [cseq] ACK',
      'Max-Forwards: 70',
      'Content-Length: 0',
    ])}\n  </send>`;
  const inDialog = (method: string, extra: readonly string[], body: readonly string[] = []): string =>
    `  <send${method === 'ACK' ? '' : ' retrans="500"'}>\n${cdata([
      `${method} [next_url] SIP/2.0`,
      via('[branch]'),
      '[routes]',
      from,
      `${to}[peer_tag_param]`,
      'Call-ID: [call_id]',
      `CSeq: [cseq] ${method}`,
      contact,
      'Max-Forwards: 70',
      ...extra,
      ...(body.length > 0 ? ['Content-Length: [len]', '', ...body] : ['Content-Length: 0']),
    ])}\n  </send>`;
  const ok = (): string =>
    `  <send>\n${cdata(['SIP/2.0 200 OK', '[last_Via:]', '[last_From:]', '[last_To:]', '[last_Call-ID:]', '[last_CSeq:]', 'Content-Length: 0'])}\n  </send>`;

  const parts: string[] = [];
  const references: string[] = [];
  parts.push(invite(false, 1), provisional);

  if (options.refusedWith !== undefined) {
    parts.push(`  <recv response="${options.refusedWith}">${takeBranch('refusal_branch')}</recv>`, nonSuccessAck('refusal_branch'));
    references.push('refusal_branch_via');
    return scenarioDocument(options, parts, references);
  }

  if (options.auth) {
    parts.push(
      `  <recv response="401" optional="true" auth="true" next="challenged">${takeBranch('challenge_branch')}</recv>`,
      `  <recv response="407" auth="true">${takeBranch('challenge_branch')}</recv>`,
      '  <label id="challenged"/>',
      nonSuccessAck('challenge_branch'),
      invite(true, 2),
      provisional,
    );
    references.push('challenge_branch_via');
    if (options.auth.expect === 'rejected') {
      parts.push(
        `  <recv response="401" optional="true" next="rejected">${takeBranch('rejection_branch')}</recv>`,
        `  <recv response="407" optional="true" next="rejected">${takeBranch('rejection_branch')}</recv>`,
        `  <recv response="403">${takeBranch('rejection_branch')}</recv>`,
        '  <label id="rejected"/>',
        nonSuccessAck('rejection_branch'),
      );
      references.push('rejection_branch_via');
      return scenarioDocument(options, parts, references);
    }
  }

  parts.push('  <recv response="200" rrs="true"/>', inDialog('ACK', []));
  if (options.audio) {
    parts.push(`  <nop><action><exec rtp_stream="${options.audio.file},-1,${PAYLOAD_TYPES[options.audio.law]}"/></action></nop>`);
  }
  for (const step of options.steps ?? []) {
    if ('pauseMs' in step) {
      parts.push(`  <pause milliseconds="${step.pauseMs}"/>`);
      continue;
    }
    [...step.digits].forEach((digit, index) => {
      if (index > 0) parts.push(`  <pause milliseconds="${step.gapMs ?? DEFAULT_GAP_MS}"/>`);
      parts.push(
        inDialog('INFO', ['Content-Type: application/dtmf-relay'], [`Signal=${digit}`, `Duration=${durationMs}`]),
        '  <recv response="100" optional="true"/>',
        '  <recv response="200"/>',
      );
    });
  }
  if (hangup === 'bye') {
    parts.push(inDialog('BYE', []), '  <recv response="100" optional="true"/>', '  <recv response="200"/>');
  } else {
    parts.push(`  <recv request="BYE" timeout="${options.awaitByeMs ?? 30_000}"/>`, ok());
  }
  return scenarioDocument(options, parts, references);
}

function scenarioDocument(options: TrunkScenarioOptions, parts: readonly string[], references: readonly string[]): string {
  const summary = JSON.stringify({ ...options, audio: options.audio ? { ...options.audio } : undefined }).replaceAll('--', '- -');
  return [
    '<?xml version="1.0" encoding="ISO-8859-1" ?>',
    '<!DOCTYPE scenario SYSTEM "sipp.dtd">',
    `<!-- Generated by test/peers/sipp-trunk.ts from ${summary} -->`,
    '<scenario name="uac-trunk">',
    ...parts,
    ...(references.length > 0 ? [`  <Reference variables="${references.join(',')}"/>`] : []),
    '</scenario>',
    '',
  ].join('\n');
}

/** Writes the scenario to `dir`/`name`.xml and returns its path (pass it as SippOptions.scenario). */
export function writeTrunkScenario(dir: string, options: TrunkScenarioOptions = {}, name = 'uac-trunk'): string {
  const path = join(dir, `${name}.xml`);
  writeFileSync(path, trunkScenarioXml(options));
  return path;
}
