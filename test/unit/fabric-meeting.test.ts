// The embedded fabric's meetings, driven through the Fabric interface with in-memory fakes of the transport
// side (PublishedTrack, OutgoingTrack, ForwardedReception, MixedReception): the interface an external fabric or
// a new signalling side implements, so faking it here is the point, not a shortcut.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SecurityLabel } from '../../gateway/calls/index.js';
import {
  EmbeddedFabric,
  MeetingDirectory,
  type ForwardedReception,
  type MediaKind,
  type MixedReception,
  type Notice,
  type OutgoingTrack,
  type ParticipantKind,
  type ParticipantSession,
  type PublishedTrack,
  type RosterEntry,
  type SessionEndReason,
  type TrackCodec,
} from '../../gateway/fabric/index.js';
import { createAudioCodec, parseRtpHeader, type AudioCodec, type RtpHeader } from '../../gateway/media/index.js';
import { createMetrics, type Metrics } from '../../gateway/observability/index.js';
import { sumSamples } from '../interop/gateway-process.js';
import { dominantToneCheck, goertzelPower } from '../peers/wav.js';

const PCMU: TrackCodec = { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 };
const PCMA: TrackCodec = { payloadType: 8, name: 'PCMA', clockRate: 8000, channels: 1 };
const OPUS: TrackCodec = { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' };
const G722: TrackCodec = { payloadType: 9, name: 'G722', clockRate: 8000, channels: 1 };
const G729: TrackCodec = { payloadType: 18, name: 'G729', clockRate: 8000, channels: 1 };
const h264 = (payloadType: number, mode: 0 | 1 | undefined): TrackCodec => ({
  payloadType,
  name: 'H264',
  clockRate: 90000,
  channels: 1,
  fmtp: `profile-level-id=42e01f${mode === undefined ? '' : `;packetization-mode=${mode}`}`,
});
const VP8: TrackCodec = { payloadType: 96, name: 'VP8', clockRate: 90000, channels: 1 };

/** What a browser takes, with the payload types of its connection. */
const BROWSER_ACCEPTS = { audio: [OPUS, G722, PCMU, PCMA], video: [h264(102, 1), h264(103, 0), VP8] };

const BROWSER: SecurityLabel = { origin: 'webrtc', signalling: 'wss', media: 'dtls-srtp', suite: null, encrypted: true };
const ROOM: SecurityLabel = { origin: 'sip', signalling: 'tls1.3', media: 'sdes-srtp', suite: 'AES_CM_128_HMAC_SHA1_80', encrypted: true };
const PHONE: SecurityLabel = { origin: 'pstn', signalling: 'udp', media: 'none', suite: null, encrypted: false };

const NAL_IDR = 0x65;
const NAL_NON_IDR = 0x41;

let nextSsrc = 0x51000000;

/** Fake of a transport's incoming side: the test plays the participant's encoder through deliver(). */
class FakePublishedTrack implements PublishedTrack {
  keyframeRequests = 0;
  readonly retransmissionRequests: number[][] = [];
  readonly requestRetransmission?: (sequenceNumbers: readonly number[]) => void;
  private readonly listeners: ((packet: Buffer) => void)[] = [];

  constructor(
    readonly kind: MediaKind,
    readonly codecs: readonly TrackCodec[],
    options: { canRetransmit?: boolean } = {},
  ) {
    if (options.canRetransmit ?? true) this.requestRetransmission = (sequenceNumbers) => this.retransmissionRequests.push([...sequenceNumbers]);
  }

  onRtp(listener: (packet: Buffer) => void): void {
    this.listeners.push(listener);
  }

  requestKeyframe(): void {
    this.keyframeRequests++;
  }

  deliver(packet: Buffer): void {
    for (const listener of this.listeners) listener(packet);
  }
}

/** Fake of a transport's outgoing side: keeps what the meeting sent, and lets the test play the receiver's RTCP. */
class FakeOutgoingTrack implements OutgoingTrack {
  readonly received: Buffer[] = [];
  closed = false;
  sentAfterClose = 0;
  private readonly keyframeListeners: (() => void)[] = [];
  private readonly nackListeners: ((sequenceNumbers: number[]) => void)[] = [];

  constructor(
    readonly kind: MediaKind,
    readonly codecs: readonly TrackCodec[],
    /** The participant whose track this carries, for tracks a forwarding receiver opened. */
    readonly from?: string,
    readonly ssrc = nextSsrc++,
  ) {}

  send(packet: Buffer): void {
    if (this.closed) this.sentAfterClose++;
    else this.received.push(Buffer.from(packet));
  }

  onKeyframeRequest(listener: () => void): void {
    this.keyframeListeners.push(listener);
  }

  onNack(listener: (sequenceNumbers: number[]) => void): void {
    this.nackListeners.push(listener);
  }

  close(): void {
    this.closed = true;
  }

  /** The receiver sends a PLI. */
  askForKeyframe(): void {
    for (const listener of this.keyframeListeners) listener();
  }

  /** The receiver sends a NACK for sequence numbers as it got them. */
  nack(sequenceNumbers: number[]): void {
    for (const listener of this.nackListeners) listener(sequenceNumbers);
  }

  headers(): RtpHeader[] {
    return this.received.map((packet) => parseRtpHeader(packet));
  }
}

/** Fake of a browser's connection: a track per forwarded track, accepting `accepts`. */
class FakeForwardedReception implements ForwardedReception {
  readonly mode = 'forward';
  readonly tracks: FakeOutgoingTrack[] = [];

  constructor(private readonly accepts: { audio: readonly TrackCodec[]; video: readonly TrackCodec[] } = BROWSER_ACCEPTS) {}

  openTrack(from: { participantId: string; kind: MediaKind }): OutgoingTrack {
    const track = new FakeOutgoingTrack(from.kind, this.accepts[from.kind], from.participantId);
    this.tracks.push(track);
    return track;
  }

  from(participant: Participant, kind: MediaKind): FakeOutgoingTrack | undefined {
    return this.tracks.find((t) => t.from === participant.session.id && t.kind === kind);
  }
}

interface Participant {
  readonly session: ParticipantSession;
  readonly rosters: (readonly RosterEntry[])[];
  readonly notices: Notice[];
  readonly ended: SessionEndReason[];
  /** The roster as last shown. */
  roster(): readonly RosterEntry[];
}

function rtp(fields: { ssrc: number; sequence: number; timestamp: number; payloadType: number; marker?: boolean; payload: Buffer | number[] }): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt8(0x80, 0);
  header.writeUInt8((fields.marker ? 0x80 : 0) | fields.payloadType, 1);
  header.writeUInt16BE(fields.sequence & 0xffff, 2);
  header.writeUInt32BE(fields.timestamp >>> 0, 4);
  header.writeUInt32BE(fields.ssrc >>> 0, 8);
  return Buffer.concat([header, Buffer.from(fields.payload)]);
}

