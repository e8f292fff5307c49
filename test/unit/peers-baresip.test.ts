import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { requirePeer } from '../peers/availability.js';
import { startBaresip, takeNetstrings, type Baresip, type BaresipOptions } from '../peers/baresip.js';
import { makeSelfSignedCertificate } from '../peers/openssl-cert.js';
import { findFreePortBlock, spawnLogged, waitFor, type LoggedProcess } from '../peers/process.js';
import { removeSippDir, startSipp, type SippProcess } from '../peers/sipp.js';
import { dominantToneCheck, readWav } from '../peers/wav.js';

describe('baresip ctrl_tcp framing', () => {
  it('splits netstrings and keeps a partial one for later', () => {
    const { messages, rest } = takeNetstrings(Buffer.from('2:{},10:{"a":"bc"},5:{"b"'));
    expect(messages).toEqual(['{}', '{"a":"bc"}']);
    expect(rest.toString()).toBe('5:{"b"');
  });
});

const peers = requirePeer('baresip', 'openssl');

describe.skipIf(peers.skip)('baresip calls baresip over SIP-TLS', () => {
  const started: Baresip[] = [];
  let certDir: string | undefined;

  afterEach(async (context) => {
    const keepLogs = context.task.result?.state === 'fail';
    await Promise.all(started.splice(0).map((instance) => instance.stop({ keepLogs })));
    if (certDir) rmSync(certDir, { recursive: true, force: true });
    certDir = undefined;
  });

  async function pair(a: Partial<BaresipOptions>, b: Partial<BaresipOptions>): Promise<[Baresip, Baresip]> {
    certDir = mkdtempSync(join(tmpdir(), 'sipgw-peers-certs-'));
    const base = findFreePortBlock(50);
    const instance = async (index: number, overrides: Partial<BaresipOptions>, name: string): Promise<Baresip> => {
      const offset = base + index * 25;
      const baresip = await startBaresip({
        name,
        sipPort: offset,
        ctrlPort: offset + 2,
        rtpPorts: [offset + 4, offset + 24],
        certificate: makeSelfSignedCertificate(certDir!, name).combinedPath,
        ...overrides,
      });
      started.push(baresip);
      return baresip;
    };
    return [await instance(0, a, 'alice'), await instance(1, b, 'bob')];
  }

  it('establishes an SDES-SRTP call and carries the 440 Hz tone', async () => {
    const [alice, bob] = await pair({ mediaenc: 'srtp-mand', toneHz: 440 }, { mediaenc: 'srtp-mand', answerMode: 'auto', toneHz: 440 });
    await alice.dial(bob.tlsUri);
    const established = await alice.waitForEvent('CALL_ESTABLISHED', 10_000);
    expect(established.direction).toBe('outgoing');
    expect((await alice.waitForEvent('CALL_MENC', 1000)).param).toBe('0,audio,AES_CM_128_HMAC_SHA1_80');
    await bob.waitForEvent('CALL_ESTABLISHED', 5000);
    await sleep(3500);
    await alice.hangup();
    expect((await alice.waitForEvent('CALL_CLOSED', 5000)).param).toBe('Connection reset by user');
    await bob.waitForEvent('CALL_CLOSED', 5000);

    for (const side of [alice, bob]) {
      const [wavPath] = side.decodedWavFiles();
      expect(wavPath).toBeDefined();
      const wav = readWav(wavPath!);
      expect(wav.sampleRate).toBe(8000);
      expect(dominantToneCheck(wav.samples, wav.sampleRate, 440).longestRunSeconds).toBeGreaterThanOrEqual(2);
    }
  });

  it('reports the SIP status of a refused call: 488 when SRTP is mandatory and the callee has none', async () => {
    const [alice, bob] = await pair({ mediaenc: 'srtp-mand' }, { answerMode: 'auto' });
    await alice.dial(bob.tlsUri);
    expect((await alice.waitForEvent('CALL_CLOSED', 10_000)).param).toBe('488 Not Acceptable Here');
    expect(alice.events.some((event) => event.type === 'CALL_ESTABLISHED')).toBe(false);
  });
});

/** Starts tshark writing loopback packets that match `filter` to `path`; resolves once it is capturing. */
async function startCapture(path: string, filter: string): Promise<LoggedProcess> {
  const capture = spawnLogged('tshark', ['-i', 'lo', '-f', filter, '-w', path], `${path}.log`, { capture: true });
  await waitFor(() => (capture.output.stderr.includes('Capturing on') ? true : undefined), {
    timeoutMs: 10_000,
    what: 'tshark to start capturing',
    abort: () => (capture.hasExited() ? `tshark exited: ${capture.output.stderr.trim()}` : undefined),
  });
  return capture;
}

interface RtpPacket {
  readonly payloadType: number;
  readonly marker: boolean;
  readonly timestamp: number;
  readonly payload: Buffer;
}

