// Driver for sslscan 2.0 (a TLS audit of a listening port), parsed from its XML report.
// Debian's sslscan is linked to the system OpenSSL 3, which has no SSLv2/SSLv3: "false" for those means "this
// client cannot tell", not proof that the server refuses them. TLS 1.0 and 1.1 are detected (checked against an
// `openssl s_server -tls1`).
import { execFile } from 'node:child_process';

export type TlsProtocol = 'SSLv2' | 'SSLv3' | 'TLSv1.0' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface SslscanCipher {
  /** e.g. `TLSv1.2` (sslscan writes TLS 1.0 as `TLSv1.0`). */
  readonly protocol: string;
  /** OpenSSL's name, e.g. `ECDHE-RSA-AES128-GCM-SHA256` or `TLS_AES_128_GCM_SHA256`. */
  readonly name: string;
  readonly bits: number;
  /** `preferred` for the server's first choice within a protocol version. */
  readonly status: string;
}

export interface SslscanReport {
  readonly protocols: Readonly<Record<TlsProtocol, boolean>>;
  readonly ciphers: readonly SslscanCipher[];
  readonly xml: string;
}

function attributes(tag: string): Record<string, string> {
  return Object.fromEntries([...tag.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1] ?? '', match[2] ?? '']));
}

export function parseSslscanXml(xml: string): SslscanReport {
  const protocols: Record<TlsProtocol, boolean> = {
    SSLv2: false,
    SSLv3: false,
    'TLSv1.0': false,
    'TLSv1.1': false,
    'TLSv1.2': false,
    'TLSv1.3': false,
  };
  for (const [tag] of xml.matchAll(/<protocol\s[^>]*>/g)) {
    const { type, version, enabled } = attributes(tag);
    const name = `${type === 'ssl' ? 'SSL' : 'TLS'}v${version}`;
    if (name in protocols) protocols[name as TlsProtocol] = enabled === '1';
  }
  const ciphers = [...xml.matchAll(/<cipher\s[^>]*>/g)].map(([tag]): SslscanCipher => {
    const { sslversion, cipher, bits, status } = attributes(tag);
    return { protocol: sslversion ?? '', name: cipher ?? '', bits: Number(bits), status: status ?? '' };
  });
  return { protocols, ciphers, xml };
}

/** Scans `host:port` (sslscan's own limit plus a hard kill after `timeoutMs`). */
export function runSslscan(target: string, timeoutMs = 60_000): Promise<SslscanReport> {
  return new Promise((resolve, reject) => {
    execFile(
      'sslscan',
      ['--no-colour', '--xml=-', target],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 8 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`sslscan ${target} failed: ${error.message}\n${stderr}`));
        else if (!stdout.includes('<ssltest')) reject(new Error(`sslscan ${target} produced no report:\n${stdout}${stderr}`));
        else resolve(parseSslscanXml(stdout));
      },
    );
  });
}
