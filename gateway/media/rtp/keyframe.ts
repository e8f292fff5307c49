/**
 * Whether an RTP payload starts a keyframe, so a switched stream can change source where the
 * receiver's decoder can start: H.264 IDR or SPS (RFC 6184, single NAL, STAP-A or the first FU-A
 * fragment), VP8 key frame (RFC 7741 §4.3 and RFC 6386 §9.1).
 */
export function startsKeyframe(codecName: string, payload: Buffer): boolean {
  switch (codecName.toLowerCase()) {
    case 'h264':
      return h264StartsKeyframe(payload);
    case 'vp8':
      return vp8StartsKeyframe(payload);
    default:
      return false;
  }
}

const IDR = 5;
const SPS = 7;
const STAP_A = 24;
const FU_A = 28;

function isKeyNal(type: number): boolean {
  return type === IDR || type === SPS;
}

function h264StartsKeyframe(payload: Buffer): boolean {
  if (payload.length < 2) return false;
  const type = payload[0]! & 0x1f;
  if (type === FU_A) return (payload[1]! & 0x80) !== 0 && isKeyNal(payload[1]! & 0x1f);
  if (type !== STAP_A) return isKeyNal(type);
  for (let at = 1; at + 3 <= payload.length; ) {
    const size = payload.readUInt16BE(at);
    if (isKeyNal(payload[at + 2]! & 0x1f)) return true;
    at += 2 + size;
  }
  return false;
}

function vp8StartsKeyframe(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const descriptor = payload[0]!;
  // Only the first packet of partition 0 (S=1, PID=0) carries the frame header.
  if ((descriptor & 0x10) === 0 || (descriptor & 0x07) !== 0) return false;
  let at = 1;
  if (descriptor & 0x80) {
    const extension = payload[at++] ?? 0;
    if (extension & 0x80) at += (payload[at] ?? 0) & 0x80 ? 2 : 1;
    if (extension & 0x40) at += 1;
    if (extension & 0x30) at += 1;
  }
  return at < payload.length && (payload[at]! & 0x01) === 0;
}
