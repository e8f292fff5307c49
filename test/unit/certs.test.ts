import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateError,
  certificateExpiry,
  certificateInfo,
  certsCli,
  ensureDevCertificates,
  fingerprintSha256,
  generateDevCertificates,
  issueCertificate,
  loadCertificateSet,
  type CertificateSet,
} from '../../certs/index.js';

const DAY_MS = 24 * 60 * 60 * 1000;

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipgw-certs-'));
  tempDirs.push(dir);
  return dir;
}

function writeFiles(files: Record<string, string>): Record<string, string> {
  const dir = tempDir();
  return Object.fromEntries(
    Object.entries(files).map(([name, text]) => {
      writeFileSync(path.join(dir, name), text);
      return [name, path.join(dir, name)];
    }),
  );
}

async function certificateError(promise: Promise<unknown>): Promise<CertificateError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CertificateError) return err;
    throw err;
  }
  throw new Error('expected a CertificateError');
}

/** Completes a TLS handshake against a server using `set`, returning the error text or 'ok'. */
async function handshake(set: CertificateSet, options: tls.ConnectionOptions): Promise<string> {
  const server = tls.createServer({ cert: set.cert, key: set.key, minVersion: 'TLSv1.2' }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<string>((resolve) => {
      const socket = tls.connect({ port, ca: set.ca, checkServerIdentity: tls.checkServerIdentity, ...options }, () => {
        socket.end();
        resolve('ok');
      });
      socket.on('error', (err) => resolve(err.message));
    });
  } finally {
    server.close();
  }
}

