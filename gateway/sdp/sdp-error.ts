/** An SDP body that cannot be used as an offer. The message never quotes key material. */
export class SdpError extends Error {
  override readonly name = 'SdpError';
}
