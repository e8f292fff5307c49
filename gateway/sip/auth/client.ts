import { randomBytes } from 'node:crypto';
import { DIGEST_ALGORITHMS, digestResponse, parseAlgorithm, parseDigestParams, quote } from './digest.js';
import type { DigestQop } from './digest.js';

export interface AuthorizationOptions {
  /** Our client nonce; random by default (tests pin it). */
  cnonce?: string;
  /** How many times this nonce was used, starting at 1. */
  nc?: number;
  /** The request body, needed when only qop=auth-int is offered. */
  body?: Buffer;
}

/**
 * Of the challenges a trunk sent (each `WWW-Authenticate` / `Proxy-Authenticate` line), the one
 * with the strongest algorithm we support (RFC 8760 §2.4).
 */
export function chooseChallenge(challenges: readonly string[]): string | undefined {
  let best: { challenge: string; rank: number } | undefined;
  for (const challenge of challenges) {
    const params = parseDigestParams(challenge);
    const algorithm = params === undefined ? undefined : parseAlgorithm(params.get('algorithm'));
    if (algorithm === undefined) continue;
    const rank = DIGEST_ALGORITHMS.indexOf(algorithm.algorithm);
    if (best === undefined || rank < best.rank) best = { challenge, rank };
  }
  return best?.challenge;
}

/**
 * The `Authorization` (or `Proxy-Authorization`) value answering `challenge` for a request of
 * `method` to `uri`; undefined when the challenge is malformed or uses an algorithm we lack.
 */
export function computeAuthorization(
  challenge: string,
  method: string,
  uri: string,
  user: string,
  password: string,
  options: AuthorizationOptions = {},
): string | undefined {
  const params = parseDigestParams(challenge);
  if (params === undefined) return undefined;
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  const algorithmToken = params.get('algorithm');
  const algorithm = parseAlgorithm(algorithmToken);
  if (realm === undefined || nonce === undefined || algorithm === undefined) return undefined;

  const offered = (params.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase());
  const qopOffered = params.has('qop');
  let qop: DigestQop | undefined;
  if (offered.includes('auth')) qop = 'auth';
  else if (offered.includes('auth-int')) qop = 'auth-int';
  else if (qopOffered) return undefined;

  const cnonce = options.cnonce ?? randomBytes(12).toString('base64url');
  const nc = (options.nc ?? 1).toString(16).padStart(8, '0');
  const needsCnonce = qop !== undefined || algorithm.session;
  const response = digestResponse({
    algorithm,
    username: user,
    realm,
    password,
    method,
    uri,
    nonce,
    qop,
    nc,
    cnonce,
    body: options.body,
  });

  const parts = [`username=${quote(user)}`, `realm=${quote(realm)}`, `nonce=${quote(nonce)}`, `uri=${quote(uri)}`, `response=${quote(response)}`];
  if (algorithmToken !== undefined) parts.push(`algorithm=${algorithmToken}`);
  if (needsCnonce) parts.push(`cnonce=${quote(cnonce)}`);
  if (qop !== undefined) parts.push(`qop=${qop}`, `nc=${nc}`);
  const opaque = params.get('opaque');
  if (opaque !== undefined) parts.push(`opaque=${quote(opaque)}`);
  return `Digest ${parts.join(', ')}`;
}
