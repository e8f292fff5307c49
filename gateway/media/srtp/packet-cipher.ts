/**
 * One suite's packet transform under one set of session keys (RTP or RTCP). It knows the
 * packet layout and cryptography only; indices, replay and per-SSRC state belong to the context.
 * open* return undefined when authentication fails, having touched nothing.
 */
export interface PacketCipher {
  readonly tagLength: number;
  /** AEAD (RFC 7714) puts the SRTCP tag before the E-bit/index word; RFC 3711 puts it after. */
  readonly tagBeforeSrtcpIndex: boolean;
  sealRtp(rtp: Buffer, headerLength: number, ssrc: number, index: number): Buffer;
  openRtp(srtp: Buffer, headerLength: number, ssrc: number, index: number): Buffer | undefined;
  /** Always encrypts (E = 1). */
  sealRtcp(rtcp: Buffer, ssrc: number, srtcpIndex: number): Buffer;
  openRtcp(srtcp: Buffer, ssrc: number, srtcpIndex: number, encrypted: boolean): Buffer | undefined;
}

/** Fixed RTCP header the SRTCP transforms never encrypt (RFC 3711 §3.4). */
export const RTCP_HEADER_LENGTH = 8;
/** The E flag and 31-bit SRTCP index. */
export const SRTCP_INDEX_LENGTH = 4;
export const SRTCP_E_FLAG = 0x80000000;