/** An H.264 packet whose payload says who sent it and its index, behind the NAL header. */
function videoPacket(ssrc: number, payloadType: number, index: number, sequenceStart: number, sender: string, nal = NAL_NON_IDR): Buffer {
  return rtp({
    ssrc,
    sequence: sequenceStart + index,
    timestamp: 3000 * index,
    payloadType,
    marker: true,
    payload: [nal, sender.charCodeAt(0), index & 0xff, index >> 8],
  });
}

const sender = (packet: Buffer): string => String.fromCharCode(packet[13] ?? 0);
const nal = (packet: Buffer): number => packet[12] ?? 0;

/** A sine sent as 20 ms G.711 packets, with the phase carried on from packet to packet. */
class ToneSource {
  private readonly codec: AudioCodec;
  private sample = 0;
  private sequence = 1000;

  constructor(
    private readonly track: FakePublishedTrack,
    private readonly hz: number,
    private readonly amplitude: number,
    private readonly ssrc = nextSsrc++,
  ) {
    const spec = track.codecs[0]!;
    this.codec = createAudioCodec(spec)!;
  }

  sendFrame(): void {
    const pcm = Int16Array.from({ length: 160 }, (_, i) => Math.round(this.amplitude * 32767 * Math.sin((2 * Math.PI * this.hz * (this.sample + i)) / 8000)));
    const packet = rtp({ ssrc: this.ssrc, sequence: this.sequence++, timestamp: this.sample, payloadType: this.track.codecs[0]!.payloadType, payload: this.codec.encode(pcm) });
    this.sample += 160;
    this.track.deliver(packet);
  }
}

/**
 * Calls `frame` once per 20 ms of elapsed time (paced by the clock, not by timer wake-ups) until it returns
 * true or `maxFrames` frames have passed.
 */
function everyFrame(maxFrames: number, frame: (index: number) => boolean | void): Promise<number> {
  const started = performance.now();
  let done = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(maxFrames, Math.floor((performance.now() - started) / 20) + 1);
      while (done < due) {
        if (frame(done++) === true) {
          clearInterval(timer);
          return resolve(done);
        }
      }
      if (done >= maxFrames) {
        clearInterval(timer);
        resolve(done);
      }
    }, 5);
  });
}

