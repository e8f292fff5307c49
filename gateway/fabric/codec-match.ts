import type { TrackCodec } from './types.js';

function fmtpParam(codec: TrackCodec, name: string): string | undefined {
  for (const part of (codec.fmtp ?? '').split(';')) {
    const [key, value] = part.split('=');
    if (key?.trim().toLowerCase() === name) return value?.trim().toLowerCase();
  }
  return undefined;
}

/**
 * The receiver's format for packets in `codec`, if it takes them as they are. For H.264 a mode-0
 * receiver takes only mode-0 packets (no STAP-A or FU-A), while a mode-1 receiver also takes
 * mode 0's single NAL units (RFC 6184 §6.2–6.3); an exact match is preferred. The profile is not
 * compared: every decoder here handles constrained baseline, and room systems announce what they
 * send, not a limit of what they decode.
 */
export function matchCodec(codec: TrackCodec, accepted: readonly TrackCodec[]): TrackCodec | undefined {
  const name = codec.name.toLowerCase();
  const sameCodec = accepted.filter((c) => c.name.toLowerCase() === name && c.clockRate === codec.clockRate);
  if (name !== 'h264') return sameCodec[0];
  const mode = (c: TrackCodec) => fmtpParam(c, 'packetization-mode') ?? '0';
  return sameCodec.find((c) => mode(c) === mode(codec)) ?? (mode(codec) === '0' ? sameCodec.find((c) => mode(c) === '1') : undefined);
}

/** Maps payload types of one sender's track onto one receiver's, computed once per type seen. */
export class PayloadTypeMap {
  private readonly known = new Map<number, number | null>();

  constructor(
    private readonly sent: readonly TrackCodec[],
    private readonly accepted: readonly TrackCodec[],
  ) {}

  /** The receiver's payload type for a packet sent with `payloadType`, or null if it cannot take it. */
  map(payloadType: number): number | null {
    let mapped = this.known.get(payloadType);
    if (mapped === undefined) {
      const codec = this.sent.find((c) => c.payloadType === payloadType);
      mapped = (codec && matchCodec(codec, this.accepted)?.payloadType) ?? null;
      this.known.set(payloadType, mapped);
    }
    return mapped;
  }
}
