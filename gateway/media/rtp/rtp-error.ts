/** A malformed RTP packet, or an RTP port range with nothing left to give. */
export class RtpError extends Error {
  override readonly name = 'RtpError';
}
