import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseUri } from '../message/index.js';
import type { SipRequest, SipUri } from '../message/index.js';
import { digestResponse, parseAlgorithm, parseDigestParams, quote } from './digest.js';
import type { DigestAlgorithm, DigestQop } from './digest.js';

/** The password of `username` in `realm`, or undefined when there is no such user. */
export type CredentialLookup = (username: string, realm: string) => string | undefined;

export type DigestFailure = 'missing' | 'stale' | 'bad-response' | 'unknown-user' | 'malformed';

export type DigestVerdict = { ok: true; user: string } | { ok: false; reason: DigestFailure };

export interface DigestServerOptions {
  /** Key for the nonce MAC; random per process by default (a restart makes old nonces stale). */
  secret?: Buffer;
  /** How long a nonce stays fresh (default 5 minutes). */
  nonceMaxAgeMs?: number;
  now?: () => number;
}

/**
 * Server side of SIP digest authentication (RFC 3261 §22, RFC 8760). Nonces carry their own
 * issue time under an HMAC, so no per-challenge state is kept.
 */
export class DigestServer {
  private readonly secret: Buffer;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(options: DigestServerOptions = {}) {
    this.secret = options.secret ?? randomBytes(32);
    this.maxAgeMs = options.nonceMaxAgeMs ?? 300_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * A `WWW-Authenticate` (or `Proxy-Authenticate`) value. RFC 8760 §2.4: offer one challenge
   * per algorithm, strongest first, each in its own header line.
   */
  createChallenge(realm: string, algorithm: DigestAlgorithm = 'SHA-256', options: { stale?: boolean } = {}): { header: string; nonce: string } {
    const nonce = this.issueNonce(realm, algorithm);
    const stale = options.stale === true ? ', stale=TRUE' : '';
    return { header: `Digest realm=${quote(realm)}, nonce=${quote(nonce)}, algorithm=${algorithm}, qop="auth"${stale}`, nonce };
  }

  /** Check the request's `Authorization` (or `Proxy-Authorization`) credentials for `realm`. */
  verifyAuthorization(request: SipRequest, lookup: CredentialLookup, realm: string, headerName = 'Authorization'): DigestVerdict {
    let sawMalformed = false;
    let params: Map<string, string> | undefined;
    for (const line of request.headers.getLines(headerName)) {
      const parsed = parseDigestParams(line);
      if (parsed === undefined) {
        sawMalformed ||= /^\s*Digest\b/i.test(line);
        continue;
      }
      if (parsed.get('realm') === realm) {
        params = parsed;
        break;
      }
    }
    if (params === undefined) return { ok: false, reason: sawMalformed ? 'malformed' : 'missing' };

    const username = params.get('username');
    const nonce = params.get('nonce');
    const uri = params.get('uri');
    const response = params.get('response')?.toLowerCase();
    const algorithm = parseAlgorithm(params.get('algorithm'));
    const qopText = params.get('qop');
    const qop: DigestQop | undefined = qopText === 'auth' || qopText === 'auth-int' ? qopText : undefined;
    const nc = params.get('nc');
    const cnonce = params.get('cnonce');
    // We never offer a -sess variant, so credentials using one answer no challenge of ours.
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined || algorithm === undefined || algorithm.session) {
      return { ok: false, reason: 'malformed' };
    }
    if (qopText !== undefined && (qop === undefined || nc === undefined || !/^[0-9a-f]{8}$/i.test(nc) || !cnonce)) {
      return { ok: false, reason: 'malformed' };
    }
    if (!sameResource(uri, request.uri)) return { ok: false, reason: 'bad-response' };

    const password = lookup(username, realm);
    // An unknown user costs the same hashing as a known one: no timing oracle for user names.
    const expected = digestResponse({
      algorithm,
      username,
      realm,
      password: password ?? randomBytes(16).toString('hex'),
      method: request.method,
      uri,
      nonce,
      qop,
      nc,
      cnonce,
      body: request.body,
    });
    if (password === undefined) return { ok: false, reason: 'unknown-user' };
    if (!equalText(expected, response)) return { ok: false, reason: 'bad-response' };
    // Only now that the password is proven does a bad nonce mean "retry with a fresh one".
    if (!this.isFresh(nonce, realm, algorithm.algorithm)) return { ok: false, reason: 'stale' };
    return { ok: true, user: username };
  }

  private issueNonce(realm: string, algorithm: DigestAlgorithm): string {
    const issued = this.now().toString(16);
    const salt = randomBytes(9).toString('base64url');
    return `${issued}.${salt}.${this.mac(issued, salt, realm, algorithm)}`;
  }

  /** Issued by us, for this realm and algorithm, and not too old. */
  private isFresh(nonce: string, realm: string, algorithm: DigestAlgorithm): boolean {
    const [issued, salt, mac, ...rest] = nonce.split('.');
    if (issued === undefined || salt === undefined || mac === undefined || rest.length > 0) return false;
    if (!equalText(this.mac(issued, salt, realm, algorithm), mac)) return false;
    const age = this.now() - parseInt(issued, 16);
    return age >= 0 && age <= this.maxAgeMs;
  }

  private mac(issued: string, salt: string, realm: string, algorithm: DigestAlgorithm): string {
    return createHmac('sha256', this.secret).update(`${issued}\n${salt}\n${realm}\n${algorithm}`).digest('base64url').slice(0, 22);
  }
}

function equalText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The digest-uri names the Request-URI (§22.4 says the server should check). */
function sameResource(digestUri: string, requestUri: SipUri): boolean {
  let parsed: SipUri;
  try {
    parsed = parseUri(digestUri);
  } catch {
    return false;
  }
  return (
    parsed.scheme === requestUri.scheme &&
    parsed.user === requestUri.user &&
    parsed.host.toLowerCase() === requestUri.host.toLowerCase() &&
    parsed.port === requestUri.port
  );
}
