/**
 * Writes salt XOR (SSRC · 2^48 XOR index) into the first salt.length bytes of iv, with the
 * SSRC at bytes 2..5 and the 48-bit index at bytes 6..11. With a 14-byte salt and bytes
 * 14..15 left zero that is RFC 3711 §4.1.1's AES-CM IV; with a 12-byte salt, RFC 7714 §8.1/§9.1's
 * GCM IV (the SRTP index is ROC·2^16 + SEQ, the SRTCP index fits in its low 32 bits).
 */
export function writePacketIv(iv: Buffer, salt: Buffer, ssrc: number, index: number): void {
  const offset = salt.length - 12;
  iv.fill(0, 0, offset + 2);
  iv.writeUInt32BE(ssrc, offset + 2);
  iv.writeUInt16BE(Math.floor(index / 0x100000000), offset + 6);
  iv.writeUInt32BE(index >>> 0, offset + 8);
  for (let i = 0; i < salt.length; i++) iv[i] = iv[i]! ^ salt[i]!;
}
