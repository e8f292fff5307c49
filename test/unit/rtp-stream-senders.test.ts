import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { buildPli, parseReceptionReports } from '../../gateway/media/rtcp/index.js';
import { parseRtpHeader, PortAllocator, RtpSocketPair, type RtpHeader } from '../../gateway/media/rtp/index.js';
import { generateMasterKey, SrtpContext, type SrtpSuite } from '../../gateway/media/srtp/index.js';
import { SecureRtpStream, type StreamParams } from '../../gateway/media/stream/index.js';
import { until } from '../support/until.js';

// One SIP leg's outgoing stream fed by one sender after another, as when a caller leaves the IVR for the
// meeting: the prompt player's packets, then the meeting mix's, each with its own SSRC and numbering.

const HOST = '127.0.0.1';
const BASE = 30000 + 2 * Math.floor(Math.random() * 4000);
const SUITE: SrtpSuite = 'AEAD_AES_128_GCM';
const PROMPT_SSRC = 0x1111aaaa;
const MIX_SSRC = 0x2222bbbb;
const PAUSE_MS = 100;
const PACKETS_EACH = 10;
/** 20 ms of PCMU. */
const FRAME = 160;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Peer {
  readonly rtpPort: number;
  readonly rtcpPort: number;
  readonly rtp: Buffer[];
  readonly rtcp: Buffer[];
}

async function udpSocket(onMessage: (packet: Buffer) => void): Promise<Socket & { address(): { port: number } }> {
  const socket = createSocket('udp4');
  cleanup.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  socket.on('message', onMessage);
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  return socket;
}

/** The room system: records every datagram the stream sends it, RTP and RTCP apart. */
async function peer(): Promise<Peer> {
  const rtp: Buffer[] = [];
  const rtcp: Buffer[] = [];
  const rtpSocket = await udpSocket((packet) => rtp.push(packet));
  const rtcpSocket = await udpSocket((packet) => rtcp.push(packet));
  return { rtpPort: rtpSocket.address().port, rtcpPort: rtcpSocket.address().port, rtp, rtcp };
}

type LocalKey = NonNullable<StreamParams['srtp']>['localKey'];

function masterKey(): LocalKey {
  const { key, salt } = generateMasterKey(SUITE);
  return { key, salt, equals: (other) => key.equals(other.key) && salt.equals(other.salt) };
}

async function gatewayStream(to: Peer, localKey?: LocalKey): Promise<SecureRtpStream> {
  const socket = await RtpSocketPair.open({ allocator: new PortAllocator(BASE, BASE + 19), bindAddress: HOST });
  const params: StreamParams = {
    kind: 'audio',
    codec: { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 },
    telephoneEvent: { payloadType: 101, name: 'telephone-event', clockRate: 8000, channels: 1 },
    direction: 'sendrecv',
    remote: { address: HOST, rtpPort: to.rtpPort, rtcpPort: to.rtcpPort },
    rtcpMux: false,
    srtp: localKey && { suite: SUITE, localKey, remoteKey: masterKey() },
  };
  const stream = new SecureRtpStream(socket, params, {}, { reportIntervalMs: 40 });
  cleanup.push(() => stream.close());
  return stream;
}

function packet(ssrc: number, sequence: number, timestamp: number, payloadType = 0): Buffer {
  const out = Buffer.alloc(12 + FRAME, sequence & 0xff);
  out.writeUInt8(0x80, 0);
  out.writeUInt8(payloadType, 1);
  out.writeUInt16BE(sequence & 0xffff, 2);
  out.writeUInt32BE(timestamp >>> 0, 4);
  out.writeUInt32BE(ssrc, 8);
  return out;
}

/** The prompt's packets, a pause, then the mix's: numbered and stamped below the prompt's, as it happens at random. */
async function promptThenMix(stream: SecureRtpStream): Promise<Buffer[]> {
  const prompt = Array.from({ length: PACKETS_EACH }, (_, i) => packet(PROMPT_SSRC, 40_000 + i, 3_000_000_000 + FRAME * i));
  // The mix's last packet is a telephone-event: payload types go out as each sender set them.
  const mix = Array.from({ length: PACKETS_EACH }, (_, i) => packet(MIX_SSRC, 1_000 + i, 5_000 + FRAME * i, i === PACKETS_EACH - 1 ? 101 : 0));
  for (const p of prompt) stream.sendRtp(p);
  await sleep(PAUSE_MS);
  for (const p of mix) stream.sendRtp(p);
  return [...prompt, ...mix];
}

