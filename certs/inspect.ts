import { createHash, X509Certificate } from 'node:crypto';
import { CertificateError } from './certificate-error.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

/** Every certificate in a PEM bundle, in file order, each as its own PEM block. */
export function splitPemCertificates(text: string): string[] {
  return [...text.matchAll(PEM_CERTIFICATE)].map((m) => `${m[0].replace(/\r\n/g, '\n')}\n`);
}

function firstCertificateDer(certPem: string): Buffer {
  const match = new RegExp(PEM_CERTIFICATE.source).exec(certPem);
  if (!match) throw new CertificateError('no PEM certificate found');
  return Buffer.from((match[1] as string).replace(/\s+/g, ''), 'base64');
}

/** SHA-256 over the DER certificate, as colon-separated uppercase hex (the SDP `a=fingerprint` form). */
export function fingerprintSha256(certPem: string): string {
  const hex = createHash('sha256').update(firstCertificateDer(certPem)).digest('hex').toUpperCase();
  return hex.match(/../g)?.join(':') ?? '';
}

export function parseCertificate(certPem: string, file?: string): X509Certificate {
  try {
    return new X509Certificate(firstCertificateDer(certPem));
  } catch {
    throw new CertificateError('not a valid PEM certificate', file);
  }
}

export function certificateExpiry(certPem: string): Date {
  return new Date(parseCertificate(certPem).validTo);
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** Subject alternative names by kind, as the certificate lists them. */
  sans: { dns: string[]; ip: string[] };
  notBefore: Date;
  notAfter: Date;
  fingerprintSha256: string;
}

export function certificateInfo(certPem: string): CertificateInfo {
  const x509 = parseCertificate(certPem);
  const sans = { dns: [] as string[], ip: [] as string[] };
  for (const entry of (x509.subjectAltName ?? '').split(/,\s*/)) {
    if (entry.startsWith('DNS:')) sans.dns.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) sans.ip.push(entry.slice(11));
  }
  return {
    subject: x509.subject.replace(/\n/g, ', '),
    issuer: x509.issuer.replace(/\n/g, ', '),
    sans,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    fingerprintSha256: fingerprintSha256(certPem),
  };
}
