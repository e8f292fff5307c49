import { createHash } from 'node:crypto';

/** RFC 8760 / RFC 7616 algorithms, strongest first. */
export const DIGEST_ALGORITHMS = ['SHA-512-256', 'SHA-256', 'MD5'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

const NODE_HASH: Record<DigestAlgorithm, string> = { 'SHA-512-256': 'sha512-256', 'SHA-256': 'sha256', MD5: 'md5' };

export type DigestQop = 'auth' | 'auth-int';

/** An algorithm token as it appears on the wire: the base algorithm and whether it is a `-sess` variant. */
export interface ParsedAlgorithm {
  algorithm: DigestAlgorithm;
  session: boolean;
}

/** RFC 3261 §22.4: an absent algorithm means MD5. Undefined for anything we cannot compute. */
export function parseAlgorithm(token: string | undefined): ParsedAlgorithm | undefined {
  const upper = (token ?? 'MD5').toUpperCase();
  const session = upper.endsWith('-SESS');
  const base = session ? upper.slice(0, -5) : upper;
  const algorithm = DIGEST_ALGORITHMS.find((a) => a === base);
  return algorithm === undefined ? undefined : { algorithm, session };
}

function hash(algorithm: DigestAlgorithm, data: string | Buffer): string {
  return createHash(NODE_HASH[algorithm]).update(data).digest('hex');
}

export interface DigestInput {
  algorithm: ParsedAlgorithm;
  username: string;
  realm: string;
  password: string;
  method: string;
  uri: string;
  nonce: string;
  /** Absent for RFC 2069-style challenges without qop. */
  qop?: DigestQop;
  /** Eight hex digits. */
  nc?: string;
  cnonce?: string;
  /** The message body, for qop=auth-int. */
  body?: Buffer;
}

/** The `response` value (RFC 2617 §3.2.2, RFC 7616 §3.4.1), lower-case hex. */
export function digestResponse(input: DigestInput): string {
  const { algorithm: alg, session } = input.algorithm;
  let ha1 = hash(alg, `${input.username}:${input.realm}:${input.password}`);
  if (session) ha1 = hash(alg, `${ha1}:${input.nonce}:${input.cnonce ?? ''}`);
  const a2 = input.qop === 'auth-int' ? `${input.method}:${input.uri}:${hash(alg, input.body ?? Buffer.alloc(0))}` : `${input.method}:${input.uri}`;
  const ha2 = hash(alg, a2);
  if (input.qop === undefined) return hash(alg, `${ha1}:${input.nonce}:${ha2}`);
  return hash(alg, `${ha1}:${input.nonce}:${input.nc ?? ''}:${input.cnonce ?? ''}:${input.qop}:${ha2}`);
}

/** A `Digest` challenge or credentials: scheme checked, parameter names lower-cased, quotes removed. */
export function parseDigestParams(value: string): Map<string, string> | undefined {
  const match = /^\s*Digest\s+/i.exec(value);
  if (match === null) return undefined;
  const params = new Map<string, string>();
  let i = match[0].length;
  const s = value;
  while (i < s.length) {
    while (i < s.length && /[\s,]/.test(s[i]!)) i++;
    if (i >= s.length) break;
    const name = /^[A-Za-z0-9_-]+/.exec(s.slice(i))?.[0];
    if (name === undefined) return undefined;
    i += name.length;
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (s[i] !== '=') return undefined;
    i++;
    while (i < s.length && /\s/.test(s[i]!)) i++;
    let text = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\') i++;
        text += s[i] ?? '';
        i++;
      }
      if (s[i] !== '"') return undefined;
      i++;
    } else {
      const token = /^[^\s,"]+/.exec(s.slice(i))?.[0];
      if (token === undefined) return undefined;
      text = token;
      i += token.length;
    }
    const key = name.toLowerCase();
    if (params.has(key)) return undefined;
    params.set(key, text);
  }
  return params;
}

export function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}