const seqStep = (later: RtpHeader, earlier: RtpHeader): number => (later.sequenceNumber - earlier.sequenceNumber) & 0xffff;
const tsStep = (later: RtpHeader, earlier: RtpHeader): number => (later.timestamp - earlier.timestamp) >>> 0;

/** What a receiver's jitter buffer needs to play both senders: one SSRC, numbering and timing that carry on. */
function expectOneContinuousStream(headers: RtpHeader[]): void {
  expect(headers).toHaveLength(2 * PACKETS_EACH);
  expect(new Set(headers.map((h) => h.ssrc)).size).toBe(1);
  const sequenceSteps = headers.slice(1).map((h, i) => seqStep(h, headers[i]!));
  expect(sequenceSteps).toEqual(sequenceSteps.map(() => 1));
  const timestampSteps = headers.slice(1).map((h, i) => tsStep(h, headers[i]!));
  const withinSenders = timestampSteps.filter((_, i) => i !== PACKETS_EACH - 1);
  expect(withinSenders).toEqual(withinSenders.map(() => FRAME));
  // Across the switch: forward by the pause (100 ms, 800 at 8 kHz), give or take a timer's rounding.
  expect(timestampSteps[PACKETS_EACH - 1]).toBeGreaterThanOrEqual(720);
  expect(timestampSteps[PACKETS_EACH - 1]).toBeLessThan(8000);
  expect(headers.map((h) => h.payloadType)).toEqual(headers.map((_, i) => (i === headers.length - 1 ? 101 : 0)));
}

describe('SecureRtpStream with one sender after another', () => {
  it('sends SRTP the peer decrypts as one continuous stream, and leaves the senders’ packets as they were', async () => {
    const room = await peer();
    const localKey = masterKey();
    const stream = await gatewayStream(room, localKey);

    const sent = await promptThenMix(stream);
    const copies = sent.map((p) => Buffer.from(p));
    await until(async () => room.rtp.length, (n) => n === sent.length, 2_000);

    const decrypt = new SrtpContext(SUITE, localKey.key, localKey.salt);
    const plain = room.rtp.map((p) => decrypt.unprotect(p));
    expectOneContinuousStream(plain.map(parseRtpHeader));
    expect(plain.map((p) => p.subarray(12))).toEqual(sent.map((p) => p.subarray(12)));
    expect(sent).toEqual(copies);
  });

  it('sends plain RTP the same way, and its reports and feedback under the same SSRC', async () => {
    const room = await peer();
    const stream = await gatewayStream(room);

    const sent = await promptThenMix(stream);
    const copies = sent.map((p) => Buffer.from(p));
    await until(async () => room.rtp.length, (n) => n === sent.length, 2_000);
    const headers = room.rtp.map(parseRtpHeader);
    expectOneContinuousStream(headers);
    expect(sent).toEqual(copies);

    // A sender report after both senders counts the packets of both, as one stream's.
    const ourSsrc = headers[0]!.ssrc;
    const reportOfBoth = async (): Promise<number | undefined> =>
      room.rtcp.flatMap(parseReceptionReports).find((r) => r.senderInfo?.packetCount === sent.length)?.senderSsrc;
    expect(await until(reportOfBoth, (ssrc) => ssrc !== undefined, 2_000)).toBe(ourSsrc);
    // Feedback a track asks for in its own name goes out in the stream's.
    const before = room.rtcp.length;
    stream.sendRtcp(buildPli(MIX_SSRC, 0x5eed0001));
    await until(async () => room.rtcp.slice(before).find((p) => p.readUInt8(1) === 206), Boolean, 2_000);
    const pli = room.rtcp.slice(before).find((p) => p.readUInt8(1) === 206)!;
    expect([pli.readUInt32BE(4), pli.readUInt32BE(8)]).toEqual([ourSsrc, 0x5eed0001]);
  });
});
