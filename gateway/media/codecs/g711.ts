/**
 * G.711 µ-law (PCMU) and A-law (PCMA), ITU-T G.711. Both directions go through tables built once
 * at load: 64 Ki entries per law for encoding (one per int16 value) and 256 for decoding, so a
 * 20 ms frame is 160 array look-ups either way.
 */

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

function mulawFromLinear(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  const magnitude = Math.min(sample < 0 ? -sample : sample, MULAW_CLIP) + MULAW_BIAS;
  // Segment = position of the highest set bit above bit 7 (magnitude is at least 0x84).
  const exponent = 31 - Math.clz32(magnitude) - 7;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function linearFromMulaw(code: number): number {
  const inverted = ~code & 0xff;
  const exponent = (inverted >> 4) & 0x07;
  const magnitude = ((((inverted & 0x0f) << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
  return inverted & 0x80 ? -magnitude : magnitude;
}

function alawFromLinear(sample: number): number {
  // One's complement for negatives keeps the decision intervals symmetric around zero.
  const magnitude = sample < 0 ? ~sample : sample;
  const mask = sample < 0 ? 0x55 : 0xd5;
  if (magnitude < 256) return ((magnitude >> 4) ^ mask) & 0xff;
  const exponent = 31 - Math.clz32(magnitude) - 7;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ((exponent << 4) | mantissa) ^ mask;
}

function linearFromAlaw(code: number): number {
  const value = code ^ 0x55;
  const exponent = (value >> 4) & 0x07;
  const step = (value & 0x0f) << 4;
  const magnitude = exponent === 0 ? step + 8 : (step + 264) << (exponent - 1);
  return value & 0x80 ? magnitude : -magnitude;
}

function encodeTable(encode: (sample: number) => number): Uint8Array {
  const table = new Uint8Array(65536);
  for (let index = 0; index < 65536; index++) table[index] = encode((index << 16) >> 16);
  return table;
}

function decodeTable(decode: (code: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let code = 0; code < 256; code++) table[code] = decode(code);
  return table;
}

const MULAW_ENCODE = encodeTable(mulawFromLinear);
const MULAW_DECODE = decodeTable(linearFromMulaw);
const ALAW_ENCODE = encodeTable(alawFromLinear);
const ALAW_DECODE = decodeTable(linearFromAlaw);

/** µ-law code of each int16 sample. */
export function mulawEncode(pcm: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = MULAW_ENCODE[pcm[i]! & 0xffff]!;
  return out;
}

export function mulawDecode(codes: Uint8Array): Int16Array {
  const out = new Int16Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = MULAW_DECODE[codes[i]!]!;
  return out;
}

/** A-law code of each int16 sample (even bits inverted, as transmitted). */
export function alawEncode(pcm: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = ALAW_ENCODE[pcm[i]! & 0xffff]!;
  return out;
}

export function alawDecode(codes: Uint8Array): Int16Array {
  const out = new Int16Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = ALAW_DECODE[codes[i]!]!;
  return out;
}
