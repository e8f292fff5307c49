import path from 'node:path';
import { CertificateError } from './certificate-error.js';
import { loadCertificateSet, type CertificateSet } from './certificate-set.js';
import { generateDevCertificates } from './dev-certificates.js';

const USAGE = `usage: sipgw certs dev [--dir D] [--host H]...
       sipgw certs check --cert F --key K [--chain C]`;

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

const consoleOutput: CliOutput = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
};

class UsageError extends Error {}

/** Parses `--name value` / `--name=value` pairs; `repeatable` names may occur more than once. */
function parseFlags(args: string[], allowed: string[], repeatable: string[] = []): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!name.startsWith('--') || !allowed.includes(name.slice(2))) throw new UsageError(`unknown argument "${name}"`);
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '' || (eq === -1 && value.startsWith('--'))) {
      throw new UsageError(`${name} needs a value`);
    }
    const values = flags.get(name.slice(2)) ?? [];
    if (values.length > 0 && !repeatable.includes(name.slice(2))) throw new UsageError(`${name} given twice`);
    flags.set(name.slice(2), [...values, value]);
  }
  return flags;
}

function describeSet(set: CertificateSet, io: CliOutput): void {
  const { info } = set;
  const names = [...info.sans.dns.map((n) => `DNS:${n}`), ...info.sans.ip.map((n) => `IP:${n}`)];
  const days = Math.floor((info.notAfter.getTime() - Date.now()) / (24 * 60 * 60 * 1000));
  io.out(`subject:     ${info.subject}`);
  io.out(`issuer:      ${info.issuer}`);
  io.out(`names:       ${names.length > 0 ? names.join(', ') : '(none)'}`);
  io.out(`fingerprint: sha-256 ${info.fingerprintSha256}`);
  io.out(`expires:     ${info.notAfter.toISOString()} (in ${days} days)`);
}

async function dev(args: string[], io: CliOutput): Promise<number> {
  const flags = parseFlags(args, ['dir', 'host'], ['host']);
  const dir = path.resolve(flags.get('dir')?.[0] ?? 'certs/dev');
  const set = await generateDevCertificates(dir, flags.get('host') ?? []);
  io.out(`CA certificate:     ${set.files.ca} (import into room systems and browsers to trust the gateway)`);
  io.out(`CA key:             ${set.files.caKey}`);
  io.out(`server certificate: ${set.files.cert}`);
  io.out(`server key:         ${set.files.key}`);
  describeSet(set, io);
  return 0;
}

async function check(args: string[], io: CliOutput): Promise<number> {
  const flags = parseFlags(args, ['cert', 'key', 'chain']);
  const cert = flags.get('cert')?.[0];
  const key = flags.get('key')?.[0];
  if (cert === undefined || key === undefined) throw new UsageError('check needs --cert and --key');
  const chain = flags.get('chain')?.[0];
  const set = await loadCertificateSet({
    cert: path.resolve(cert),
    key: path.resolve(key),
    ...(chain === undefined ? {} : { chain: path.resolve(chain) }),
  });
  describeSet(set, io);
  io.out(`chain:       ${set.chain.length} certificate(s) after the server certificate, in issuing order`);
  io.out('ok: key matches, certificates valid, chain in order');
  return 0;
}

/** `sipgw certs dev|check ...`; returns the process exit code (0 ok, 1 bad certificate, 2 usage). */
export async function certsCli(args: string[], io: CliOutput = consoleOutput): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === 'dev') return await dev(rest, io);
    if (command === 'check') return await check(rest, io);
    throw new UsageError(command === undefined ? 'missing command' : `unknown command "${command}"`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`sipgw certs: ${err.message}`);
      io.err(USAGE);
      return 2;
    }
    if (err instanceof CertificateError) {
      io.err(`sipgw certs ${command}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
