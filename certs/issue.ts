import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { CertificateError } from './certificate-error.js';

/** A certificate and its private key, both PEM. */
export interface IssuedCertificate {
  cert: string;
  key: string;
}

export interface IssueOptions {
  commonName: string;
  /** Subject alternative names: IP addresses become IP SANs, anything else a DNS SAN. */
  hostNames?: string[];
  /** The CA that signs (RSA, as issued here); omitted for a self-signed certificate. */
  issuer?: IssuedCertificate;
  /** A CA certificate (may sign others) instead of a TLS server/client certificate. */
  isCa?: boolean;
  /** Start of validity; defaults to five minutes ago so a peer's slightly slow clock accepts it. */
  notBefore?: Date;
  validityDays?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function generateRsaKeyPair(): Promise<forge.pki.rsa.KeyPair> {
  return new Promise((resolve, reject) => {
    // With a callback forge hands generation to node:crypto, which is native and fast.
    forge.pki.rsa.generateKeyPair({ bits: 2048 }, (err, keypair) => (err ? reject(err) : resolve(keypair)));
  });
}

function isHostName(name: string): boolean {
  return /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(name);
}

function subjectAltNames(hostNames: string[]): { type: number; value?: string; ip?: string }[] {
  return hostNames.map((name) => {
    if (isIP(name) !== 0) return { type: 7, ip: name };
    if (!isHostName(name)) throw new CertificateError(`"${name}" is neither a DNS name nor an IP address`);
    return { type: 2, value: name };
  });
}

/** Issues an RSA-2048 certificate with SHA-256: a CA, or a server+client certificate with SANs. */
export async function issueCertificate(options: IssueOptions): Promise<IssuedCertificate> {
  const altNames = subjectAltNames(options.hostNames ?? []);
  const keys = await generateRsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  // Positive, non-zero 128-bit serial (RFC 5280 §4.1.2.2).
  const serial = randomBytes(16);
  serial[0] = ((serial[0] as number) & 0x7f) | 0x01;
  cert.serialNumber = serial.toString('hex');

  const notBefore = options.notBefore ?? new Date(Date.now() - 5 * 60 * 1000);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = new Date(notBefore.getTime() + (options.validityDays ?? 365) * DAY_MS);

  const subject = [{ name: 'commonName', value: options.commonName }, { name: 'organizationName', value: 'sipgw' }];
  cert.setSubject(subject);

  let signingKey = keys.privateKey;
  const extensions: object[] = [{ name: 'subjectKeyIdentifier' }];
  if (options.issuer) {
    const issuerCert = forge.pki.certificateFromPem(options.issuer.cert);
    cert.setIssuer(issuerCert.subject.attributes);
    signingKey = forge.pki.privateKeyFromPem(options.issuer.key);
    extensions.push({
      name: 'authorityKeyIdentifier',
      keyIdentifier: issuerCert.generateSubjectKeyIdentifier().getBytes(),
    });
  } else {
    cert.setIssuer(subject);
  }

  if (options.isCa) {
    extensions.push(
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    );
  } else {
    extensions.push(
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    );
  }
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  cert.setExtensions(extensions);
  cert.sign(signingKey, forge.md.sha256.create());

  // forge writes CRLF; LF keeps PEMs byte-identical to what splitting a bundle yields.
  const lf = (pem: string): string => pem.replace(/\r\n/g, '\n');
  return { cert: lf(forge.pki.certificateToPem(cert)), key: lf(forge.pki.privateKeyToPem(keys.privateKey)) };
}
