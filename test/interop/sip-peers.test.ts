// The gateway process against real SIP and TLS peers: sipp (UDP, TCP, and TCP through a socat TLS hop, since
// Debian's sipp has no TLS), sslscan, and a node dgram socket throwing malformed datagrams at it.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../peers/availability.js';
import { findFreePortBlock, waitFor } from '../peers/process.js';
import { parseSippStats, removeSippDirs, runSipp, type SippOptions, type SippResult } from '../peers/sipp.js';
import { runSslscan } from '../peers/sslscan.js';
import { startSocatTlsHop, type TlsHop } from '../peers/tls-hop.js';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.js';
import { seededRandom } from '../support/seeded-random.js';

const peer = requirePeer('sipp', 'socat', 'sslscan');

/** The only source the gateway trusts as a trunk; sipp on 127.0.0.1 is an ordinary, untrusted host. */
const TRUNK_SOURCE = '127.0.0.2';
const UNTRUSTED_SOURCE = '127.0.0.1';

type RunOptions = Omit<SippOptions, 'localPort' | 'controlPort' | 'mediaPort' | 'timeoutS'> & { timeoutS?: number };

/** SIP messages sipp received, from its `-trace_msg` file (each one's text after sipp's "received" banner). */
function receivedMessages(result: SippResult): string[] {
  const log = readFileSync(join(result.dir, 'messages.log'), 'utf8');
  return log
    .split(/^-{10,}.*$/m)
    .filter((block) => /message received \[\d+\] bytes/.test(block))
    .map((block) => block.replace(/^[\s\S]*?message received \[\d+\] bytes :\s*/, '').replace(/\r/g, ''));
}