/** RTP packets sent to UDP `port` in a capture, decoded by tshark. */
function rtpSentTo(path: string, port: number): RtpPacket[] {
  const text = execFileSync(
    'tshark',
    ['-r', path, '-d', `udp.port==${port},rtp`, '-Y', `rtp && udp.dstport==${port}`, '-T', 'fields', '-e', 'rtp.p_type', '-e', 'rtp.marker', '-e', 'rtp.timestamp', '-e', 'rtp.payload'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [payloadType, marker, timestamp, payload] = line.split('\t');
      return {
        payloadType: Number(payloadType),
        marker: marker === '1' || marker === 'True',
        timestamp: Number(timestamp),
        payload: Buffer.from((payload ?? '').replaceAll(':', ''), 'hex'),
      };
    });
}

/** The telephone-event payload type of each SDP in a capture, SIP on UDP `sipPort`. */
function telephoneEventTypes(path: string, sipPort: number): number[] {
  const text = execFileSync('tshark', ['-r', path, '-d', `udp.port==${sipPort},sip`, '-Y', 'sdp', '-T', 'fields', '-e', 'sdp.media_attr'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return [...text.matchAll(/rtpmap:(\d+) telephone-event\/8000/g)].map((match) => Number(match[1]));
}

const EVENT_KEYS = '0123456789*#ABCD';

const trunkPeers = requirePeer('baresip', 'sipp', 'tshark');

describe.skipIf(trunkPeers.skip)('baresip as a PSTN trunk caller (UDP, plain RTP) against a sipp callee', () => {
  let trunk: Baresip | undefined;
  let callee: SippProcess | undefined;
  let capture: LoggedProcess | undefined;
  let dir = '';

  afterEach(async (context) => {
    const failed = context.task.result?.state === 'fail';
    await trunk?.stop({ keepLogs: failed });
    await capture?.stop();
    const result = await callee?.stop();
    if (result && !failed) removeSippDir(result);
    if (failed) console.warn(`capture kept in ${dir}`);
    else if (dir) rmSync(dir, { recursive: true, force: true });
    trunk = undefined;
    callee = undefined;
    capture = undefined;
    dir = '';
  });

  it('sends RFC 4733 events for exactly the digits typed, at the telephone-event payload type negotiated', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sipgw-peers-trunk-'));
    const base = findFreePortBlock(40);
    const mediaPort = base + 2;
    callee = startSipp({ scenario: 'uas-trunk-answer', transport: 'u1', localPort: base, controlPort: base + 1, mediaPort, calls: 1, timeoutS: 40, extraArgs: ['-rtp_echo'] });
    await callee.ready();
    const pcap = join(dir, 'lo.pcapng');
    capture = await startCapture(pcap, `udp and (port ${base} or port ${mediaPort})`);
    trunk = await startBaresip({ name: 'trunk', transport: 'udp', sipPort: base + 6, ctrlPort: base + 8, rtpPorts: [base + 10, base + 39], toneHz: 440 });
    expect(trunk.uri).toBe(`sip:trunk@127.0.0.1:${base + 6};transport=udp`);

    await expect(trunk.sendDigits('1')).rejects.toThrow(/command not found/); // no call yet
    await trunk.dial(`sip:ivr@127.0.0.1:${base}`);
    await trunk.waitForEvent('CALL_ESTABLISHED', 10_000);
    expect(trunk.events.some((event) => event.type === 'CALL_MENC')).toBe(false);
    await sleep(2500);
    await trunk.sendDigits('159#*D');
    await trunk.hangup();
    await trunk.waitForEvent('CALL_CLOSED', 5000);
    await sleep(300);
    await capture.stop();
    capture = undefined;

    // The offer and the answer both map telephone-event/8000, to the same payload type.
    const negotiated = telephoneEventTypes(pcap, base);
    expect(negotiated).toHaveLength(2);
    expect(new Set(negotiated).size).toBe(1);
    const eventType = negotiated[0]!;

    const packets = rtpSentTo(pcap, mediaPort);
    expect(packets.filter((packet) => packet.payloadType === 0).length).toBeGreaterThan(100); // PCMU audio
    const events = packets.filter((packet) => packet.payloadType === eventType);
    expect(packets.every((packet) => packet.payloadType === 0 || packet.payloadType === eventType)).toBe(true);
    // One event per RTP timestamp: its first packet has the marker bit, its last ones the end bit.
    const byTimestamp = new Map<number, RtpPacket[]>();
    for (const packet of events) byTimestamp.set(packet.timestamp, [...(byTimestamp.get(packet.timestamp) ?? []), packet]);
    const typed = [...byTimestamp.values()].map((group) => {
      expect(group[0]?.marker).toBe(true);
      expect(new Set(group.map((packet) => packet.payload[0])).size).toBe(1);
      const ends = group.filter((packet) => ((packet.payload[1] ?? 0) & 0x80) !== 0);
      expect(ends.length).toBeGreaterThanOrEqual(1);
      expect(ends.at(-1)?.payload.readUInt16BE(2)).toBeGreaterThanOrEqual(800); // at least 100 ms
      return EVENT_KEYS[group[0]?.payload[0] ?? 99];
    });
    expect(typed.join('')).toBe('159#*D');

    // The callee echoed the audio: baresip's dump of what it heard holds its own 440 Hz tone.
    const [wavPath] = trunk.decodedWavFiles();
    const heard = readWav(wavPath!);
    expect(dominantToneCheck(heard.samples, heard.sampleRate, 440).longestRunSeconds).toBeGreaterThanOrEqual(2);
  });
});
