// Driver for baresip 1.0 (Debian's baresip-core), the room system of the interop tests: SIP-TLS, SDES-SRTP
// or DTLS-SRTP, an ausine tone as microphone, received audio dumped to WAV, driven over ctrl_tcp. With transport
// udp and no mediaenc it is a PSTN trunk caller instead: plain RTP, G.711, DTMF as RFC 4733 events (sendDigits).
//
// Facts found on this machine (baresip 1.0.0 with libre 1.1.0):
// - `dial`/`hangup`/`accept` are commands of the menu module: without `module_app menu.so` ctrl_tcp answers
//   "command not found". stdio is not loaded (no terminal under CI).
// - Events arrive on the ctrl_tcp connection as netstrings of JSON, e.g.
//   {"event":true,"type":"CALL_CLOSED","class":"call","accountaor":"sip:a@127.0.0.1","direction":"outgoing",
//    "peeruri":"...","id":"876524882f1c9770","param":"488 Not Acceptable Here"}.
//   CALL_CLOSED's `param` is the SIP status line of a refused call ("488 Not Acceptable Here"), or a reason
//   text ("Connection reset by user" after a local hangup, or the remote BYE / a socket error otherwise).
//   CALL_MENC's param is "<stream index>,<media>,<suite>", e.g. "0,audio,AES_CM_128_HMAC_SHA1_80".
// - TLS trust: baresip 1.0 does NOT verify the server certificate of an outgoing SIP-TLS connection: a call to a
//   self-signed peer with no `sip_cafile` (and with an unrelated one) is established. The only trust key is
//   `sip_cafile` (default /etc/ssl/certs/ca-certificates.crt); there is no `sip_verify_server` in 1.0. So the
//   gateway's dev CA is accepted as is; `caFile` is passed on for completeness, not because it is checked.
// - The account's transport=tls makes baresip append ";transport=tls" to the dialled URI (harmless duplicates).
// - sndfile writes `dump-<date-time>-dec.wav` (what was received and decoded) and `-enc.wav` (what was sent) in
//   snd_path, 16-bit mono at the codec rate (8000 Hz for PCMU); the header is finalised at call end. The names
//   have one-second resolution: two calls in the same second of one instance share a file.
// - ausine produces 48 kHz stereo only, hence ausrc_srate/ausrc_channels.
// - sndfile's `-dec.wav` holds only decoded received packets, back to back: a call that receives no RTP leaves a
//   44-byte header-only file, and a pause in the incoming stream (sipp rtp_stream paused 2 s) is simply absent from
//   the file. Offsets in it are therefore "received-audio time", not time since the call started. A few packets at
//   the very start (before baresip's stream is up) are missing too. RFC 4733 events received are not in it.
//
// As a PSTN trunk caller (transport udp, no mediaenc, audio_codecs=pcmu), checked with tshark against a sipp callee:
// - The account transport comes from the AOR: `<sip:trunk@127.0.0.1;transport=udp>` dials over UDP and appends
//   ";transport=udp" to the dialled URI. The offer is `m=audio <port> RTP/AVP 0 101` with
//   `a=rtpmap:101 telephone-event/8000` and `a=fmtp:101 0-15`.
// - DTMF: menu's `sndcode <digits>` command sends RFC 4733 events, and is the only way over ctrl_tcp. It exists
//   only while a call is up ("command not found (sndcode)" otherwise). It takes 0-9 * # A-D (a-d too), and answers
//   "Invalid argument" to anything else. Per digit: one event at the telephone-event payload type of the answer,
//   marker bit on its first packet, a 20 ms update cadence, about 180-220 ms long, ending with three end-bit packets
//   (e.g. digit 1: event 1, durations 160…1440, then E=1 three times). Several digits in one sndcode are queued and
//   sent one after another; sendDigits() sends one per command instead, `gapMs` apart. Audio packets keep flowing
//   during an event (same SSRC and sequence space, interleaved), which RFC 4733 allows.
// - The `cons` module (`module cons.so` with `cons_listen 127.0.0.1:PORT`; as `module_app` it loads but warns
//   "should be type application (ui)") takes raw key presses over UDP or TCP and feeds them to the menu: a digit
//   key starts an event that lasts until the next key, and byte 0x04 (KEYCODE_REL) ends it. It works, but sndcode
//   needs no extra port, so the driver does not load cons.
// - SIP INFO DTMF: baresip 1.0 cannot send it (there is no `dtmfmode` account parameter; that came in later
//   versions). It does receive INFO `application/dtmf-relay` (`Signal=`) as a callee, answers 200, and reports
//   CALL_DTMF_START with the digit (and CALL_DTMF_END), as it does for RFC 4733 events it receives.
// - `-s` (SIP trace, option sipTrace) writes every SIP message baresip sends or receives, SDP included, to stdout (so
//   to the log) as plain text before TLS encrypts it, each after a line `TLS <from> -> <to>`: over SIP-TLS the only
//   view of the signalling, e.g. of the SDES keys exchanged. CALL_LOCAL_SDP / CALL_REMOTE_SDP events carry only
//   "offer"/"answer", not the SDP.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnLogged, waitForListening, type LoggedProcess } from './process.js';

