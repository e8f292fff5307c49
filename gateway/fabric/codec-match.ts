import type { TrackCodec } from './types.js';

function fmtpParam(codec: TrackCodec, name: string): string | undefined {
  for (const part of (codec.fmtp ?? '').split(';')) {
    const [key, value] = part.split('=');
    if (key?.trim().toLowerCase() === name) return value?.trim().toLowerCase();
  }
  return undefined;
}

/**
 * The receiver's format for packets in `codec`, if it takes them as they are. H.264 must agree on
 * packetization-mode (RFC 6184 §8.1: a mode-0 receiver cannot take FU-A); the profile is not
 * compared, because every decoder here handles constrained baseline and room systems announce
 * what they send, not a limit of what they decode.
 */
export function matchCodec(codec: TrackCodec, accepted: readonly TrackCodec[]): TrackCodec | undefined {
  const name = codec.name.toLowerCase();
  return accepted.find((candidate) => {
    if (candidate.name.toLowerCase() !== name || candidate.clockRate !== codec.clockRate) return false;
    if (name !== 'h264') return true;
    return (fmtpParam(candidate, 'packetization-mode') ?? '0') === (fmtpParam(codec, 'packetization-mode') ?? '0');
  });
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