/** Decoded samples of the G.711 packets a track received, as floats in [-1, 1). */
function decode(track: FakeOutgoingTrack): Float32Array {
  const codec = createAudioCodec(track.codecs[0]!)!;
  const pcm = track.received.flatMap((packet) => [...codec.decode(packet.subarray(parseRtpHeader(packet).headerLength))]);
  return Float32Array.from(pcm, (sample) => sample / 32768);
}

function seqStep(headers: readonly RtpHeader[]): number[] {
  return headers.slice(1).map((h, i) => (h.sequenceNumber - headers[i]!.sequenceNumber) & 0xffff);
}

function tsStep(headers: readonly RtpHeader[]): number[] {
  return headers.slice(1).map((h, i) => (h.timestamp - headers[i]!.timestamp) >>> 0);
}

const MEETING = { id: 'Board-Room', name: 'Board room', policy: 'warn' } as const;

function fabricWith(meetings: { id: string; name?: string; policy: 'require' | 'warn' | 'allow' }[] = [MEETING]) {
  const directory = new MeetingDirectory(meetings);
  const metrics = createMetrics();
  return { directory, metrics, fabric: new EmbeddedFabric(directory, metrics) };
}

async function metric(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sumSamples(await metrics.registry.metrics(), name, labels);
}

const joined: ParticipantSession[] = [];

/** Leaving stops a meeting's mixing timer. */
function leaveAll(): void {
  for (const session of joined.splice(0)) session.leave();
}

function join(
  fabric: EmbeddedFabric,
  name: string,
  kind: ParticipantKind,
  reception: ForwardedReception | MixedReception,
  meetingId = 'board-room',
): Participant {
  const label = kind === 'browser' ? BROWSER : kind === 'phone' ? PHONE : ROOM;
  const joinedMeeting = fabric.join(meetingId, { name, kind, label, reception });
  if (!joinedMeeting.ok) throw new Error(`${name} could not join ${meetingId}: ${joinedMeeting.reason}`);
  const { session } = joinedMeeting;
  joined.push(session);
  const participant: Participant = {
    session,
    rosters: [],
    notices: [],
    ended: [],
    roster: () => participant.rosters[participant.rosters.length - 1] ?? [],
  };
  session.onRoster((roster) => participant.rosters.push(roster));
  session.onNotice((notice) => participant.notices.push(notice));
  session.onEnded((reason) => participant.ended.push(reason));
  return participant;
}

const names = (roster: readonly RosterEntry[]) => roster.map((e) => e.name);
const said = (notices: readonly Notice[]) => notices.map((n) => `${n.participant.name} ${n.event}`);

