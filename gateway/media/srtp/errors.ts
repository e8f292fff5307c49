export type SrtpErrorCode = 'auth' | 'replay' | 'malformed' | 'too-old';

/** A packet was refused; the context's state is as it was before the call. */
export class SrtpError extends Error {
  override readonly name = 'SrtpError';
  readonly code: SrtpErrorCode;

  constructor(code: SrtpErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
