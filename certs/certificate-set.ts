import { createPrivateKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CertificateError } from './certificate-error.js';
import { certificateInfo, parseCertificate, splitPemCertificates, type CertificateInfo } from './inspect.js';

/** What a TLS listener needs, checked to fit together. */
export interface CertificateSet {
  /** The server (leaf) certificate, PEM. */
  cert: string;
  /** Its private key, PEM. */
  key: string;
  /** Intermediates to send after the leaf, the leaf's issuer first. */
  chain: string[];
  /** CA certificate clients should trust: set for the generated dev CA. */
  ca?: string;
  files: { cert: string; key: string; chain?: string; ca?: string; caKey?: string };
  info: CertificateInfo;
}

export interface CertificateFiles {
  cert: string;
  key: string;
  chain?: string;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CertificateError(`cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, file);
  }
}

function readKey(pem: string, file: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    // Node's own message may echo parts of the input: give a fixed one.
    throw new CertificateError('not a readable unencrypted PEM private key', file);
  }
}

function checkValidity(x509: X509Certificate, label: string, file: string, now: Date): void {
  const notBefore = new Date(x509.validFrom);
  const notAfter = new Date(x509.validTo);
  if (notAfter <= now) throw new CertificateError(`${label} expired on ${notAfter.toISOString()}`, file);
  if (notBefore > now) throw new CertificateError(`${label} is not valid before ${notBefore.toISOString()}`, file);
}

/**
 * Reads PEM files and checks that they fit: the key belongs to the certificate, every certificate is
 * within its validity period, and each certificate is issued by the next one in the chain.
 * A cert file holding several certificates (fullchain.pem) counts its extra ones as the chain's start.
 */
export async function loadCertificateSet(files: CertificateFiles, now = new Date()): Promise<CertificateSet> {
  const certText = await readText(files.cert);
  const keyText = await readText(files.key);
  const chainText = files.chain === undefined ? '' : await readText(files.chain);

  const certPems = splitPemCertificates(certText);
  const [leafPem, ...bundled] = certPems;
  if (leafPem === undefined) throw new CertificateError('no PEM certificate found', files.cert);
  const chainPems = splitPemCertificates(chainText);
  if (files.chain !== undefined && chainPems.length === 0) {
    throw new CertificateError('no PEM certificate found', files.chain);
  }

  // Each entry remembers its file and position so errors can point at it.
  const certs = [
    ...certPems.map((pem, i) => ({ pem, file: files.cert, label: i === 0 ? 'certificate' : `certificate ${i + 1}` })),
    ...chainPems.map((pem, i) => ({ pem, file: files.chain as string, label: `chain certificate ${i + 1}` })),
  ].map((entry) => ({ ...entry, x509: parseCertificate(entry.pem, entry.file) }));

  const leaf = certs[0] as (typeof certs)[number];
  const key = readKey(keyText, files.key);
  if (key.asymmetricKeyType !== leaf.x509.publicKey.asymmetricKeyType || !leaf.x509.checkPrivateKey(key)) {
    throw new CertificateError(`private key does not match the certificate in ${files.cert}`, files.key);
  }

  for (const { x509, label, file } of certs) checkValidity(x509, label, file, now);

  for (let i = 0; i + 1 < certs.length; i++) {
    const subject = certs[i] as (typeof certs)[number];
    const issuer = certs[i + 1] as (typeof certs)[number];
    if (!subject.x509.checkIssued(issuer.x509) || !subject.x509.verify(issuer.x509.publicKey)) {
      throw new CertificateError(
        `${issuer.label} did not issue ${subject.label} (${subject.file}); ` +
          `order must be server certificate, then its issuer, then that issuer's issuer`,
        issuer.file,
      );
    }
  }

  return {
    cert: leafPem,
    key: keyText,
    chain: [...bundled, ...chainPems],
    files: { cert: files.cert, key: files.key, ...(files.chain === undefined ? {} : { chain: files.chain }) },
    info: certificateInfo(leafPem),
  };
}
