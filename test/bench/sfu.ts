/**
 * SFU forwarding cost per forwarded copy, in-process: a real Meeting with one sender and N forwarding
 * receivers, the sender's PublishedTrack driven with Opus RTP packets (real 20 ms frames, encoded
 * beforehand) or 1200-byte H.264 packets, each receiver's OutgoingTrack counting what it is sent. The
 * timed path is the meeting's own: routing header parse, payload type map, RtpRewriter copy and
 * rewrite, per receiver. The reference, measured in the same run, is what any SFU must at least do:
 * one Buffer.from(packet) plus three header writes per copy.
 *
 * Two further columns add SRTP with the gateway's SrtpContext (AES_CM_128_HMAC_SHA1_80): a protect per
 * copy, then also an unprotect of the incoming packet (shared by its N copies), the shape of an
 * SDES relay such as rtpengine's. For browsers libdatachannel does SRTP in C inside node-datachannel,
 * so the plain figure is what the gateway's JavaScript spends per copy; sockets are not included.
 * Runs of all cases are interleaved so a busy machine slows them alike.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { SecurityLabel } from '../../gateway/calls/index.js';
import { Meeting, type MeetingEvents } from '../../gateway/fabric/meeting.js';
import type { ForwardedReception, MediaKind, OutgoingTrack, PublishedTrack } from '../../gateway/fabric/index.js';
import { SrtpContext, generateMasterKey, type SrtpSuite } from '../../gateway/media/index.js';
import { BROWSER_AUDIO_CODECS, BROWSER_UPLINK_VIDEO_CODECS, BROWSER_VIDEO_CODECS } from '../../gateway/webrtc/codecs.js';
import { opusFrames } from './load/opus-frames.js';

const RECEIVERS = [1, 4, 9];
/** Copies per timed run, whatever N: packets per run = COPIES_PER_RUN / N. */
const COPIES_PER_RUN = 4000;
const RUNS = 9;
const SUITE: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80';
const VIDEO_PACKET_BYTES = 1200;
const VIDEO_PACKETS_PER_FRAME = 5;
/** rtpengine 10.5 forced to decrypt and re-encrypt, from ../shared/bench/README.md (not this run). */
const RTPENGINE_US = { low: 19, high: 22 };

const SRTP_MODES = ['none', 'out', 'in+out'] as const;
type SrtpMode = (typeof SRTP_MODES)[number];

const NO_EVENTS: MeetingEvents = {
  forwarded: () => undefined,
  keyframeRequested: () => undefined,
  frameMixed: () => undefined,
  codecTime: () => undefined,
  joined: () => undefined,
  left: () => undefined,
};

const LABEL: SecurityLabel = { origin: 'webrtc', signalling: 'wss', media: 'dtls-srtp', suite: null, encrypted: true };

interface Run {
  readonly work: (packet: Buffer) => void;
  /** Copies the receivers were sent, to check that every packet reached every receiver. */
  readonly copies: () => number;
}

interface Case {
  readonly name: string;
  readonly receivers: number;
  readonly packets: readonly Buffer[];
  /** Called untimed before each run: fresh meeting and SRTP contexts (SRTP refuses a reused index). */
  readonly prepare: () => Run;
}

interface Stream {
  readonly kind: MediaKind;
  /** Plain RTP as the sender's track delivers it, and the same packets SRTP-protected by the sender. */
  readonly plain: readonly Buffer[];
  readonly protected: readonly Buffer[];
}

const key = generateMasterKey(SUITE);
const newContext = () => new SrtpContext(SUITE, key.key, key.salt);

function rtpPacket(payloadType: number, sequence: number, timestamp: number, ssrc: number, marker: boolean, payload: Buffer): Buffer {
  const packet = Buffer.alloc(12 + payload.length);
  packet[0] = 0x80;
  packet[1] = (marker ? 0x80 : 0) | payloadType;
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE(timestamp >>> 0, 4);
  packet.writeUInt32BE(ssrc, 8);
  payload.copy(packet, 12);
  return packet;
}

