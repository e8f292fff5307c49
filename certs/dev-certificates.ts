import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { loadCertificateSet, type CertificateSet } from './certificate-set.js';
import { certificateInfo } from './inspect.js';
import { issueCertificate, type IssuedCertificate } from './issue.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Dev certificates this close to expiry are replaced on start. */
const RENEW_BEFORE_MS = 30 * DAY_MS;
const ALWAYS_NAMED = ['localhost', '127.0.0.1'];

export interface DevCertificateOptions {
  /** Start of validity for the server certificate; defaults to now. */
  notBefore?: Date;
  /** Server certificate lifetime; defaults to 365 days. */
  validityDays?: number;
}

function devFiles(dir: string): { cert: string; key: string; ca: string; caKey: string } {
  return {
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'),
    ca: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca.key'),
  };
}

function uniqueNames(hostNames: string[]): string[] {
  return [...new Set([...ALWAYS_NAMED, ...hostNames.map((h) => h.trim()).filter((h) => h !== '')])];
}

async function writeSecret(file: string, pem: string): Promise<void> {
  await writeFile(file, pem, { mode: 0o600 });
  await chmod(file, 0o600); // writeFile's mode only applies when it creates the file
}

async function issueServer(
  dir: string,
  ca: IssuedCertificate,
  hostNames: string[],
  options: DevCertificateOptions,
): Promise<CertificateSet> {
  const names = uniqueNames(hostNames);
  const server = await issueCertificate({
    commonName: names.find((n) => isIP(n) === 0 && n !== 'localhost') ?? 'localhost',
    hostNames: names,
    issuer: ca,
    ...options,
  });
  const files = devFiles(dir);
  await writeFile(files.cert, server.cert);
  await writeSecret(files.key, server.key);
  return { cert: server.cert, key: server.key, chain: [], ca: ca.cert, files, info: certificateInfo(server.cert) };
}

async function newCa(dir: string): Promise<IssuedCertificate> {
  const ca = await issueCertificate({ commonName: 'sipgw development CA', isCa: true, validityDays: 5 * 365 });
  const files = devFiles(dir);
  await mkdir(dir, { recursive: true });
  await writeFile(files.ca, ca.cert);
  await writeSecret(files.caKey, ca.key);
  return ca;
}

/**
 * Writes a fresh development CA (`ca.pem`, `ca.key`) and a server certificate it signed
 * (`server.pem`, `server.key`) for localhost, 127.0.0.1 and `hostNames`. Keys are mode 0600.
 */
export async function generateDevCertificates(
  dir: string,
  hostNames: string[],
  options: DevCertificateOptions = {},
): Promise<CertificateSet> {
  return issueServer(dir, await newCa(dir), hostNames, options);
}

/** The existing CA when it is readable, consistent and not about to expire; peers that trust it keep working. */
async function reusableCa(dir: string, now: Date): Promise<IssuedCertificate | undefined> {
  const files = devFiles(dir);
  try {
    const set = await loadCertificateSet({ cert: files.ca, key: files.caKey }, now);
    return set.info.notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS ? { cert: set.cert, key: set.key } : undefined;
  } catch {
    return undefined;
  }
}

async function usableServer(dir: string, hostNames: string[], now: Date): Promise<CertificateSet | undefined> {
  const files = devFiles(dir);
  let set: CertificateSet;
  let caPem: string;
  try {
    set = await loadCertificateSet({ cert: files.cert, key: files.key }, now);
    caPem = await readFile(files.ca, 'utf8');
  } catch {
    return undefined;
  }
  const server = new X509Certificate(set.cert);
  const ca = new X509Certificate(caPem);
  const coversAll = uniqueNames(hostNames).every((name) =>
    isIP(name) === 0 ? server.checkHost(name, { subject: 'never' }) !== undefined : server.checkIP(name) !== undefined,
  );
  const fresh = set.info.notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS;
  const issuedByCa = server.checkIssued(ca) && server.verify(ca.publicKey);
  return coversAll && fresh && issuedByCa ? { ...set, ca: caPem, files } : undefined;
}

/**
 * Returns the dev certificates in `dir`, creating them when missing and re-issuing the server
 * certificate when it lacks a requested name, expires within 30 days or no longer fits its key or CA.
 */
export async function ensureDevCertificates(dir: string, hostNames: string[]): Promise<CertificateSet> {
  const now = new Date();
  const existing = await usableServer(dir, hostNames, now);
  if (existing) return existing;
  const ca = (await reusableCa(dir, now)) ?? (await newCa(dir));
  return issueServer(dir, ca, hostNames, {});
}
