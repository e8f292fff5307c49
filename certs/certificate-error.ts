/** A certificate or key that cannot be used; the message names the file and the problem, never key material. */
export class CertificateError extends Error {
  override readonly name = 'CertificateError';
  readonly file: string | undefined;

  constructor(message: string, file?: string) {
    super(file === undefined ? message : `${file}: ${message}`);
    this.file = file;
  }
}