function stream(kind: MediaKind): Stream {
  const ssrc = randomBytes(4).readUInt32BE(0);
  let plain: Buffer[];
  if (kind === 'audio') {
    const frames = opusFrames(50);
    const opus = BROWSER_AUDIO_CODECS.find((c) => c.name === 'opus')!.payloadType;
    plain = Array.from({ length: COPIES_PER_RUN }, (_, i) => rtpPacket(opus, i, i * 960, ssrc, i === 0, frames[i % frames.length]!));
  } else {
    // Mode 0 (single NAL units) is what browsers send; 0x41 starts a non-IDR slice.
    const h264 = BROWSER_UPLINK_VIDEO_CODECS[0]!.payloadType;
    plain = Array.from({ length: COPIES_PER_RUN }, (_, i) => {
      const payload = randomBytes(VIDEO_PACKET_BYTES - 12);
      payload[0] = 0x41;
      const frame = Math.floor(i / VIDEO_PACKETS_PER_FRAME);
      return rtpPacket(h264, i, frame * 3000, ssrc, i % VIDEO_PACKETS_PER_FRAME === VIDEO_PACKETS_PER_FRAME - 1, payload);
    });
  }
  const sender = newContext();
  return { kind, plain, protected: plain.map((p) => sender.protect(p)) };
}

/** The receiving end of the incoming packet: as it is, or unprotected by a fresh context. */
function inbound(srtp: SrtpMode): (packet: Buffer) => Buffer {
  if (srtp !== 'in+out') return (packet) => packet;
  const context = newContext();
  return (packet) => context.unprotect(packet);
}

/** What a copy costs once it leaves: nothing, or an SRTP protect in the receiver's own context. */
function sink(srtp: SrtpMode, counter: { copies: number; bytes: number }): (packet: Buffer) => void {
  if (srtp === 'none') {
    return (packet) => {
      counter.copies++;
      counter.bytes += packet.length;
    };
  }
  const context = newContext();
  return (packet) => {
    counter.copies++;
    counter.bytes += context.protect(packet).length;
  };
}

function countingTrack(kind: MediaKind, send: (packet: Buffer) => void): OutgoingTrack {
  return {
    kind,
    ssrc: randomBytes(4).readUInt32BE(0),
    codecs: kind === 'audio' ? BROWSER_AUDIO_CODECS : BROWSER_VIDEO_CODECS,
    send,
    onKeyframeRequest: () => undefined,
    onNack: () => undefined,
    close: () => undefined,
  };
}

function packetsFor(media: Stream, receivers: number, srtp: SrtpMode): readonly Buffer[] {
  return (srtp === 'in+out' ? media.protected : media.plain).slice(0, Math.ceil(COPIES_PER_RUN / receivers));
}

function sfuCase(media: Stream, receivers: number, srtp: SrtpMode): Case {
  return {
    name: `sfu ${media.kind} ${receivers} ${srtp}`,
    receivers,
    packets: packetsFor(media, receivers, srtp),
    prepare: () => {
      const meeting = new Meeting('bench', 'bench', NO_EVENTS, { policy: () => 'allow' });
      const counter = { copies: 0, bytes: 0 };
      const sender = meeting.join({ name: 'sender', kind: 'browser', label: LABEL, reception: { mode: 'forward', openTrack: () => undefined } });
      for (let i = 0; i < receivers; i++) {
        const reception: ForwardedReception = { mode: 'forward', openTrack: (from) => countingTrack(from.kind, sink(srtp, counter)) };
        meeting.join({ name: `receiver ${i}`, kind: 'browser', label: LABEL, reception });
      }
      const listeners: ((packet: Buffer) => void)[] = [];
      const track: PublishedTrack = {
        kind: media.kind,
        codecs: media.kind === 'audio' ? BROWSER_AUDIO_CODECS : BROWSER_UPLINK_VIDEO_CODECS,
        onRtp: (listener) => listeners.push(listener),
        requestKeyframe: () => undefined,
      };
      sender.publish(track);
      const receive = inbound(srtp);
      return {
        work: (packet) => {
          const rtp = receive(packet);
          for (const listener of listeners) listener(rtp);
        },
        copies: () => counter.copies,
      };
    },
  };
}

function referenceCase(media: Stream, receivers: number, srtp: SrtpMode): Case {
  return {
    name: `ref ${media.kind} ${receivers} ${srtp}`,
    receivers,
    packets: packetsFor(media, receivers, srtp),
    prepare: () => {
      const counter = { copies: 0, bytes: 0 };
      const outputs = Array.from({ length: receivers }, () => ({ ssrc: randomBytes(4).readUInt32BE(0), send: sink(srtp, counter) }));
      const receive = inbound(srtp);
      return {
        work: (packet) => {
          const rtp = receive(packet);
          const sequence = rtp.readUInt16BE(2);
          const timestamp = rtp.readUInt32BE(4);
          for (const output of outputs) {
            const copy = Buffer.from(rtp);
            copy.writeUInt16BE(sequence, 2);
            copy.writeUInt32BE(timestamp, 4);
            copy.writeUInt32BE(output.ssrc, 8);
            output.send(copy);
          }
        },
        copies: () => counter.copies,
      };
    },
  };
}

