import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseReceptionReports } from '../../gateway/media/rtcp/index.js';
import { PortAllocator, RtpSocketPair } from '../../gateway/media/rtp/index.js';
import { generateMasterKey, type SrtpSuite } from '../../gateway/media/srtp/index.js';
import { SecureRtpStream, type PeerReception, type StreamEvents, type StreamParams } from '../../gateway/media/stream/index.js';
import { requirePeer } from '../peers/availability.js';

const HOST = '127.0.0.1';
const BASE = 40000 + 2 * Math.floor(Math.random() * 5000);
const SUITE: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80';
const PAYLOAD_BYTES = 160;
/** RTP header + PCMU payload + the suite's 10-byte tag. */
const SRTP_PACKET_BYTES = 12 + PAYLOAD_BYTES + 10;
const REPORT_INTERVAL_MS = 60;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const step of cleanup.splice(0).reverse()) await step();
});

function masterKey(): NonNullable<StreamParams['srtp']>['localKey'] {
  const { key, salt } = generateMasterKey(SUITE);
  return { key, salt, equals: (other) => key.equals(other.key) && salt.equals(other.salt) };
}

async function socketPair(allocator: PortAllocator): Promise<RtpSocketPair> {
  const socket = await RtpSocketPair.open({ allocator, bindAddress: HOST });
  cleanup.push(() => socket.close());
  return socket;
}

function params(remote: { rtpPort: number; rtcpPort: number }, srtp?: StreamParams['srtp']): StreamParams {
  return {
    kind: 'audio',
    codec: { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 },
    direction: 'sendrecv',
    remote: { address: HOST, rtpPort: remote.rtpPort, rtcpPort: remote.rtcpPort },
    rtcpMux: false,
    srtp,
  };
}

