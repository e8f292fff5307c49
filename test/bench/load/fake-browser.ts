import { randomBytes, randomInt } from 'node:crypto';
import { Audio, PeerConnection, type Track } from 'node-datachannel';
import WebSocket, { type RawData } from 'ws';

const OPUS_PAYLOAD_TYPE = 111;
const OPUS_FMTP = 'minptime=10;useinbandfec=1';
const SAMPLES_PER_FRAME = 960;
/** A packet that arrives more than this after it was sent counts as lost: a jitter buffer would drop it. */
export const LATE_MS = 50;
/** A send time further back than this belongs to an earlier turn of the 16-bit sequence. */
const MAX_DELAY_MS = 10_000;

interface OfferMessage {
  sdp: string;
  uplink: { audio: string; video: string };
  downlink: { mid: string; participantId: string; kind: string }[];
}

export interface StreamSummary {
  /** Packets the sequence numbers say were sent in the window, first to last received. */
  readonly expected: number;
  readonly received: number;
  readonly late: number;
  /** Packets whose send time was not found (the gateway renumbered them): no delay for them. */
  readonly unmatched: number;
  /** Send-to-receive delay of each matched packet, ms. */
  readonly delays: readonly number[];
}

/** One downlink stream's packets within a measuring window: sequence gaps and delays. */
class StreamCounter {
  private received = 0;
  private first = -1;
  private highest = 0;
  private late = 0;
  private unmatched = 0;
  private readonly delays: number[] = [];

  receive(sequence: number, delay: number): void {
    if (this.first < 0) this.first = this.highest = sequence;
    // Sequence numbers extended past 16 bits, relative to the highest seen (reordering either way).
    const extended = this.highest + (((sequence - this.highest) << 16) >> 16);
    if (extended < this.first) return;
    if (extended > this.highest) this.highest = extended;
    this.received++;
    if (!(delay >= 0 && delay < MAX_DELAY_MS)) this.unmatched++;
    else {
      this.delays.push(delay);
      if (delay > LATE_MS) this.late++;
    }
  }

  summary(): StreamSummary {
    const expected = this.first < 0 ? 0 : this.highest - this.first + 1;
    return { expected, received: this.received, late: this.late, unmatched: this.unmatched, delays: this.delays };
  }
}

export interface FakeBrowserOptions {
  readonly url: string;
  readonly meetingId: string;
  readonly name: string;
  /** The fake browser that is this participant, to look up when it sent a packet. */
  readonly senderOf: (participantId: string) => FakeBrowser | undefined;
  /** Something went wrong that a real browser would show: an error message, a failed connection. */
  readonly onProblem: (problem: string) => void;
  /** Changes each answer before it is sent (a test's forged answer). */
  readonly rewriteAnswer?: (sdp: string) => string;
}

/**
 * One synthetic browser: a node-datachannel PeerConnection answering the gateway's offers over the
 * real WebSocket signalling, sending Opus on its audio uplink when told to (send()), and counting
 * what arrives on each audio downlink. It never sends video; the video m-lines are answered as they come.
 */
export class FakeBrowser {
  private readonly pc: PeerConnection;
  private readonly ws: WebSocket;
  private readonly ssrc = randomBytes(4).readUInt32BE(0);
  private sequence = randomInt(0x10000);
  private timestamp = randomBytes(4).readUInt32BE(0);
  private uplink: Track | undefined;
  private uplinkMid: string | undefined;
  // Held so the Track wrappers, and the callbacks set on them, live as long as the connection.
  private readonly tracks: Track[] = [];
  /** Which participant each audio downlink carries, as the latest offer said. */
  private readonly holders = new Map<string, string>();
  private counters = new Map<string, StreamCounter>();
  /** When each sequence number last left, on the clock every fake browser here shares. */
  private readonly sendTimes = new Float64Array(0x10000);
  private answerPending = false;
  private closing = false;
  private broken = false;
  private marker = true;
  /** This participant's ID, once the gateway said 'joined'. */
  id: string | undefined;
  readonly joined: Promise<void>;

  constructor(private readonly options: FakeBrowserOptions) {
    this.pc = new PeerConnection(options.name, { iceServers: [], bindAddress: '127.0.0.1' });
    this.pc.onTrack((track) => this.receiveOn(track));
    // The first answer waits for every candidate, as the web client does (no trickle ICE).
    this.pc.onGatheringStateChange((state) => {
      if (state === 'complete' && this.answerPending) this.answer();
    });
    this.pc.onStateChange((state) => {
      if (this.closing || (state !== 'failed' && state !== 'closed')) return;
      this.broken = true;
      options.onProblem(`peer connection ${state}`);
    });
    this.ws = new WebSocket(options.url);
    this.joined = new Promise((resolve, reject) => {
      this.ws.on('open', () => this.ws.send(JSON.stringify({ type: 'join', meetingId: options.meetingId, name: options.name })));
      this.ws.on('message', (data) => {
        const message = this.receive(data);
        if (message.type === 'joined') resolve();
        if (message.type === 'error') reject(new Error(`${options.name}: ${String(message.code)}: ${String(message.message)}`));
      });
      this.ws.on('close', (code, reason) => {
        reject(new Error(`${options.name}: signalling closed ${code} ${reason.toString()}`));
        if (this.closing) return;
        this.broken = true;
        options.onProblem(`signalling closed ${code} ${reason.toString()}`);
      });
      this.ws.on('error', (err) => options.onProblem(`signalling: ${err.message}`));
    });
  }