describe('a meeting of the embedded fabric', () => {
  afterEach(() => {
    leaveAll();
    vi.useRealTimers();
  });

  it('tells everyone who is in the meeting, and tells the others (never oneself) who joined and left', () => {
    const { fabric } = fabricWith();
    const alice = join(fabric, 'Alice', 'browser', new FakeForwardedReception());
    expect(alice.rosters).toHaveLength(1);
    expect(alice.roster()).toEqual([
      {
        id: alice.session.id,
        name: 'Alice',
        origin: 'webrtc',
        label: BROWSER,
        description: 'Browser · WebRTC over secure WebSocket · DTLS-SRTP',
        encrypted: true,
        audioMuted: false,
        videoMuted: false,
      },
    ]);
    expect(alice.session.meeting).toEqual({ id: 'Board-Room', name: 'Board room' });

    const room = join(fabric, 'Room 4.2', 'room-system', { mode: 'mix' });
    const phone = join(fabric, '+49301234567', 'phone', { mode: 'mix' });
    expect(said(alice.notices)).toEqual(['Room 4.2 joined', '+49301234567 joined']);
    expect(said(room.notices)).toEqual(['+49301234567 joined']);
    expect(phone.notices).toEqual([]);
    expect(alice.notices[0]!.participant).toMatchObject({
      id: room.session.id,
      origin: 'sip',
      description: 'Room system · SIP over TLS 1.3 · SRTP AES_CM_128_HMAC_SHA1_80',
      encrypted: true,
    });
    expect(alice.notices[1]!.participant).toMatchObject({ origin: 'pstn', description: 'Phone · not encrypted', encrypted: false });
    for (const p of [alice, room, phone]) expect(names(p.roster())).toEqual(['Alice', 'Room 4.2', '+49301234567']);
    expect(fabric.participants('BOARD-ROOM')).toBe(3);

    alice.session.setMediaState({ audioMuted: true, videoMuted: false });
    expect(phone.roster().find((e) => e.name === 'Alice')).toMatchObject({ audioMuted: true, videoMuted: false });

    room.session.leave();
    expect(said(alice.notices)).toEqual(['Room 4.2 joined', '+49301234567 joined', 'Room 4.2 left']);
    expect(said(phone.notices)).toEqual(['Room 4.2 left']);
    expect(said(room.notices)).toEqual(['+49301234567 joined']);
    expect(names(alice.roster())).toEqual(['Alice', '+49301234567']);
    expect(names(phone.roster())).toEqual(['Alice', '+49301234567']);
    expect(fabric.participants('board-room')).toBe(2);
    expect(room.ended).toEqual([]);
  });

  it("forwards every other participant's published tracks to a browser, each on a track of its own with that track's SSRC and payload types", () => {
    const { fabric } = fabricWith();
    const early = new FakeForwardedReception();
    const carol = join(fabric, 'Carol', 'browser', early);
    const room = join(fabric, 'Room', 'room-system', { mode: 'mix' });
    const roomAudio = new FakePublishedTrack('audio', [PCMU]);
    const roomVideo = new FakePublishedTrack('video', [h264(97, 1)]);
    room.session.publish(roomAudio);
    room.session.publish(roomVideo);
    // Bob arrives after the room system published; Carol was there before.
    const late = new FakeForwardedReception();
    const bob = join(fabric, 'Bob', 'browser', late);
    const bobAudio = new FakePublishedTrack('audio', BROWSER_ACCEPTS.audio);
    bob.session.publish(bobAudio);

    for (const reception of [early, late]) {
      expect(reception.from(room, 'audio')).toBeDefined();
      expect(reception.from(room, 'video')).toBeDefined();
    }
    expect(late.from(bob, 'audio'), 'nobody gets their own track back').toBeUndefined();
    expect(early.from(bob, 'audio')).toBeDefined();

    const tone = Buffer.from(Array.from({ length: 160 }, (_, i) => (i * 37) & 0xff));
    roomAudio.deliver(rtp({ ssrc: 0xdead0001, sequence: 1000, timestamp: 8000, payloadType: 0, marker: true, payload: tone }));
    roomVideo.deliver(rtp({ ssrc: 0xdead0002, sequence: 2000, timestamp: 90000, payloadType: 97, marker: true, payload: [NAL_IDR, 1, 2, 3] }));
    roomVideo.deliver(rtp({ ssrc: 0xdead0002, sequence: 2001, timestamp: 93000, payloadType: 97, marker: false, payload: [NAL_NON_IDR, 4, 5] }));

    for (const reception of [early, late]) {
      const audio = reception.from(room, 'audio')!;
      const video = reception.from(room, 'video')!;
      expect(audio.headers()).toMatchObject([{ ssrc: audio.ssrc, payloadType: 0, marker: true }]);
      expect(audio.received[0]!.subarray(12)).toEqual(tone);
      expect(video.headers()).toMatchObject([
        { ssrc: video.ssrc, payloadType: 102, marker: true },
        { ssrc: video.ssrc, payloadType: 102, marker: false },
      ]);
      expect(seqStep(video.headers())).toEqual([1]);
      expect(tsStep(video.headers())).toEqual([3000]);
      expect([...video.received[0]!.subarray(12)]).toEqual([NAL_IDR, 1, 2, 3]);
    }
    expect(early.from(room, 'audio')!.ssrc).not.toBe(late.from(room, 'audio')!.ssrc);

    // A browser's opus at 111 reaches the other browser at its 111.
    bobAudio.deliver(rtp({ ssrc: 0xb0b, sequence: 1, timestamp: 0, payloadType: 111, payload: [0xfc, 0xff, 0xfe] }));
    expect(early.from(bob, 'audio')!.headers()).toMatchObject([{ payloadType: 111 }]);
    expect(carol.notices.map((n) => n.participant.name)).toEqual(['Room', 'Bob']);
  });

  it('forwards H.264 in packetization mode 1 only to receivers that take mode 1, and mode 0 to any H.264 receiver', () => {
    const { fabric } = fabricWith();
    const modeZeroOnly = new FakeForwardedReception({ audio: [PCMU], video: [h264(103, 0)] });
    const modeOneOnly = new FakeForwardedReception({ audio: [PCMU], video: [h264(102, 1)] });
    const both = new FakeForwardedReception({ audio: [PCMU], video: [h264(102, 1), h264(103, 0)] });
    const vp8Only = new FakeForwardedReception({ audio: [PCMU], video: [VP8] });
    for (const [i, reception] of [modeZeroOnly, modeOneOnly, both, vp8Only].entries()) join(fabric, `Browser ${i}`, 'browser', reception);

    const modern = join(fabric, 'Modern room', 'room-system', { mode: 'mix' });
    const modernVideo = new FakePublishedTrack('video', [h264(97, 1)]);
    modern.session.publish(modernVideo);
    const legacy = join(fabric, 'Legacy room', 'room-system', { mode: 'mix' });
    // No packetization-mode parameter means mode 0 (RFC 6184 §8.1).
    const legacyVideo = new FakePublishedTrack('video', [h264(99, undefined)]);
    legacy.session.publish(legacyVideo);
    const g729 = new FakePublishedTrack('audio', [G729]);
    legacy.session.publish(g729);

    modernVideo.deliver(videoPacket(0x1111, 97, 0, 100, 'M', NAL_IDR));
    legacyVideo.deliver(videoPacket(0x2222, 99, 0, 200, 'L', NAL_IDR));
    g729.deliver(rtp({ ssrc: 0x3333, sequence: 1, timestamp: 0, payloadType: 18, payload: Buffer.alloc(20) }));

    const payloadTypes = (reception: FakeForwardedReception, from: Participant) => reception.from(from, 'video')?.headers().map((h) => h.payloadType) ?? [];
    expect(payloadTypes(modeZeroOnly, modern)).toEqual([]);
    expect(payloadTypes(modeOneOnly, modern)).toEqual([102]);
    expect(payloadTypes(both, modern)).toEqual([102]);
    expect(payloadTypes(vp8Only, modern)).toEqual([]);

    expect(payloadTypes(modeZeroOnly, legacy)).toEqual([103]);
    expect(payloadTypes(modeOneOnly, legacy)).toEqual([102]);
    expect(payloadTypes(both, legacy), 'the exact mode is preferred').toEqual([103]);
    expect(payloadTypes(vp8Only, legacy)).toEqual([]);

    for (const reception of [modeZeroOnly, modeOneOnly, both, vp8Only]) expect(reception.from(legacy, 'audio')?.received ?? []).toEqual([]);
  });

  it('passes keyframe requests back to the sender, merged to one per 300 ms however many receivers ask', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const { fabric, metrics } = fabricWith();
    const room = join(fabric, 'Room', 'room-system', { mode: 'mix' });
    const video = new FakePublishedTrack('video', [h264(97, 1)]);
    room.session.publish(video);
    const bob = new FakeForwardedReception();
    const carol = new FakeForwardedReception();
    join(fabric, 'Bob', 'browser', bob);
    join(fabric, 'Carol', 'browser', carol);
    // Each new receiver needs a keyframe to start decoding: both arrived at once, one request.
    expect(video.keyframeRequests).toBe(1);

    vi.advanceTimersByTime(300);
    bob.from(room, 'video')!.askForKeyframe();
    carol.from(room, 'video')!.askForKeyframe();
    expect(video.keyframeRequests).toBe(2);
    vi.advanceTimersByTime(299);
    bob.from(room, 'video')!.askForKeyframe();
    expect(video.keyframeRequests).toBe(2);
    vi.advanceTimersByTime(1);
    carol.from(room, 'video')!.askForKeyframe();
    expect(video.keyframeRequests).toBe(3);

    vi.advanceTimersByTime(1000);
    const dave = new FakeForwardedReception();
    join(fabric, 'Dave', 'browser', dave);
    expect(video.keyframeRequests).toBe(4);
    return expect(metric(metrics, 'sipgw_keyframe_requests_total')).resolves.toBe(4);
  });

  it("maps a receiver's NACK back to the sequence numbers the sender used, also after the sender restarted its stream", () => {
    const { fabric } = fabricWith();
    const room = join(fabric, 'Room', 'room-system', { mode: 'mix' });
    const video = new FakePublishedTrack('video', [h264(97, 1)]);
    const audio = new FakePublishedTrack('audio', [PCMU], { canRetransmit: false });
    room.session.publish(video);
    room.session.publish(audio);
    const bob = new FakeForwardedReception();
    join(fabric, 'Bob', 'browser', bob);
    const out = bob.from(room, 'video')!;

    for (let i = 0; i < 5; i++) video.deliver(videoPacket(0x1234, 97, i, 30000, 'R'));
    const first = out.headers().map((h) => h.sequenceNumber);
    out.nack([first[1]!, first[3]!]);
    expect(video.retransmissionRequests).toEqual([[30001, 30003]]);

    // The room system restarts its encoder: new SSRC, new numbering; Bob's stream just goes on.
    for (let i = 0; i < 3; i++) video.deliver(videoPacket(0x9876, 97, i, 7, 'R'));
    const all = out.headers();
    expect(new Set(all.map((h) => h.ssrc))).toEqual(new Set([out.ssrc]));
    expect(seqStep(all)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    out.nack([all[6]!.sequenceNumber, all[7]!.sequenceNumber]);
    expect(video.retransmissionRequests).toEqual([
      [30001, 30003],
      [8, 9],
    ]);

    // A sender that cannot resend: the NACK goes nowhere, and nothing breaks.
    audio.deliver(rtp({ ssrc: 5, sequence: 10, timestamp: 0, payloadType: 0, payload: Buffer.alloc(160, 0xff) }));
    expect(() => bob.from(room, 'audio')!.nack([10])).not.toThrow();
  });

  it("closes the tracks that carried a participant who leaves, and those that carried others to them, and sends nothing more", () => {
    const { fabric } = fabricWith();
    const room = join(fabric, 'Room', 'room-system', { mode: 'mix' });
    const roomAudio = new FakePublishedTrack('audio', [PCMU]);
    const roomVideo = new FakePublishedTrack('video', [h264(97, 1)]);
    room.session.publish(roomAudio);
    room.session.publish(roomVideo);
    const bobReception = new FakeForwardedReception();
    const carolReception = new FakeForwardedReception();
    const bob = join(fabric, 'Bob', 'browser', bobReception);
    const carol = join(fabric, 'Carol', 'browser', carolReception);
    const carolAudio = new FakePublishedTrack('audio', BROWSER_ACCEPTS.audio);
    carol.session.publish(carolAudio);
    const fromRoom = [bobReception.from(room, 'audio')!, bobReception.from(room, 'video')!, carolReception.from(room, 'audio')!];
    const toBobFromCarol = bobReception.from(carol, 'audio')!;

    room.session.leave();
    for (const track of fromRoom) expect(track.closed).toBe(true);
    expect(toBobFromCarol.closed).toBe(false);
    roomAudio.deliver(rtp({ ssrc: 1, sequence: 1, timestamp: 0, payloadType: 0, payload: Buffer.alloc(160) }));
    roomVideo.deliver(videoPacket(2, 97, 0, 1, 'R', NAL_IDR));
    for (const track of fromRoom) expect(track.received.length + track.sentAfterClose).toBe(0);

    bob.session.leave();
    expect(toBobFromCarol.closed).toBe(true);
    carolAudio.deliver(rtp({ ssrc: 3, sequence: 1, timestamp: 0, payloadType: 111, payload: [0xfc] }));
    expect(toBobFromCarol.received.length + toBobFromCarol.sentAfterClose).toBe(0);
    expect(said(carol.notices)).toEqual(['Room left', 'Bob left']);
  });

  it('ends every session when the meeting is deleted, and then takes no one in, by browser or by call', async () => {
    const { fabric, directory, metrics } = fabricWith([MEETING, { id: 'other', policy: 'warn' }]);

    const aliceReception = new FakeForwardedReception();
    const alice = join(fabric, 'Alice', 'browser', aliceReception);
    const roomOut = new FakeOutgoingTrack('audio', [PCMU]);
    const room = join(fabric, 'Room', 'room-system', { mode: 'mix', audio: roomOut });
    const roomAudio = new FakePublishedTrack('audio', [PCMU]);
    room.session.publish(roomAudio);
    const phone = join(fabric, 'Phone', 'phone', { mode: 'mix' });
    const elsewhere = join(fabric, 'Elsewhere', 'browser', new FakeForwardedReception(), 'other');
    expect(fabric.participants('board-room')).toBe(3);
    expect(await metric(metrics, 'sipgw_meetings_active')).toBe(2);

    expect(directory.delete('BOARD-ROOM')).toBe(true);
    for (const p of [alice, room, phone]) expect(p.ended).toEqual(['meeting-deleted']);
    expect(elsewhere.ended).toEqual([]);
    expect(roomOut.closed).toBe(true);
    expect(aliceReception.from(room, 'audio')!.closed).toBe(true);
    expect(fabric.participants('board-room')).toBe(0);
    expect(fabric.participants('other')).toBe(1);
    expect(await metric(metrics, 'sipgw_meetings_active')).toBe(1);
    expect(await metric(metrics, 'sipgw_meeting_participants')).toBe(1);

    expect(fabric.join('board-room', { name: 'Late', kind: 'browser', label: BROWSER, reception: new FakeForwardedReception() })).toEqual({ ok: false, reason: 'not-found' });
    // Leaving afterwards is harmless and ends nothing twice.
    alice.session.leave();
    expect(alice.ended).toEqual(['meeting-deleted']);
    expect(said(elsewhere.notices)).toEqual([]);
  });
});