/** Median µs per forwarded copy for each case; run 0 only warms up the JIT. */
function measure(cases: readonly Case[]): Map<string, number> {
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let run = 0; run <= RUNS; run++) {
    for (const { name, receivers, packets, prepare } of cases) {
      const { work, copies } = prepare();
      const start = process.hrtime.bigint();
      for (const packet of packets) work(packet);
      const elapsed = Number(process.hrtime.bigint() - start) / 1000;
      const expected = packets.length * receivers;
      if (copies() !== expected) throw new Error(`${name}: ${copies()} copies sent, expected ${expected}`);
      if (run > 0) samples.get(name)!.push(elapsed / expected);
    }
  }
  return new Map([...samples].map(([name, values]) => [name, values.sort((a, b) => a - b)[values.length >> 1]!]));
}

const micros = (value: number) => value.toFixed(2).padStart(7);
const ratio = (value: number, reference: number) => `${(value / reference).toFixed(2)}×`.padStart(7);

export async function run(): Promise<void> {
  const streams = [stream('audio'), stream('video')];
  const cases = streams.flatMap((media) =>
    RECEIVERS.flatMap((n) => SRTP_MODES.flatMap((srtp) => [sfuCase(media, n, srtp), referenceCase(media, n, srtp)])),
  );
  const results = measure(cases);
  const get = (what: 'sfu' | 'ref', kind: MediaKind, n: number, srtp: SrtpMode) => results.get(`${what} ${kind} ${n} ${srtp}`)!;

  const audioBytes = streams[0]!.plain.reduce((sum, p) => sum + p.length, 0) / COPIES_PER_RUN;
  console.log(`SFU forwarding, µs per forwarded copy (median of ${RUNS} runs × ${COPIES_PER_RUN} copies: ${COPIES_PER_RUN} / N packets × N receivers)`);
  console.log('sfu: Meeting → ForwardingLink per receiver (routing header parse, PT map, RtpRewriter copy + 4 header writes) → OutgoingTrack.send (counts)');
  console.log('ref: Buffer.from(packet) + 3 header writes (sequence, timestamp, SSRC) per copy');
  console.log(`+protect: one SrtpContext.protect (${SUITE}) per copy, a context per receiver`);
  console.log('+relay: +protect, and one unprotect of the incoming packet, shared by its N copies (N = 1: one packet in, one out)');
  console.log(`packets: Opus 20 ms (real frames, mean ${audioBytes.toFixed(0)} B with header), H.264 mode 0 ${VIDEO_PACKET_BYTES} B`);
  console.log(`load average at the end: ${loadavg().map((load) => load.toFixed(1)).join(' ')}\n`);
  console.log(
    `${'kind'.padEnd(6)}${'N'.padStart(3)} |${'sfu'.padStart(7)}${'ref'.padStart(7)}${'ratio'.padStart(7)} |` +
      `${'+protect'.padStart(9)}${'ref'.padStart(7)}${'ratio'.padStart(7)} |${'+relay'.padStart(9)}${'ref'.padStart(7)}${'ratio'.padStart(7)}`,
  );
  for (const { kind } of streams) {
    for (const n of RECEIVERS) {
      const cells = SRTP_MODES.map((srtp) => {
        const sfu = get('sfu', kind, n, srtp);
        const ref = get('ref', kind, n, srtp);
        return `${micros(sfu).padStart(srtp === 'none' ? 7 : 9)}${micros(ref)}${ratio(sfu, ref)}`;
      });
      console.log(`${kind.padEnd(6)}${String(n).padStart(3)} |${cells.join(' |')}`);
    }
  }

  const relay = get('sfu', 'audio', 1, 'in+out');
  console.log(
    `\nreference NOT measured in this run (../shared/bench/README.md): rtpengine 10.5 forced to decrypt and re-encrypt, ` +
      `${RTPENGINE_US.low}–${RTPENGINE_US.high} µs CPU per relayed 172 B G.711 packet, syscalls included`,
  );
  console.log(
    `  audio N = 1 +relay here: ${relay.toFixed(2)} µs = ${(relay / RTPENGINE_US.high).toFixed(2)}–${(relay / RTPENGINE_US.low).toFixed(2)}× ` +
      'rtpengine, without sockets (recvmsg/sendmsg) and in JavaScript SRTP; the gateway\'s browsers get libdatachannel\'s C SRTP instead',
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
