import { randomBytes } from 'node:crypto';
import { Audio, PeerConnection, RtcpReceivingSession, Video, type Track } from 'node-datachannel';
import type { ForwardedReception, MediaKind, OutgoingTrack, PublishedTrack, TrackCodec } from '../fabric/index.js';
import { isRtcp, parseReceptionReports, parseRtcpFeedback, peerReception, type StreamEvents } from '../media/index.js';
import { BROWSER_AUDIO_CODECS, BROWSER_UPLINK_VIDEO_CODECS, BROWSER_VIDEO_CODECS } from './codecs.js';

export interface OfferMessage {
  sdp: string;
  uplink: { audio: string; video: string };
  downlink: { mid: string; participantId: string; kind: MediaKind }[];
}

export interface BrowserPeerOptions {
  bindAddress: string;
  portRange?: { min: number; max: number };
  /** Called with every offer the server makes; the browser answers each with answer(). */
  sendOffer(offer: OfferMessage): void;
  /** The connection failed or closed on the transport side. */
  onFailed(): void;
  /**
   * RTP packets in (from a verified peer) and out, sized as RTP before SRTP (libdatachannel
   * protects them), and the browser's receiver reports on each downlink stream. Reports carry no
   * round trip: no sender reports go out on downlink tracks, so the browser has no LSR to echo.
   */
  events?: StreamEvents;
}

function describe(kind: MediaKind, mid: string, direction: 'RecvOnly' | 'SendOnly'): Audio | Video {
  if (kind === 'audio') {
    const audio = new Audio(mid, direction);
    for (const c of BROWSER_AUDIO_CODECS) {
      if (c.name === 'opus') audio.addOpusCodec(c.payloadType, c.fmtp);
      else audio.addAudioCodec(c.payloadType, `${c.name}/${c.clockRate}`);
    }
    return audio;
  }
  const video = new Video(mid, direction);
  for (const c of direction === 'RecvOnly' ? BROWSER_UPLINK_VIDEO_CODECS : BROWSER_VIDEO_CODECS) {
    if (c.name === 'H264') video.addH264Codec(c.payloadType, c.fmtp);
    else video.addVP8Codec(c.payloadType);
  }
  return video;
}

/**
 * Sends on a track unless it closed. The transport can close between the check and the send (the
 * browser went away); that costs the packet, never the caller, which is another participant's
 * receive path.
 */
function sendSafely(track: Track, send: () => void): void {
  if (!track.isOpen()) return;
  try {
    send();
  } catch {
    // Closed under us: nothing to deliver to.
  }
}

/**
 * The browser's own audio or video, received on an uplink track. libdatachannel sends RTCP on a
 * receive-only track only through a media handler, so its RTCP session sends our PLIs (and its
 * receiver reports); it has no way to send a NACK, so browsers' packets are not retransmitted.
 */
class UplinkTrack implements PublishedTrack {
  readonly codecs: readonly TrackCodec[];
  private readonly listeners: ((packet: Buffer) => void)[] = [];

  constructor(
    readonly kind: MediaKind,
    private readonly track: Track,
    /** Whether the peer's DTLS certificate is the one its answer named. */
    verified: () => boolean,
    events: StreamEvents,
  ) {
    this.codecs = kind === 'audio' ? BROWSER_AUDIO_CODECS : BROWSER_UPLINK_VIDEO_CODECS;
    track.setMediaHandler(new RtcpReceivingSession());
    track.onMessage((packet) => {
      // Sender reports on the uplink carry nothing a forwarder needs.
      if (!verified() || isRtcp(packet) || packet.length < 12) return;
      events.packetIn?.(packet.length);
      for (const listener of this.listeners) listener(packet);
    });
  }

  onRtp(listener: (packet: Buffer) => void): void {
    this.listeners.push(listener);
  }

  requestKeyframe(): void {
    sendSafely(this.track, () => this.track.requestKeyframe());
  }

  close(): void {
    this.listeners.length = 0;
  }
}