/** PCMU packet `sequence` of `ssrc`, stamped with the 8 kHz clock since `startedAt` so it carries no jitter of its own. */
function pcmu(ssrc: number, sequence: number, startedAt: number): Buffer {
  const packet = Buffer.alloc(12 + PAYLOAD_BYTES, 0xff);
  packet.writeUInt8(0x80, 0);
  packet.writeUInt8(0, 1);
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE(Math.round((performance.now() - startedAt) * 8) >>> 0, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

interface Observed {
  reports: PeerReception[];
  bytesIn: number;
  bytesOut: number;
  authFailures: number;
}

function observe(): [Observed, StreamEvents] {
  const seen: Observed = { reports: [], bytesIn: 0, bytesOut: 0, authFailures: 0 };
  return [
    seen,
    {
      packetIn: (bytes) => (seen.bytesIn += bytes),
      packetOut: (bytes) => (seen.bytesOut += bytes),
      authFailure: () => seen.authFailures++,
      report: (reception) => seen.reports.push(reception),
    },
  ];
}

describe('SecureRtpStream RTCP reports', () => {
  it('tells each SRTP sender how the other side receives it: loss, jitter and round trip', async () => {
    const allocator = new PortAllocator(BASE, BASE + 19);
    const [socketA, socketB] = [await socketPair(allocator), await socketPair(allocator)];
    const [keyA, keyB] = [masterKey(), masterKey()];
    const [seenA, eventsA] = observe();
    const [seenB, eventsB] = observe();
    const options = { reportIntervalMs: REPORT_INTERVAL_MS };
    const a = new SecureRtpStream(socketA, params(socketB, { suite: SUITE, localKey: keyA, remoteKey: keyB }), eventsA, options);
    const b = new SecureRtpStream(socketB, params(socketA, { suite: SUITE, localKey: keyB, remoteKey: keyA }), eventsB, options);
    cleanup.push(() => a.close(), () => b.close());

    // 20 ms of audio every 4 ms of real time: A leaves out every fourth packet, B sends them all.
    const startedAt = performance.now();
    let sentByA = 0;
    for (let sequence = 0; sequence < 300; sequence++) {
      if (sequence % 4 !== 3) {
        a.sendRtp(pcmu(0xaaaa0001, sequence, startedAt));
        sentByA++;
      }
      b.sendRtp(pcmu(0xbbbb0002, sequence, startedAt));
      await sleep(4);
    }
    await sleep(2 * REPORT_INTERVAL_MS);

    expect(seenA.bytesOut).toBe(sentByA * SRTP_PACKET_BYTES);
    expect(seenB.bytesIn).toBe(seenA.bytesOut);
    expect(seenA.bytesIn).toBe(300 * SRTP_PACKET_BYTES);
    expect([seenA.authFailures, seenB.authFailures]).toEqual([0, 0]);

    // Each report covers the packets since the previous one, a quarter of them missing; the first and
    // last intervals may be short, so the median is what must sit at a quarter.
    expect(seenA.reports.length).toBeGreaterThanOrEqual(3);
    const losses = seenA.reports.map((r) => r.lossRatio).sort((x, y) => x - y);
    expect(losses[Math.floor(losses.length / 2)]).toBeGreaterThanOrEqual(0.2);
    expect(losses[Math.floor(losses.length / 2)]).toBeLessThanOrEqual(0.3);
    expect(losses[losses.length - 1]).toBeLessThanOrEqual(0.5);
    expect(seenB.reports.length).toBeGreaterThanOrEqual(3);
    expect(seenB.reports.map((r) => r.lossRatio)).toEqual(seenB.reports.map(() => 0));

    for (const { jitterS } of [...seenA.reports, ...seenB.reports]) {
      expect(jitterS).toBeGreaterThanOrEqual(0);
      expect(jitterS).toBeLessThan(0.05);
    }
    // The first report comes before the peer has had an SR of ours; later ones carry the loopback round trip.
    const roundTrips = [...seenA.reports, ...seenB.reports].flatMap((r) => (r.roundTripS === undefined ? [] : [r.roundTripS]));
    expect(roundTrips.length).toBeGreaterThanOrEqual(2);
    // Loopback takes well under 10 ms; the median keeps a rare event-loop stall from failing the test.
    const sorted = roundTrips.sort((x, y) => x - y);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(0.01);
    expect(sorted[0]).toBeGreaterThanOrEqual(0);
    expect(sorted[sorted.length - 1]).toBeGreaterThan(0);
  });

  it('sends nothing while the stream has neither sent nor received, and stops its timer on close', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const allocator = new PortAllocator(BASE + 20, BASE + 39);
    const [socketA, socketB] = [await socketPair(allocator), await socketPair(allocator)];
    const received: Buffer[] = [];
    socketB.onPacket((packet) => received.push(packet));
    const stream = new SecureRtpStream(socketA, params(socketB), {}, { reportIntervalMs: 1000 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(socketA.counters.packetsOut).toBe(0);
    expect(vi.getTimerCount()).toBe(1);
    stream.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(received).toEqual([]);
  });
});

/** A pcap file (LINKTYPE_RAW) holding each payload as a UDP datagram between 127.0.0.1 ports. */
function pcap(datagrams: Buffer[], sourcePort: number, destinationPort: number): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(101, 20);
  const records = datagrams.map((payload, i) => {
    const packet = Buffer.alloc(28 + payload.length);
    packet.writeUInt8(0x45, 0);
    packet.writeUInt16BE(packet.length, 2);
    packet.writeUInt8(64, 8);
    packet.writeUInt8(17, 9);
    packet.set([127, 0, 0, 1, 127, 0, 0, 1], 12);
    packet.writeUInt16BE(sourcePort, 20);
    packet.writeUInt16BE(destinationPort, 22);
    packet.writeUInt16BE(8 + payload.length, 24);
    payload.copy(packet, 28);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(1_700_000_000 + i, 0);
    record.writeUInt32LE(packet.length, 8);
    record.writeUInt32LE(packet.length, 12);
    return Buffer.concat([record, packet]);
  });
  return Buffer.concat([header, ...records]);
}

const tshark = requirePeer('tshark');

describe.skipIf(tshark.skip)('SecureRtpStream reports on the wire (tshark)', () => {
  it('sends plain SR and RR packets that Wireshark decodes without complaint', async () => {
    const allocator = new PortAllocator(BASE + 40, BASE + 59);
    const socket = await socketPair(allocator);
    // The peer: a plain RTP port and an RTCP port we read what the stream sends from.
    const peerRtp = await udpSocket();
    const peerRtcp = await udpSocket();
    const reports: Buffer[] = [];
    peerRtcp.on('message', (packet) => reports.push(packet));
    const stream = new SecureRtpStream(socket, params({ rtpPort: peerRtp.address().port, rtcpPort: peerRtcp.address().port }), {}, { reportIntervalMs: 40 });
    cleanup.push(() => stream.close());

    // The peer's packets first (the stream reports as a receiver), then the stream's own (it reports as a sender).
    const startedAt = performance.now();
    for (let sequence = 0; sequence < 20; sequence++) {
      peerRtp.send(pcmu(0x5eed0001, sequence, startedAt), socket.rtpPort, HOST);
      await sleep(5);
    }
    await sleep(120);
    for (let sequence = 0; sequence < 20; sequence++) {
      stream.sendRtp(pcmu(0x5eed0002, sequence, startedAt));
      peerRtp.send(pcmu(0x5eed0001, 20 + sequence, startedAt), socket.rtpPort, HOST);
      await sleep(5);
    }
    await sleep(120);
    stream.close();

    const kinds = reports.map((packet) => (parseReceptionReports(packet)[0]?.senderInfo ? 'SR' : 'RR'));
    expect(kinds).toContain('RR');
    expect(kinds).toContain('SR');

    const dir = mkdtempSync(join(tmpdir(), 'sipgw-rtcp-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'reports.pcap');
    const port = peerRtcp.address().port;
    writeFileSync(file, pcap(reports, socket.rtcpPort, port));
    const { stdout } = await promisify(execFile)('tshark', ['-n', '-r', file, '-d', `udp.port==${port},rtcp`, '-V'], { maxBuffer: 16 << 20 });

    expect(stdout.match(/Real-time Transport Control Protocol \(Sender Report\)/g)?.length).toBe(kinds.filter((k) => k === 'SR').length);
    expect(stdout.match(/Real-time Transport Control Protocol \(Receiver Report\)/g)?.length).toBe(kinds.filter((k) => k === 'RR').length);
    expect(stdout.match(/Real-time Transport Control Protocol \(Source description\)/g)?.length).toBe(reports.length);
    expect(stdout.match(/RTCP frame length check: OK/g)?.length).toBe(reports.length);
    expect(stdout).toContain('Identifier: 0x5eed0001');
    // The last SR counts all 20 packets and their payload; its NTP time, as Wireshark reads it, is now.
    expect(stdout).toContain("Sender's packet count: 20\n");
    expect(stdout).toContain(`Sender's octet count: ${20 * PAYLOAD_BYTES}\n`);
    const ntpTimes = [...stdout.matchAll(/MSW and LSW as NTP timestamp: (.+) UTC\]/g)].map((m) => Date.parse(`${m[1]!.replace(/\.(\d{3})\d*/, '.$1')} UTC`));
    expect(ntpTimes.length).toBe(kinds.filter((k) => k === 'SR').length);
    for (const time of ntpTimes) expect(Math.abs(time - Date.now())).toBeLessThan(10_000);
    expect(stdout).not.toMatch(/Malformed|Expert Info \((Error|Warning)/);
  });
});

async function udpSocket(): Promise<Socket & { address(): { port: number } }> {
  const socket = createSocket('udp4');
  cleanup.push(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  return socket;
}