  /** The media connection or the signalling failed: this browser is out of the meeting. */
  get failed(): boolean {
    return this.broken;
  }

  /** One 20 ms frame on the audio uplink, once it is open. */
  send(payload: Buffer): void {
    if (!this.uplink?.isOpen()) return;
    const packet = Buffer.allocUnsafe(12 + payload.length);
    packet[0] = 0x80;
    packet[1] = (this.marker ? 0x80 : 0) | OPUS_PAYLOAD_TYPE;
    packet.writeUInt16BE(this.sequence, 2);
    packet.writeUInt32BE(this.timestamp, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    payload.copy(packet, 12);
    this.sendTimes[this.sequence] = performance.now();
    this.uplink.sendMessageBinary(packet);
    this.marker = false;
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + SAMPLES_PER_FRAME) >>> 0;
  }

  /** When this browser sent the packet with this sequence number; 0 if it never did. */
  sentAt(sequence: number): number {
    return this.sendTimes[sequence]!;
  }

  /** Forgets what was counted: a new measuring window starts now. */
  startWindow(): void {
    this.counters = new Map();
  }

  /** Each audio downlink stream that delivered anything since startWindow(). */
  streams(): StreamSummary[] {
    return [...this.counters.values()].map((counter) => counter.summary());
  }

  close(): void {
    this.closing = true;
    this.ws.close(1000);
    this.pc.close();
  }

  private receive(data: RawData): Record<string, unknown> {
    const message = JSON.parse(data.toString()) as Record<string, unknown>;
    switch (message.type) {
      case 'joined':
        this.id = (message.self as { id?: string } | undefined)?.id;
        break;
      case 'offer':
        this.offered(message as unknown as OfferMessage);
        break;
      case 'error':
        this.options.onProblem(`gateway error ${String(message.code)}: ${String(message.message)}`);
        break;
    }
    return message;
  }

  private offered(offer: OfferMessage): void {
    for (const { mid, participantId, kind } of offer.downlink) if (kind === 'audio') this.holders.set(mid, participantId);
    if (!this.uplink) {
      // An m-line libdatachannel answers by itself carries no a=ssrc, and the gateway's libdatachannel
      // routes incoming RTP by SSRC: a local sendonly track for the uplink mid puts ours in the answer.
      this.uplinkMid = offer.uplink.audio;
      const audio = new Audio(this.uplinkMid, 'SendOnly');
      audio.addOpusCodec(OPUS_PAYLOAD_TYPE, OPUS_FMTP);
      audio.addSSRC(this.ssrc, this.options.name, `stream-${this.options.name}`, `audio-${this.options.name}`);
      this.uplink = this.pc.addTrack(audio);
    }
    // With auto-negotiation libdatachannel makes the answer right here; it keeps the candidates
    // gathered for the first one in later ones.
    this.pc.setRemoteDescription(offer.sdp, 'offer');
    this.answerPending = true;
    if (this.pc.gatheringState() === 'complete') this.answer();
  }

  private answer(): void {
    const description = this.pc.localDescription();
    if (!description || this.closing) return;
    this.answerPending = false;
    const sdp = this.options.rewriteAnswer ? this.options.rewriteAnswer(description.sdp) : description.sdp;
    this.ws.send(JSON.stringify({ type: 'answer', sdp }));
  }

  private receiveOn(track: Track): void {
    this.tracks.push(track);
    const mid = track.mid();
    if (track.type() !== 'audio' || mid === this.uplinkMid) return;
    track.onMessage((packet) => {
      // RTCP (RFC 5761 muxing) shares the track; only RTP is counted.
      if (packet.length < 12 || (packet[1]! >= 192 && packet[1]! <= 223)) return;
      const at = performance.now();
      const sequence = packet.readUInt16BE(2);
      const holder = this.holders.get(mid);
      // The gateway keeps a forwarded sender's numbering (it renumbers only at a source switch,
      // which a browser's downlink never has), so the sequence number finds the send time.
      const sentAt = holder === undefined ? undefined : this.options.senderOf(holder)?.sentAt(sequence);
      let counter = this.counters.get(mid);
      if (!counter) this.counters.set(mid, (counter = new StreamCounter()));
      counter.receive(sequence, sentAt === undefined ? NaN : at - sentAt);
    });
  }
}