/** A sendonly track towards the browser, reused for another participant once its holder leaves. */
interface Slot {
  readonly mid: string;
  readonly kind: MediaKind;
  readonly ssrc: number;
  readonly track: Track;
  holder: string | undefined;
  /** Of the last packet sent: the browser's reports measure jitter in that codec's clock. */
  payloadType: number | undefined;
  keyframeListeners: (() => void)[];
  nackListeners: ((sequenceNumbers: number[]) => void)[];
}

/**
 * One browser's WebRTC connection (node-datachannel): two uplink tracks for its microphone and
 * camera, and a downlink track per other participant's audio and video. The server makes every
 * offer, renegotiating when downlink tracks come or go, so there is never glare.
 */
export class BrowserPeer implements ForwardedReception {
  readonly mode = 'forward';
  readonly audio: UplinkTrack;
  readonly video: UplinkTrack;
  private readonly pc: PeerConnection;
  private readonly slots: Slot[] = [];
  private readonly events: StreamEvents;
  private started = false;
  private awaitingAnswer = false;
  private offerWanted = false;
  private gathered = false;
  private closed = false;
  /** The certificate fingerprints the browser's answer names, as "<algorithm> <HEX:HEX…>". */
  private fingerprints: readonly string[] | undefined;
  private verified = false;

  constructor(private readonly options: BrowserPeerOptions) {
    this.events = options.events ?? {};
    this.pc = new PeerConnection('browser', {
      iceServers: [],
      bindAddress: options.bindAddress,
      // Offers are made here and only here: libdatachannel must not start one when a track is added.
      disableAutoNegotiation: true,
      // libdatachannel (0.24) can finish DTLS before it has stored the answer's fingerprint and then
      // refuses the browser's certificate ("unknown CA") on a busy machine. The check is done here
      // instead, on connecting, and no media passes before it succeeds.
      disableFingerprintVerification: true,
      ...(options.portRange ? { portRangeBegin: options.portRange.min, portRangeEnd: options.portRange.max } : {}),
    });
    const verified = () => this.verified;
    this.audio = new UplinkTrack('audio', this.pc.addTrack(describe('audio', 'a0', 'RecvOnly')), verified, this.events);
    this.video = new UplinkTrack('video', this.pc.addTrack(describe('video', 'v0', 'RecvOnly')), verified, this.events);
    this.pc.onStateChange((state) => {
      if (state === 'connected') this.verifyCertificate();
      if (state === 'failed' || state === 'closed') this.fail();
    });
    // The first offer waits for every candidate (no trickle ICE: one message each way).
    this.pc.onGatheringStateChange((state) => {
      if (state !== 'complete' || this.gathered) return;
      this.gathered = true;
      this.sendOffer();
    });
  }

  /** Makes the first offer; called once the tracks for participants already present are open. */
  start(): void {
    this.started = true;
    this.awaitingAnswer = true;
    this.pc.setLocalDescription('offer');
  }

  openTrack(from: { participantId: string; kind: MediaKind }): OutgoingTrack | undefined {
    if (this.closed) return undefined;
    const slot = this.slots.find((s) => s.kind === from.kind && s.holder === undefined) ?? this.addSlot(from.kind);
    slot.holder = from.participantId;
    slot.keyframeListeners = [];
    slot.nackListeners = [];
    this.negotiate();
    let open = true;
    const { events } = this;
    return {
      kind: slot.kind,
      ssrc: slot.ssrc,
      codecs: slot.kind === 'audio' ? BROWSER_AUDIO_CODECS : BROWSER_VIDEO_CODECS,
      send: (packet) => {
        if (!open || !this.verified) return;
        slot.payloadType = packet[1]! & 0x7f;
        sendSafely(slot.track, () => {
          slot.track.sendMessageBinary(packet);
          events.packetOut?.(packet.length);
        });
      },
      onKeyframeRequest: (listener) => slot.keyframeListeners.push(listener),
      onNack: (listener) => slot.nackListeners.push(listener),
      close: () => {
        if (!open) return;
        open = false;
        slot.holder = undefined;
        slot.keyframeListeners = [];
        slot.nackListeners = [];
        this.negotiate();
      },
    };
  }