describe('the mix a room system or phone receives (real time, about 2 s)', () => {
  let mike: FakeOutgoingTrack;
  let nina: FakeOutgoingTrack;
  let elapsedMs = 0;

  beforeAll(async () => {
    const { fabric } = fabricWith();
    // Sam, a browser, sends 1 kHz; Mike, a room system, sends 440 Hz and gets the mix back; Nina, a phone on
    // PCMA, only listens.
    const sam = join(fabric, 'Sam', 'browser', new FakeForwardedReception());
    const samAudio = new FakePublishedTrack('audio', [PCMU]);
    sam.session.publish(samAudio);
    nina = new FakeOutgoingTrack('audio', [PCMA]);
    join(fabric, 'Nina', 'phone', { mode: 'mix', audio: nina });
    mike = new FakeOutgoingTrack('audio', [PCMU]);
    const joinedAt = performance.now();
    const mikeAudio = new FakePublishedTrack('audio', [PCMU]);
    join(fabric, 'Mike', 'room-system', { mode: 'mix', audio: mike }).session.publish(mikeAudio);

    const samTone = new ToneSource(samAudio, 1000, 0.3);
    const mikeTone = new ToneSource(mikeAudio, 440, 0.3);
    await everyFrame(90, () => {
      samTone.sendFrame();
      mikeTone.sendFrame();
    });
    elapsedMs = performance.now() - joinedAt;
    leaveAll();
  });

  it('sends one PCMU packet per 20 ms on the receiver’s own SSRC, numbered without gaps', () => {
    const headers = mike.headers();
    const expected = elapsedMs / 20;
    expect(headers.length).toBeGreaterThan(expected * 0.8);
    expect(headers.length).toBeLessThan(expected * 1.2 + 2);
    expect(new Set(headers.map((h) => `${h.ssrc}/${h.payloadType}`))).toEqual(new Set([`${mike.ssrc}/0`]));
    expect(new Set(seqStep(headers))).toEqual(new Set([1]));
    expect(new Set(tsStep(headers))).toEqual(new Set([160]));
    expect(headers.map((h) => h.marker).indexOf(true)).toBe(0);
    expect(headers.filter((h) => h.marker)).toHaveLength(1);
    expect(mike.received.every((packet) => packet.length === 12 + 160)).toBe(true);
  });

  it('carries the others’ 1 kHz tone, and never the receiver’s own 440 Hz', () => {
    // The join chimes (660 and 880 Hz, 240 ms each) come first: judge the audio after them.
    const samples = decode(mike).subarray(8000 * 0.6);
    expect(samples.length).toBeGreaterThan(8000 * 0.8);
    const tone = dominantToneCheck(samples, 8000, 1000, { probeHz: [300, 440, 600, 880, 1500] });
    expect(tone.dominantWindows).toBeGreaterThanOrEqual(Math.floor(tone.windows.length * 0.8));
    expect(goertzelPower(samples, 8000, 440)).toBeLessThan(goertzelPower(samples, 8000, 1000) / 1000);
  });

  it('gives a listener who sends nothing everyone, in its own codec (PCMA)', () => {
    expect(new Set(nina.headers().map((h) => h.payloadType))).toEqual(new Set([8]));
    const samples = decode(nina).subarray(8000 * 0.6);
    const at440 = goertzelPower(samples, 8000, 440);
    const at1000 = goertzelPower(samples, 8000, 1000);
    // Two tones of the same amplitude: each about half of what the two carry.
    expect(at440).toBeGreaterThan(at1000 / 3);
    expect(at1000).toBeGreaterThan(at440 / 3);
    expect(at440).toBeGreaterThan(goertzelPower(samples, 8000, 700) * 100);
  });
});

