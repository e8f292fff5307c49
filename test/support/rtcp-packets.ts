/** One RTCP packet: header (V=2, count or format, type, length in words − 1) and `body` (whole words). */
export function rtcp(type: number, countOrFormat: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt8(0x80 | countOrFormat, 0);
  header.writeUInt8(type, 1);
  header.writeUInt16BE(body.length / 4, 2);
  return Buffer.concat([header, body]);
}

/** 32-bit big-endian words, as RTCP bodies are laid out. */
export function words(...values: number[]): Buffer {
  const body = Buffer.alloc(4 * values.length);
  values.forEach((value, i) => body.writeUInt32BE(value >>> 0, 4 * i));
  return body;
}