  /** The browser's answer to our latest offer. */
  answer(sdp: string): void {
    if (!this.awaitingAnswer || this.closed) throw new Error('no offer is waiting for an answer');
    const fingerprints = answerFingerprints(sdp);
    if (fingerprints.length === 0) throw new Error('the answer names no DTLS certificate fingerprint');
    // The browser keeps its certificate for the whole connection: a new one is not its answer.
    if (this.fingerprints && !fingerprints.every((f) => this.fingerprints!.includes(f))) {
      throw new Error('the answer names another DTLS certificate');
    }
    this.fingerprints = fingerprints;
    this.pc.setRemoteDescription(sdp, 'answer');
    this.awaitingAnswer = false;
    if (this.offerWanted) this.negotiate();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.audio.close();
    this.video.close();
    this.pc.close();
  }

  private addSlot(kind: MediaKind): Slot {
    const mid = `${kind[0]}${this.slots.filter((s) => s.kind === kind).length + 1}`;
    const ssrc = randomBytes(4).readUInt32BE(0);
    const description = describe(kind, mid, 'SendOnly');
    description.addSSRC(ssrc, 'sipgw', `stream-${mid}`, `track-${mid}`);
    const slot: Slot = {
      mid,
      kind,
      ssrc,
      track: this.pc.addTrack(description),
      holder: undefined,
      payloadType: undefined,
      keyframeListeners: [],
      nackListeners: [],
    };
    slot.track.onMessage((packet) => {
      if (!isRtcp(packet)) return;
      for (const feedback of parseRtcpFeedback(packet)) {
        if (feedback.mediaSsrc !== slot.ssrc) continue;
        if (feedback.type === 'nack') for (const listener of slot.nackListeners) listener(feedback.sequenceNumbers);
        else for (const listener of slot.keyframeListeners) listener();
      }
      if (this.verified) this.readReports(slot, packet);
    });
    this.slots.push(slot);
    return slot;
  }

  /**
   * The browser's report blocks about the slot's stream. The browser's own SRs and SDES for its
   * uplink arrive here too; their blocks, if any, are about other sources.
   */
  private readReports(slot: Slot, packet: Buffer): void {
    const { report } = this.events;
    if (!report) return;
    const codecs = slot.kind === 'audio' ? BROWSER_AUDIO_CODECS : BROWSER_VIDEO_CODECS;
    const clockRate = codecs.find((c) => c.payloadType === slot.payloadType)?.clockRate;
    // Nothing sent yet, so the report is not about anything of ours.
    if (clockRate === undefined) return;
    for (const { blocks } of parseReceptionReports(packet)) {
      for (const block of blocks) {
        if (block.ssrc === slot.ssrc) report(peerReception(block, clockRate));
      }
    }
  }

  private negotiate(): void {
    if (this.closed || !this.started) return;
    if (this.awaitingAnswer) {
      this.offerWanted = true;
      return;
    }
    this.offerWanted = false;
    this.awaitingAnswer = true;
    this.pc.setLocalDescription('offer');
    this.sendOffer();
  }

  private sendOffer(): void {
    const description = this.pc.localDescription();
    if (!description || this.closed) return;
    this.options.sendOffer({
      sdp: description.sdp,
      uplink: { audio: 'a0', video: 'v0' },
      downlink: this.slots.flatMap((s) => (s.holder ? [{ mid: s.mid, participantId: s.holder, kind: s.kind }] : [])),
    });
  }

  private verifyCertificate(): void {
    if (this.verified) return;
    const { algorithm, value } = this.pc.remoteFingerprint();
    if (this.fingerprints?.includes(`${algorithm.toLowerCase()} ${value.toUpperCase()}`)) this.verified = true;
    else this.fail();
  }

  private fail(): void {
    if (this.closed) return;
    this.options.onFailed();
  }
}

/** The `a=fingerprint` lines of an SDP (RFC 8122), normalised for comparison. */
function answerFingerprints(sdp: string): string[] {
  return [...sdp.matchAll(/^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/gm)].map(([, algorithm, value]) => `${algorithm!.toLowerCase()} ${value!.toUpperCase()}`);
}