export type BaresipEventType =
  | 'CALL_INCOMING'
  | 'CALL_RINGING'
  | 'CALL_PROGRESS'
  | 'CALL_LOCAL_SDP'
  | 'CALL_REMOTE_SDP'
  | 'CALL_MENC'
  | 'CALL_ESTABLISHED'
  | 'CALL_RTPESTAB'
  | 'CALL_RTCP'
  | 'CALL_DTMF_START'
  | 'CALL_DTMF_END'
  | 'CALL_CLOSED';

export interface BaresipEvent {
  readonly type: BaresipEventType | string;
  readonly class?: string;
  readonly accountaor?: string;
  readonly direction?: 'incoming' | 'outgoing';
  readonly peeruri?: string;
  /** The call's id (a random token, not the SIP Call-ID). */
  readonly id?: string;
  /** Event detail; for CALL_CLOSED the close reason or SIP status line, e.g. "488 Not Acceptable Here". */
  readonly param?: string;
  readonly [key: string]: unknown;
}

export interface BaresipOptions {
  /** The account's user part: the AOR is sip:<name>@127.0.0.1. */
  readonly name: string;
  /** UDP/TCP listen port; baresip listens for TLS on sipPort + 1. */
  readonly sipPort: number;
  /**
   * The account's SIP transport (default `tls`): `udp` (or `tcp`) with no `mediaenc` makes baresip a PSTN trunk
   * caller (plain RTP).
   */
  readonly transport?: 'tls' | 'udp' | 'tcp';
  readonly ctrlPort: number;
  readonly rtpPorts: readonly [number, number];
  /** `srtp-mand`: SDES required; `srtp`: SDES offered, plain accepted; `dtls_srtp`; undefined: plain RTP. */
  readonly mediaenc?: 'srtp-mand' | 'srtp' | 'dtls_srtp';
  /** The account's audio_codecs, e.g. "pcmu" or "pcmu,pcma" (default "pcmu"). */
  readonly audioCodecs?: string;
  /** Frequency of the ausine source (default 440). */
  readonly toneHz?: number;
  /**
   * Adds H.264 video (Debian's baresip-ffmpeg: avcodec with libx264): a synthetic fakevideo picture as camera,
   * and received video decoded into fakevideo's display, whose frame count `video_debug` reports.
   */
  readonly video?: boolean;
  /** `auto` answers incoming calls at once (default `manual`: incoming calls wait for accept()). */
  readonly answerMode?: 'manual' | 'auto';
  /** Key and certificate in one PEM file: baresip's TLS server identity. Required for transport tls. */
  readonly certificate?: string;
  /** sip_cafile; see the note on TLS trust above. */
  readonly caFile?: string;
  /** Where config, accounts, log and WAV dumps go; a fresh temp directory (removed by stop()) when omitted. */
  readonly dir?: string;
  /** `-s`: every SIP message sent and received, SDP included, goes to the log in clear (see the notes above). */
  readonly sipTrace?: boolean;
}

export interface Baresip {
  readonly dir: string;
  readonly logPath: string;
  readonly process: LoggedProcess;
  /** Every event received so far, in order. */
  readonly events: readonly BaresipEvent[];
  /** The AOR's TLS contact: sip:<name>@127.0.0.1:<sipPort+1>;transport=tls. */
  readonly tlsUri: string;
  /** The AOR's contact on the account's transport: tlsUri for tls, else sip:<name>@127.0.0.1:<sipPort>;transport=…. */
  readonly uri: string;
  /** Sends a ctrl_tcp command; resolves with its response data, rejects if baresip reports failure. */
  command(command: string, params?: string): Promise<string>;
  dial(uri: string): Promise<void>;
  hangup(): Promise<void>;
  /** Answers the waiting incoming call (answerMode manual). */
  accept(): Promise<void>;
  /**
   * Types `digits` (0-9 * # A-D) in the established call as RFC 4733 telephone-events, one menu `sndcode` per digit,
   * `gapMs` (default 250) from one digit's start to the next; resolves `gapMs` after the last one, when its event
   * (about 200 ms plus end packets) is over if gapMs ≥ 250. Rejects when there is no call (see the notes above).
   */
  sendDigits(digits: string, gapMs?: number): Promise<void>;
  /**
   * The next event of `type` not returned by an earlier waitForEvent of that type (so a second call waits for
   * the second such event), optionally also matching `predicate`.
   */
  waitForEvent(type: BaresipEventType | string, timeoutMs: number, predicate?: (event: BaresipEvent) => boolean): Promise<BaresipEvent>;
  /** Paths of the `dump-*-dec.wav` files (received audio), oldest first. */
  decodedWavFiles(): string[];
  /** Kills baresip; removes its temp directory unless `keepLogs` (then prints where the logs are). */
  stop(options?: { keepLogs?: boolean }): Promise<void>;
}

