// Self-signed certificates made with the openssl CLI, for peers that test each other (no gateway, no dev CA).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertificateFiles {
  readonly keyPath: string;
  readonly certPath: string;
  /** Key then certificate in one PEM, as baresip's sip_certificate and socat's cert= want. */
  readonly combinedPath: string;
}

/** An EC P-256 self-signed certificate for `commonName`, valid for 127.0.0.1 and localhost, written into `dir`. */
export function makeSelfSignedCertificate(dir: string, commonName: string): CertificateFiles {
  const keyPath = join(dir, `${commonName}.key.pem`);
  const certPath = join(dir, `${commonName}.cert.pem`);
  const combinedPath = join(dir, `${commonName}.combined.pem`);
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', `/CN=${commonName}`,
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'pipe', timeout: 10_000 },
  );
  writeFileSync(combinedPath, readFileSync(keyPath, 'utf8') + readFileSync(certPath, 'utf8'));
  return { keyPath, certPath, combinedPath };
}