/** The value of header `name` in a SIP message's text (first occurrence; undefined when absent). */
function header(message: string, name: string): string | undefined {
  const head = message.split('\n\n')[0] ?? '';
  const line = head.split('\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}


/** 1 000 datagrams that are not valid SIP, in seven kinds, deterministic for a given seed. */
function malformedDatagrams(count: number, target: string, seed: number): Buffer[] {
  const random = seededRandom(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const valid = (i: number, extra = '', callId = true): string =>
    [
      `INVITE sip:echo@${target} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-fuzz-${i};rport`,
      `From: <sip:fuzz@127.0.0.1>;tag=f${i}`,
      `To: <sip:echo@${target}>`,
      ...(callId ? [`Call-ID: fuzz-${i}@127.0.0.1`] : []),
      'CSeq: 1 INVITE',
      'Max-Forwards: 70',
      extra,
      'Content-Type: application/sdp',
      'Content-Length: 0',
      '',
      '',
    ]
      .filter((line, index, lines) => line !== '' || index >= lines.length - 2)
      .join('\r\n');
  const badRequestLines = [
    'INVITE sip:echo@host SIP/3.0',
    'INVITE SIP/2.0',
    'INV ITE sip:echo@host SIP/2.0',
    ' INVITE sip:echo@host SIP/2.0',
    'INVITE sip:echo@host',
    'INVITE <sip:echo@host> SIP/2.0',
    'SIP/2.0 abc OK',
    'GET / HTTP/1.1',
    '\u00ff\u00fe INVITE sip:echo@host SIP/2.0',
    'INVITE sip:echo@[::1 SIP/2.0',
  ];
  const datagrams: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const message = valid(i);
    switch (i % 7) {
      case 0: {
        // Random bytes; the first byte is kept out of CR/LF so that no datagram is a bare keep-alive.
        const bytes = Buffer.alloc(1 + int(1400));
        for (let b = 0; b < bytes.length; b++) bytes[b] = int(256);
        if (bytes[0] === 0x0d || bytes[0] === 0x0a) bytes[0] = 0x21;
        datagrams.push(bytes);
        break;
      }
      case 1: // An INVITE cut off before the end of its header block.
        datagrams.push(Buffer.from(message.slice(0, 1 + int(message.indexOf('\r\n\r\n') - 1))));
        break;
      case 2: {
        const lines = message.split('\r\n');
        lines[0] = badRequestLines[int(badRequestLines.length)]!;
        datagrams.push(Buffer.from(lines.join('\r\n'), 'latin1'));
        break;
      }
      case 3: // One header line of 8–60 KB, and a header name that is no token.
        datagrams.push(Buffer.from(valid(i, `X-Huge: ${'A'.repeat(8000 + int(52000))}\r\nBad Header Name: x`)));
        break;
      case 4: {
        // Content-Length that is not a number, negative, or longer than the datagram.
        const lengths = ['abc', '-1', '99999', '12 34', '0x10', ''];
        datagrams.push(Buffer.from(message.replace('Content-Length: 0', `Content-Length: ${lengths[int(lengths.length)]}`)));
        break;
      }
      case 5: {
        // NUL bytes in the request line or a header.
        const bytes = Buffer.from(message);
        const end = message.indexOf('\r\n\r\n');
        for (let n = 0; n < 1 + int(4); n++) bytes[int(end)] = 0;
        bytes[int(message.indexOf('\r\n'))] = 0;
        datagrams.push(bytes);
        break;
      }
      default: // A valid-looking request without Call-ID.
        datagrams.push(Buffer.from(valid(i, '', false)));
    }
  }
  return datagrams;
}

describe.skipIf(peer.skip)('the gateway against sipp, a socat TLS hop and sslscan', () => {
  let gateway: GatewayProcess;
  let hop: TlsHop;
  let hopPort: number;
  let sippResults: SippResult[] = [];

  beforeAll(async () => {
    gateway = await startGatewayProcess({ config: { trunks: [{ name: 'carrier', sources: [`${TRUNK_SOURCE}/32`] }] } });
    hopPort = findFreePortBlock(1);
    // The hop verifies the gateway's certificate against its dev CA, as a room system told to trust it would.
    hop = await startSocatTlsHop({ listenTcpPort: hopPort, targetTlsPort: gateway.ports.sip.tls, caFile: gateway.caFile });
  });

  afterEach((context) => {
    const failed = context.task.result?.state === 'fail';
    removeSippDirs(sippResults, { keepLogs: failed });
    sippResults = [];
  });

  afterAll(async () => {
    await hop?.stop();
    await gateway?.stop();
  });

  /** Runs one sipp to completion on ports of its own (SIP, control, media and media+2). */
  async function sipp(options: RunOptions): Promise<SippResult> {
    const base = findFreePortBlock(6);
    const result = await runSipp({ timeoutS: 20, localPort: base, controlPort: base + 1, mediaPort: base + 2, ...options });
    sippResults.push(result);
    return result;
  }

  const calls = (labels: Record<string, string>): Promise<number> => gateway.metric('sipgw_calls_total', labels);
  const viaTlsHop = (): Pick<SippOptions, 'target' | 'transport'> => ({ target: `127.0.0.1:${hopPort}`, transport: 't1' });

  async function legsBackToZero(): Promise<void> {
    await waitFor(async () => ((await gateway.metric('sipgw_legs_active')) === 0 ? true : undefined), {
      timeoutMs: 5000,
      what: 'sipgw_legs_active to return to 0',
    });
  }

  describe('who may call over UDP and TCP', () => {
    it('answers INVITEs over UDP and TCP from a host that is not a trusted trunk with 403, and counts each once', async () => {
      const forbiddenBefore = await calls({ origin: 'sip', outcome: 'forbidden' });
      const answeredBefore = await calls({ outcome: 'answered' });

      const udp = await sipp({
        scenario: 'uac-invite-expect',
        target: `127.0.0.1:${gateway.ports.sip.udp}`,
        transport: 'u1',
        sourceAddress: UNTRUSTED_SOURCE,
        service: 'echo',
        calls: 20,
        rate: 50,
        vars: { expected_status: '403' },
      });
      expect(udp, udp.stdout).toMatchObject({ exitCode: 0, successful: 20, failed: 0 });
      expect(await calls({ origin: 'sip', outcome: 'forbidden' })).toBe(forbiddenBefore + 20);

      const tcp = await sipp({
        scenario: 'uac-invite-expect',
        target: `127.0.0.1:${gateway.ports.sip.tcp}`,
        transport: 't1',
        sourceAddress: UNTRUSTED_SOURCE,
        service: 'echo',
        calls: 5,
        rate: 50,
        vars: { expected_status: '403' },
      });
      expect(tcp, tcp.stdout).toMatchObject({ exitCode: 0, successful: 5, failed: 0 });
      expect(await calls({ origin: 'sip', outcome: 'forbidden' })).toBe(forbiddenBefore + 25);
      expect(await calls({ outcome: 'answered' })).toBe(answeredBefore);
    });

    it('lets the same INVITE from the trunk source past the trust check (404 for an unknown user, not 403)', async () => {
      const forbiddenBefore = await calls({ outcome: 'forbidden' });
      const notFoundBefore = await calls({ origin: 'pstn', outcome: 'not_found' });
      const result = await sipp({
        scenario: 'uac-invite-expect',
        target: `127.0.0.1:${gateway.ports.sip.udp}`,
        transport: 'u1',
        sourceAddress: TRUNK_SOURCE,
        service: 'nobody',
        calls: 1,
        vars: { expected_status: '404' },
      });
      expect(result, result.stdout).toMatchObject({ exitCode: 0, successful: 1, failed: 0 });
      expect(await calls({ outcome: 'forbidden' })).toBe(forbiddenBefore);
      expect(await calls({ origin: 'pstn', outcome: 'not_found' })).toBe(notFoundBefore + 1);
    });
  });

  describe('calls through the TLS hop', () => {
    it('completes 200 SDES-SRTP calls (INVITE/200/ACK/BYE) with no failures, and every leg ends', async () => {
      const answeredBefore = await calls({ origin: 'sip', outcome: 'answered' });
      const result = await sipp({ scenario: 'uac-sdes', ...viaTlsHop(), service: 'echo', calls: 200, rate: 100, pauseMs: 100, timeoutS: 40 });
      expect(result, result.stdout).toMatchObject({ exitCode: 0, successful: 200, failed: 0 });
      expect(await calls({ origin: 'sip', outcome: 'answered' })).toBe(answeredBefore + 200);
      await legsBackToZero();
    });

    it('retransmits its 2xx over TLS until the ACK comes (RFC 3261 §13.3.1.4), and the call then completes', async () => {
      const answeredBefore = await calls({ origin: 'sip', outcome: 'answered' });
      // Withholds the ACK until a second copy of the 200 has arrived (and fails the call if none does).
      const result = await sipp({ scenario: 'uac-sdes-noack-stream', ...viaTlsHop(), service: 'echo', calls: 1, pauseMs: 100 });
      expect(result, result.stdout).toMatchObject({ exitCode: 0, successful: 1, failed: 0 });
      const oks = result.messageCounts.filter((count) => count.label === '200' && count.direction === 'recv');
      expect(oks.map((count) => count.messages), 'the 200, its retransmission, the 200 to the BYE').toEqual([1, 1, 1]);
      expect(await calls({ origin: 'sip', outcome: 'answered' })).toBe(answeredBefore + 1);
      await legsBackToZero();
    });

    it('answers OPTIONS with 200 naming its methods (Allow), bodies (Accept) and extensions (Supported)', async () => {
      const result = await sipp({ scenario: 'uac-options-capabilities', ...viaTlsHop(), service: 'echo', calls: 1 });
      expect(result, result.stdout).toMatchObject({ exitCode: 0, successful: 1, failed: 0 });
      const ok = receivedMessages(result).find((m) => m.startsWith('SIP/2.0 200'));
      expect(ok, 'the 200 in sipp\'s message trace').toBeDefined();
      expect(header(ok!, 'Allow')?.split(/\s*,\s*/)).toEqual(expect.arrayContaining(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS']));
      expect(header(ok!, 'Accept')?.split(/\s*,\s*/)).toContain('application/sdp');
      expect(header(ok!, 'Supported')).toBe('timer');
    });

    it('refuses a plain RTP/AVP offer with 488 and Warning: 399 <host> "SRTP required"', async () => {
      const refusedBefore = await calls({ origin: 'sip', outcome: 'rejected_no_srtp' });
      const result = await sipp({ scenario: 'uac-invite-plain-rtp', ...viaTlsHop(), service: 'echo', calls: 1 });
      expect(result, result.stdout).toMatchObject({ exitCode: 0, successful: 1, failed: 0 });
      const refusal = receivedMessages(result).find((m) => m.startsWith('SIP/2.0 488'));
      expect(refusal, 'the 488 in sipp\'s message trace').toBeDefined();
      expect(header(refusal!, 'Warning')).toBe('399 127.0.0.1 "SRTP required"');
      expect(await calls({ origin: 'sip', outcome: 'rejected_no_srtp' })).toBe(refusedBefore + 1);
      expect(await gateway.metric('sipgw_legs_active')).toBe(0);
    });
  });

  it('retransmits its 2xx over UDP to a trunk that withholds the ACK, and the call then completes', async () => {
    const answeredBefore = await calls({ origin: 'pstn', outcome: 'answered' });
    const result = await sipp({
      scenario: 'uac-sdes-noack',
      target: `127.0.0.1:${gateway.ports.sip.udp}`,
      transport: 'u1',
      sourceAddress: TRUNK_SOURCE,
      service: 'echo',
      calls: 1,
      pauseMs: 100,
    });
    expect(result, result.stdout).toMatchObject({ exitCode: 0, successful: 1, failed: 0 });
    const firstOk = result.messageCounts.find((count) => count.label === '200' && count.direction === 'recv');
    expect(firstOk?.retrans, 'retransmissions of the 200 that reached sipp before its ACK').toBeGreaterThanOrEqual(1);
    expect(await calls({ origin: 'pstn', outcome: 'answered' })).toBe(answeredBefore + 1);
    await legsBackToZero();
  });

  it('counts 1 000 malformed datagrams as parse errors, answers none of them with a 5xx other than 505, and still answers OPTIONS', async () => {
    const udpParseErrors = (): Promise<number> => gateway.metric('sipgw_sip_parse_errors_total', { transport: 'udp' });
    const udpIn = { transport: 'udp', direction: 'in' };
    const udpMessagesIn = async (): Promise<number> =>
      (await gateway.metric('sipgw_sip_requests_total', udpIn)) + (await gateway.metric('sipgw_sip_responses_total', udpIn));
    const parseErrorsBefore = await udpParseErrors();
    const messagesInBefore = await udpMessagesIn();
    const answeredBefore = await calls({ outcome: 'answered' });
    const target = `127.0.0.1:${gateway.ports.sip.udp}`;
    const datagrams = malformedDatagrams(1000, target, 20240607);

    const socket = createSocket('udp4');
    const responses: string[] = [];
    socket.on('message', (msg) => responses.push(msg.toString('latin1').split('\r\n')[0] ?? ''));
    await new Promise<void>((resolve) => socket.bind(0, UNTRUSTED_SOURCE, resolve));
    // At most 64 KB in flight: a datagram the kernel drops for a full socket buffer never reaches the gateway, so
    // the sender waits until the gateway has counted each batch before it sends the next.
    let sent = 0;
    const allCounted = (): Promise<number> =>
      waitFor(async () => ((await udpParseErrors()) >= parseErrorsBefore + sent ? sent : undefined), {
        timeoutMs: 5000,
        intervalMs: 5,
        what: `the gateway to count ${sent} malformed datagrams as parse errors`,
      });
    try {
      let inFlight = 0;
      for (const datagram of datagrams) {
        if (inFlight > 0 && inFlight + datagram.length > 64 * 1024) {
          await allCounted();
          inFlight = 0;
        }
        await new Promise<void>((resolve, reject) =>
          socket.send(datagram, gateway.ports.sip.udp, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
        );
        sent++;
        inFlight += datagram.length;
      }
      await allCounted();
    } finally {
      socket.close();
    }

    const options = await sipp({ scenario: 'uac-options', target, transport: 'u1', sourceAddress: UNTRUSTED_SOURCE, service: 'echo', calls: 1 });
    expect(options, options.stdout).toMatchObject({ exitCode: 0, successful: 1, failed: 0 });

    expect((await udpParseErrors()) - parseErrorsBefore, 'each malformed datagram counted once').toBe(1000);
    // None was taken for a SIP message (the OPTIONS is the only one), none set up a call, and what was answered
    // got a 4xx or 505 (never a 500: an internal error).
    expect((await udpMessagesIn()) - messagesInBefore).toBe(1);
    expect(await calls({ outcome: 'answered' })).toBe(answeredBefore);
    expect(responses.length).toBeGreaterThan(0);
    expect(responses.filter((line) => !/^SIP\/2\.0 (4\d\d|505) /.test(line))).toEqual([]);
  });

  it('sslscan finds only TLS 1.2 and 1.3 with ECDHE and AEAD ciphers, and its old-version probes count as failed handshakes', async () => {
    const failedBefore = await gateway.metric('sipgw_tls_handshakes_total', { result: 'failed' });
    const report = await runSslscan(`127.0.0.1:${gateway.ports.sip.tls}`);
    // Debian's sslscan (OpenSSL 3) cannot offer SSLv2/SSLv3, so `false` there is "not accepted as far as it can tell".
    expect(report.protocols).toEqual({
      SSLv2: false,
      SSLv3: false,
      'TLSv1.0': false,
      'TLSv1.1': false,
      'TLSv1.2': true,
      'TLSv1.3': true,
    });
    expect(report.ciphers.length).toBeGreaterThan(0);
    const weak = report.ciphers.filter(
      (c) =>
        !(c.protocol === 'TLSv1.3' && /^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/.test(c.name)) &&
        !(c.protocol === 'TLSv1.2' && /^ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/.test(c.name)),
    );
    expect(weak, 'accepted ciphers that are not ECDHE/TLS 1.3 with AEAD').toEqual([]);
    expect(report.ciphers.map((c) => c.protocol)).toEqual(expect.arrayContaining(['TLSv1.2', 'TLSv1.3']));
    expect(await gateway.metric('sipgw_tls_handshakes_total', { result: 'failed' })).toBeGreaterThan(failedBefore);
  });

  describe('with a 2 s media timeout (a second gateway)', () => {
    let quiet: GatewayProcess;
    let quietHop: TlsHop;
    let quietHopPort: number;

    beforeAll(async () => {
      quiet = await startGatewayProcess({ env: { SIPGW_MEDIA_TIMEOUT_S: '2' } });
      quietHopPort = findFreePortBlock(1);
      quietHop = await startSocatTlsHop({ listenTcpPort: quietHopPort, targetTlsPort: quiet.ports.sip.tls, caFile: quiet.caFile });
    });

    afterAll(async () => {
      await quietHop?.stop();
      await quiet?.stop();
    });

    it('ends a call that sends no RTP with a BYE to the caller, and counts a media timeout', async () => {
      const result = await sipp({
        scenario: 'uac-sdes-await-bye',
        target: `127.0.0.1:${quietHopPort}`,
        transport: 't1',
        service: 'echo',
        calls: 1,
      });
      expect(result, result.stdout).toMatchObject({ exitCode: 0, successful: 1, failed: 0 });
      expect(result.messageCounts.find((count) => count.label === 'BYE' && count.direction === 'recv')?.messages).toBe(1);
      expect(parseSippStats(result.statsCsv ?? '')['FailedCall(C)']).toBe('0');
      expect(await quiet.metric('sipgw_calls_total', { origin: 'sip', outcome: 'answered' })).toBe(1);
      expect(await quiet.metric('sipgw_media_timeouts_total', { origin: 'sip' })).toBe(1);
      expect(await quiet.metric('sipgw_legs_active')).toBe(0);
    });
  });
});