describe('generateDevCertificates', () => {
  let dir: string;
  let set: CertificateSet;

  beforeAll(async () => {
    dir = tempDir();
    set = await generateDevCertificates(dir, ['gw.example.test', '192.0.2.10', '::1']);
  });

  it('writes the CA and server files, keys readable only by the owner', () => {
    expect(set.files).toEqual({
      cert: path.join(dir, 'server.pem'),
      key: path.join(dir, 'server.key'),
      ca: path.join(dir, 'ca.pem'),
      caKey: path.join(dir, 'ca.key'),
    });
    expect(readFileSync(set.files.cert, 'utf8')).toBe(set.cert);
    expect(readFileSync(set.files.ca as string, 'utf8')).toBe(set.ca);
    expect(statSync(set.files.key).mode & 0o777).toBe(0o600);
    expect(statSync(set.files.caKey as string).mode & 0o777).toBe(0o600);
  });

  it('names localhost, 127.0.0.1 and the requested hosts, for server and client auth, valid for a year', () => {
    const info = certificateInfo(set.cert);
    expect(info.sans.dns).toEqual(['localhost', 'gw.example.test']);
    expect(info.sans.ip).toEqual(expect.arrayContaining(['127.0.0.1', '192.0.2.10']));
    expect(info.sans.ip).toHaveLength(3);
    const x509 = new X509Certificate(set.cert);
    expect(x509.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    expect(x509.ca).toBe(false);
    expect(new X509Certificate(set.ca as string).ca).toBe(true);
    const days = (certificateExpiry(set.cert).getTime() - Date.now()) / DAY_MS;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThanOrEqual(365);
  });

  it.each([
    ['localhost', { host: '127.0.0.1', servername: 'localhost' }],
    ['127.0.0.1', { host: '127.0.0.1' }],
    ['a requested DNS name', { host: '127.0.0.1', servername: 'gw.example.test' }],
  ])('serves TLS that a client trusting the CA accepts for %s', async (_name, options) => {
    expect(await handshake(set, options)).toBe('ok');
  });

  it('is rejected for a name it was not issued for', async () => {
    expect(await handshake(set, { host: '127.0.0.1', servername: 'other.example.test' })).toMatch(
      /does not match certificate's altnames/,
    );
  });

  it('gives the same fingerprint node:crypto computes', () => {
    expect(fingerprintSha256(set.cert)).toBe(new X509Certificate(set.cert).fingerprint256);
    expect(set.info.fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('loads back through loadCertificateSet with the CA as chain', async () => {
    const loaded = await loadCertificateSet({ cert: set.files.cert, key: set.files.key, chain: set.files.ca as string });
    expect(loaded.info).toEqual(set.info);
    expect(loaded.chain).toEqual([set.ca]);
  });

  it('rejects a host name that is neither DNS name nor IP address', async () => {
    expect((await certificateError(generateDevCertificates(tempDir(), ['bad host']))).message).toBe(
      '"bad host" is neither a DNS name nor an IP address',
    );
  });
});

describe('ensureDevCertificates', () => {
  it('creates missing certificates, then keeps them while they fit', async () => {
    const dir = tempDir();
    const first = await ensureDevCertificates(dir, ['gw.example.test']);
    const again = await ensureDevCertificates(dir, ['gw.example.test']);
    expect(again.info.fingerprintSha256).toBe(first.info.fingerprintSha256);
    expect(again.ca).toBe(first.ca);
  });

  it('re-issues the server certificate from the same CA when a name is missing', async () => {
    const dir = tempDir();
    const first = await ensureDevCertificates(dir, []);
    const widened = await ensureDevCertificates(dir, ['sip.example.test']);
    expect(widened.info.fingerprintSha256).not.toBe(first.info.fingerprintSha256);
    expect(widened.info.sans.dns).toContain('sip.example.test');
    expect(widened.ca).toBe(first.ca);
  });

  it('re-issues a server certificate that expires within 30 days', async () => {
    const dir = tempDir();
    const old = await generateDevCertificates(dir, [], { notBefore: new Date(Date.now() - 350 * DAY_MS) });
    const renewed = await ensureDevCertificates(dir, []);
    expect(renewed.info.fingerprintSha256).not.toBe(old.info.fingerprintSha256);
    expect(renewed.info.notAfter.getTime() - Date.now()).toBeGreaterThan(300 * DAY_MS);
    expect(readFileSync(path.join(dir, 'server.pem'), 'utf8')).toBe(renewed.cert);
  });
});

describe('loadCertificateSet', () => {
  let root: Awaited<ReturnType<typeof issueCertificate>>;
  let intermediate: Awaited<ReturnType<typeof issueCertificate>>;
  let server: Awaited<ReturnType<typeof issueCertificate>>;

  beforeAll(async () => {
    root = await issueCertificate({ commonName: 'Test Root', isCa: true });
    intermediate = await issueCertificate({ commonName: 'Test Intermediate', isCa: true, issuer: root });
    server = await issueCertificate({ commonName: 'gw', hostNames: ['gw.example.test'], issuer: intermediate });
  });

  it('accepts intermediates in issuing order, from a chain file or a full-chain cert file', async () => {
    const files = writeFiles({
      'server.pem': server.cert,
      'server.key': server.key,
      'chain.pem': intermediate.cert + root.cert,
      'fullchain.pem': server.cert + intermediate.cert,
    });
    const set = await loadCertificateSet({ cert: files['server.pem']!, key: files['server.key']!, chain: files['chain.pem'] });
    expect(set.chain.map((pem) => certificateInfo(pem).subject)).toEqual(['CN=Test Intermediate, O=sipgw', 'CN=Test Root, O=sipgw']);
    const full = await loadCertificateSet({ cert: files['fullchain.pem']!, key: files['server.key']! });
    expect(full.cert).toBe(server.cert);
    expect(full.chain).toEqual([intermediate.cert]);
  });

  it('rejects a chain in the wrong order, naming the file', async () => {
    const files = writeFiles({ 'server.pem': server.cert, 'server.key': server.key, 'chain.pem': root.cert + intermediate.cert });
    const err = await certificateError(
      loadCertificateSet({ cert: files['server.pem']!, key: files['server.key']!, chain: files['chain.pem'] }),
    );
    expect(err.file).toBe(files['chain.pem']);
    expect(err.message).toContain(`${files['chain.pem']}: chain certificate 1 did not issue certificate`);
  });

  it('rejects a key that does not belong to the certificate, without showing key material', async () => {
    const files = writeFiles({ 'server.pem': server.cert, 'other.key': intermediate.key });
    const err = await certificateError(loadCertificateSet({ cert: files['server.pem']!, key: files['other.key']! }));
    expect(err.message).toBe(`${files['other.key']}: private key does not match the certificate in ${files['server.pem']}`);
    const keyBody = intermediate.key.split('\n')[1] as string;
    expect(err.message).not.toContain(keyBody);
  });

  it('rejects an expired certificate and one not yet valid', async () => {
    const expired = await issueCertificate({
      commonName: 'old',
      issuer: root,
      notBefore: new Date(Date.now() - 30 * DAY_MS),
      validityDays: 10,
    });
    const future = await issueCertificate({ commonName: 'new', notBefore: new Date(Date.now() + 2 * DAY_MS) });
    const files = writeFiles({
      'expired.pem': expired.cert,
      'expired.key': expired.key,
      'future.pem': future.cert,
      'future.key': future.key,
    });
    const expiredErr = await certificateError(loadCertificateSet({ cert: files['expired.pem']!, key: files['expired.key']! }));
    expect(expiredErr.message).toMatch(new RegExp(`^${files['expired.pem']}: certificate expired on \\d{4}-`));
    const futureErr = await certificateError(loadCertificateSet({ cert: files['future.pem']!, key: files['future.key']! }));
    expect(futureErr.message).toMatch(/: certificate is not valid before \d{4}-/);
  });

  it('rejects missing files and files that are not PEM, naming them', async () => {
    const files = writeFiles({ 'junk.pem': 'hello', 'server.key': server.key, 'junk.key': 'not a key' });
    expect((await certificateError(loadCertificateSet({ cert: '/nonexistent/a.pem', key: files['server.key']! }))).message).toBe(
      '/nonexistent/a.pem: cannot read (ENOENT)',
    );
    expect((await certificateError(loadCertificateSet({ cert: files['junk.pem']!, key: files['server.key']! }))).message).toBe(
      `${files['junk.pem']}: no PEM certificate found`,
    );
    const certFiles = writeFiles({ 'server.pem': server.cert });
    expect((await certificateError(loadCertificateSet({ cert: certFiles['server.pem']!, key: files['junk.key']! }))).message).toBe(
      `${files['junk.key']}: not a readable unencrypted PEM private key`,
    );
  });
});

describe('certsCli', () => {
  function capture(): { out: string[]; err: string[]; io: { out(l: string): void; err(l: string): void } } {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l) => void out.push(l), err: (l) => void err.push(l) } };
  }

  it('dev generates certificates and prints their paths and fingerprint', async () => {
    const dir = tempDir();
    const { out, io } = capture();
    expect(await certsCli(['dev', '--dir', dir, '--host', 'gw.example.test', '--host=10.1.2.3'], io)).toBe(0);
    const fingerprint = fingerprintSha256(readFileSync(path.join(dir, 'server.pem'), 'utf8'));
    expect(out.join('\n')).toContain(path.join(dir, 'ca.pem'));
    expect(out.join('\n')).toContain(`fingerprint: sha-256 ${fingerprint}`);
    expect(out.join('\n')).toContain('DNS:gw.example.test');
    expect(out.join('\n')).toContain('IP:10.1.2.3');
  });

  it('check prints subject, names, fingerprint and expiry of a good set', async () => {
    const dir = tempDir();
    const set = await generateDevCertificates(dir, []);
    const { out, io } = capture();
    expect(await certsCli(['check', '--cert', set.files.cert, '--key', set.files.key, '--chain', set.files.ca as string], io)).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('subject:     CN=localhost, O=sipgw');
    expect(text).toContain('names:       DNS:localhost, IP:127.0.0.1');
    expect(text).toContain(`fingerprint: sha-256 ${set.info.fingerprintSha256}`);
    expect(text).toContain(`expires:     ${set.info.notAfter.toISOString()}`);
  });

  it('check exits 1 with one error line for a bad set, 2 for bad usage', async () => {
    const a = await generateDevCertificates(tempDir(), []);
    const b = await generateDevCertificates(tempDir(), []);
    const bad = capture();
    expect(await certsCli(['check', '--cert', a.files.cert, '--key', b.files.key], bad.io)).toBe(1);
    expect(bad.err).toEqual([
      `sipgw certs check: ${b.files.key}: private key does not match the certificate in ${a.files.cert}`,
    ]);
    const usage = capture();
    expect(await certsCli(['check', '--cert', a.files.cert], usage.io)).toBe(2);
    expect(usage.err[0]).toBe('sipgw certs: check needs --cert and --key');
    expect(await certsCli(['renew'], capture().io)).toBe(2);
  });
});