function configText(options: BaresipOptions, dir: string): string {
  const lines = [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${options.sipPort}`,
    ...(options.certificate ? [`sip_certificate ${options.certificate}`] : []),
    ...(options.caFile ? [`sip_cafile ${options.caFile}`] : []),
    'net_interface 127.0.0.1',
    `audio_source ausine,${options.toneHz ?? 440}`,
    'ausrc_srate 48000',
    'ausrc_channels 2',
    'audio_player aubridge,sink',
    `rtp_ports ${options.rtpPorts[0]}-${options.rtpPorts[1]}`,
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module ausine.so',
    'module aufile.so',
    'module aubridge.so',
    'module sndfile.so',
    'module srtp.so',
    'module dtls_srtp.so',
    ...(options.video
      ? ['module avcodec.so', 'module fakevideo.so', 'video_source fakevideo,nil', 'video_display fakevideo,nil', 'video_size 320x240', 'video_fps 15', 'video_bitrate 300000']
      : []),
    'module_tmp account.so',
    'module_app ctrl_tcp.so',
    'module_app menu.so',
    `ctrl_tcp_listen 127.0.0.1:${options.ctrlPort}`,
    `snd_path ${dir}`,
  ];
  return `${lines.join('\n')}\n`;
}

function accountText(options: BaresipOptions): string {
  const params = [
    'regint=0',
    ...(options.mediaenc ? [`mediaenc=${options.mediaenc}`] : []),
    `audio_codecs=${options.audioCodecs ?? 'pcmu'}`,
    ...(options.video ? ['video_codecs=h264'] : []),
    `answermode=${options.answerMode ?? 'manual'}`,
  ];
  return `<sip:${options.name}@127.0.0.1;transport=${options.transport ?? 'tls'}>;${params.join(';')}\n`;
}

/** Splits complete netstrings (`LEN:payload,`) off the front of `buffer`. */
export function takeNetstrings(buffer: Buffer): { messages: string[]; rest: Buffer } {
  const messages: string[] = [];
  let rest = buffer;
  while (true) {
    const colon = rest.indexOf(0x3a);
    if (colon < 0) break;
    const length = Number(rest.subarray(0, colon).toString('ascii'));
    if (!Number.isInteger(length) || length < 0) throw new Error(`bad netstring length from baresip: ${rest.toString()}`);
    if (rest.length < colon + 1 + length + 1) break;
    if (rest[colon + 1 + length] !== 0x2c) throw new Error(`netstring from baresip lacks its trailing comma: ${rest.toString()}`);
    messages.push(rest.subarray(colon + 1, colon + 1 + length).toString('utf8'));
    rest = rest.subarray(colon + 1 + length + 1);
  }
  return { messages, rest };
}

async function connectCtrl(port: number, child: LoggedProcess, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const socket = await new Promise<Socket | undefined>((resolve) => {
      const attempt = connect({ host: '127.0.0.1', port });
      attempt.once('connect', () => resolve(attempt));
      attempt.once('error', () => {
        attempt.destroy();
        resolve(undefined);
      });
    });
    if (socket) return socket;
    if (child.hasExited()) throw new Error(`baresip exited during start (see ${child.logPath})`);
    if (Date.now() >= deadline) throw new Error(`baresip ctrl_tcp 127.0.0.1:${port} not up within ${timeoutMs} ms (see ${child.logPath})`);
    await sleep(50);
  }
}

interface Waiter {
  readonly type: string;
  readonly predicate: ((event: BaresipEvent) => boolean) | undefined;
  readonly resolve: (event: BaresipEvent) => void;
}

/** Characters sndcode accepts (checked against baresip 1.0; it answers "Invalid argument" to others). */
const DTMF_KEYS = /^[0-9*#A-Da-d]+$/;

export async function startBaresip(options: BaresipOptions): Promise<Baresip> {
  const transport = options.transport ?? 'tls';
  if (transport === 'tls' && !options.certificate) throw new Error('baresip over TLS needs a certificate');
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `sipgw-baresip-${options.name}-`));
  writeFileSync(join(dir, 'config'), configText(options, dir));
  writeFileSync(join(dir, 'accounts'), accountText(options));
  const child = spawnLogged('baresip', ['-f', dir, ...(options.sipTrace ? ['-s'] : [])], join(dir, 'baresip.log'), { cwd: dir });

  const events: BaresipEvent[] = [];
  const consumed = new Set<BaresipEvent>();
  const waiters = new Set<Waiter>();
  const pending = new Map<string, { resolve: (data: string) => void; reject: (error: Error) => void }>();
  let nextToken = 1;
  let socket: Socket | undefined;

  const matches = (waiter: Omit<Waiter, 'resolve'>, event: BaresipEvent): boolean =>
    event.type === waiter.type && !consumed.has(event) && (waiter.predicate?.(event) ?? true);

  const onMessage = (text: string): void => {
    const message = JSON.parse(text) as Record<string, unknown>;
    if (message.event === true) {
      const event = message as BaresipEvent;
      events.push(event);
      for (const waiter of waiters) {
        if (matches(waiter, event)) {
          consumed.add(event);
          waiters.delete(waiter);
          waiter.resolve(event);
          break;
        }
      }
    } else if (message.response === true && typeof message.token === 'string') {
      const request = pending.get(message.token);
      pending.delete(message.token);
      const data = typeof message.data === 'string' ? message.data : '';
      if (message.ok === true) request?.resolve(data);
      else request?.reject(new Error(`baresip refused the command: ${data.trim()}`));
    }
  };

  const stop = async ({ keepLogs = false } = {}): Promise<void> => {
    socket?.destroy();
    await child.stop();
    for (const request of pending.values()) request.reject(new Error('baresip stopped'));
    pending.clear();
    if (keepLogs) console.warn(`baresip ${options.name} logs kept in ${dir}`);
    else if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  try {
    const ctrl = await connectCtrl(options.ctrlPort, child, 10_000);
    socket = ctrl;
    let buffered: Buffer = Buffer.alloc(0);
    ctrl.on('data', (chunk: Buffer) => {
      const { messages, rest } = takeNetstrings(Buffer.concat([buffered, chunk]));
      buffered = rest;
      messages.forEach(onMessage);
    });
    ctrl.on('error', () => ctrl.destroy());
    // With a certificate baresip also listens for TLS on sipPort + 1, the last socket it opens.
    await waitForListening(options.certificate ? 'tcp' : transport === 'udp' ? 'udp' : 'tcp', options.certificate ? options.sipPort + 1 : options.sipPort, {
      timeoutMs: 5000,
      abort: () => (child.hasExited() ? `baresip exited (see ${child.logPath})` : undefined),
    });
  } catch (error) {
    await stop({ keepLogs: true });
    throw error;
  }

  const command = (name: string, params = ''): Promise<string> => {
    const token = `t${nextToken++}`;
    const body = JSON.stringify({ command: name, params, token });
    return new Promise((resolve, reject) => {
      if (!socket || socket.destroyed) {
        reject(new Error('baresip ctrl_tcp connection is closed'));
        return;
      }
      pending.set(token, { resolve, reject });
      socket.write(`${Buffer.byteLength(body)}:${body},`);
    });
  };

  return {
    dir,
    logPath: child.logPath,
    process: child,
    events,
    tlsUri: `sip:${options.name}@127.0.0.1:${options.sipPort + 1};transport=tls`,
    uri: `sip:${options.name}@127.0.0.1:${transport === 'tls' ? options.sipPort + 1 : options.sipPort};transport=${transport}`,
    command,
    async dial(uri) {
      await command('dial', uri);
    },
    async hangup() {
      await command('hangup');
    },
    async accept() {
      await command('accept');
    },
    async sendDigits(digits, gapMs = 250) {
      if (!DTMF_KEYS.test(digits)) throw new Error(`not DTMF digits: ${JSON.stringify(digits)}`);
      for (const digit of digits) {
        await command('sndcode', digit);
        await sleep(gapMs);
      }
    },
    waitForEvent(type, timeoutMs, predicate) {
      const earlier = events.find((event) => matches({ type, predicate }, event));
      if (earlier) {
        consumed.add(earlier);
        return Promise.resolve(earlier);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = events.map((event) => `${event.type}(${event.param ?? ''})`).join(', ');
          reject(new Error(`baresip ${options.name}: no ${type} within ${timeoutMs} ms; events so far: ${seen || 'none'}`));
        }, timeoutMs);
        const waiter: Waiter = {
          type,
          predicate,
          resolve: (event) => {
            clearTimeout(timer);
            resolve(event);
          },
        };
        waiters.add(waiter);
      });
    },
    decodedWavFiles() {
      return readdirSync(dir)
        .filter((file) => file.startsWith('dump-') && file.endsWith('-dec.wav'))
        .sort()
        .map((file) => join(dir, file));
    },
    stop,
  };
}