describe("the speaker video a room system receives (real time, about 2 s)", () => {
  let rita: FakeOutgoingTrack;
  let annVideo: FakePublishedTrack;
  let benVideo: FakePublishedTrack;
  let metrics: Metrics;
  let benAskedAtFrame = -1;
  let benKeyframeAt = -1;
  let annKeyframeRequestsBeforeSwitch = 0;

  beforeAll(async () => {
    const setup = fabricWith();
    metrics = setup.metrics;
    // Rita's room system takes H.264 at payload type 126; Ann and Ben send it at 97.
    rita = new FakeOutgoingTrack('video', [h264(126, 1)]);
    join(setup.fabric, 'Rita', 'room-system', { mode: 'mix', audio: new FakeOutgoingTrack('audio', [PCMU]), video: rita });
    const ann = join(setup.fabric, 'Ann', 'room-system', { mode: 'mix' });
    const ben = join(setup.fabric, 'Ben', 'room-system', { mode: 'mix' });
    const annAudio = new FakePublishedTrack('audio', [PCMU]);
    const benAudio = new FakePublishedTrack('audio', [PCMU]);
    annVideo = new FakePublishedTrack('video', [h264(97, 1)]);
    benVideo = new FakePublishedTrack('video', [h264(97, 1)]);
    for (const [p, tracks] of [[ann, [annAudio, annVideo]], [ben, [benAudio, benVideo]]] as const) for (const t of tracks) p.session.publish(t);

    // Ann murmurs, Ben talks.
    const annTone = new ToneSource(annAudio, 300, 0.01);
    const benTone = new ToneSource(benAudio, 500, 0.3);
    await everyFrame(200, (i) => {
      annTone.sendFrame();
      benTone.sendFrame();
      // Ann's first frames are no keyframe; her IDR comes at frame 3.
      annVideo.deliver(videoPacket(0xa0a0, 97, i, 1000, 'A', i === 3 ? NAL_IDR : NAL_NON_IDR));
      const benAsked = benVideo.keyframeRequests > 0;
      if (benAsked && benAskedAtFrame < 0) {
        benAskedAtFrame = i;
        annKeyframeRequestsBeforeSwitch = annVideo.keyframeRequests;
      }
      // Ben's encoder takes five frames to answer the request with an IDR.
      const idr = benAsked && i === benAskedAtFrame + 5;
      if (idr) benKeyframeAt = i;
      benVideo.deliver(videoPacket(0xb0b0, 97, i, 50000, 'B', idr ? NAL_IDR : NAL_NON_IDR));
      return benKeyframeAt >= 0 && i >= benKeyframeAt + 10;
    });
  });

  afterAll(leaveAll);

  it("shows the first participant with video from that participant's first keyframe on", () => {
    expect(annKeyframeRequestsBeforeSwitch).toBe(1);
    const first = rita.received[0]!;
    expect(sender(first)).toBe('A');
    expect(nal(first)).toBe(NAL_IDR);
  });

  it('switches to the participant who speaks, asking them for a keyframe and switching only on it', () => {
    expect(benAskedAtFrame, 'Ben was asked for a keyframe').toBeGreaterThan(0);
    expect(benVideo.keyframeRequests).toBe(1);
    const senders = rita.received.map(sender).join('');
    // Ann's video, then Ben's from his IDR on; nothing of Ben before it, nothing of Ann after.
    expect(senders).toMatch(/^A+B+$/);
    const firstOfBen = rita.received.find((p) => sender(p) === 'B')!;
    expect(nal(firstOfBen)).toBe(NAL_IDR);
    expect(firstOfBen[14]).toBe(benKeyframeAt & 0xff);
    // Ann's video kept coming while Ben's keyframe was awaited: no frozen picture.
    const annAfterAsk = rita.received.filter((p) => sender(p) === 'A' && (p[14] ?? 0) > benAskedAtFrame);
    expect(annAfterAsk.length).toBeGreaterThanOrEqual(4);
  });

  it('sends one continuous stream: its own SSRC, its own payload type, sequence numbers without gaps', () => {
    const headers = rita.headers();
    expect(new Set(headers.map((h) => `${h.ssrc}/${h.payloadType}`))).toEqual(new Set([`${rita.ssrc}/126`]));
    expect(new Set(seqStep(headers))).toEqual(new Set([1]));
    for (const step of tsStep(headers)) expect(step).toBeLessThan(0x80000000);
  });

  it("sends the receiver's keyframe requests to the participant it shows", async () => {
    await new Promise((resolve) => setTimeout(resolve, 350));
    const annBefore = annVideo.keyframeRequests;
    rita.askForKeyframe();
    expect(benVideo.keyframeRequests).toBe(2);
    expect(annVideo.keyframeRequests).toBe(annBefore);
  });

  it('counts the video it forwards', async () => {
    expect(await metric(metrics, 'sipgw_media_packets_forwarded_total', { kind: 'video' })).toBe(rita.received.length);
  });
});
