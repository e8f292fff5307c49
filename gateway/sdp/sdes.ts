/**
 * SDES key exchange (RFC 4568) for SRTP: reading the peer's `a=crypto` lines, choosing one,
 * and writing ours. Suite facts (key/salt sizes) come from RFC 4568 §6.2, RFC 7714 §12.
 */
import { inspect } from 'node:util';
import { SRTP_SUITES, generateMasterKey, srtpKeyLengths, type SrtpSuite } from '../media/srtp/index.js';

/** A master key and salt. Logging or serialising it shows nothing of the key. */
export class SrtpMasterKey {
  constructor(
    readonly key: Buffer,
    readonly salt: Buffer,
  ) {}

  static generate(suite: SrtpSuite): SrtpMasterKey {
    const { key, salt } = generateMasterKey(suite);
    return new SrtpMasterKey(key, salt);
  }

  equals(other: SrtpMasterKey): boolean {
    return this.key.equals(other.key) && this.salt.equals(other.salt);
  }

  /** The `inline:` value of an `a=crypto` line: base64 of key || salt. */
  toInline(): string {
    return Buffer.concat([this.key, this.salt]).toString('base64');
  }

  toJSON(): string {
    return '[SRTP key redacted]';
  }

  [inspect.custom](): string {
    return 'SrtpMasterKey [redacted]';
  }
}

/** One `a=crypto` line of an offer, judged against our policy. */
export interface OfferedCrypto {
  tag: number;
  /** The suite name as offered, which may be one we do not know. */
  suite: string;
  /** Why we would not use this line; absent when it is acceptable. */
  unacceptable?: string;
  /** The peer's key, present only when the line is acceptable. */
  key?: SrtpMasterKey;
  /** Key lifetime in packets, when the peer gave one. */
  lifetime?: number;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const LIFETIME = /^(?:2\^(\d{1,2})|(\d{1,15}))$/;
// Window size hint only tunes the replay window, which we keep on regardless.
const HARMLESS_SESSION_PARAM = /^WSH=\d+$/;

function isKnownSuite(suite: string): suite is SrtpSuite {
  return (SRTP_SUITES as readonly string[]).includes(suite);
}

/** Parses the value of an `a=crypto:` attribute (everything after the colon). */
export function parseCryptoAttribute(value: string): OfferedCrypto | undefined {
  const fields = value.trim().split(/\s+/);
  const [tagText, suite, keyParams, ...sessionParams] = fields;
  if (tagText === undefined || suite === undefined || keyParams === undefined) return undefined;
  if (!/^\d{1,9}$/.test(tagText)) return undefined;
  const tag = Number(tagText);
  const rejected = (unacceptable: string): OfferedCrypto => ({ tag, suite, unacceptable });

  if (!isKnownSuite(suite)) return rejected(`suite ${suite} not supported`);
  if (keyParams.includes(';')) return rejected('multiple master keys not supported');
  if (!keyParams.startsWith('inline:')) return rejected('key method not inline');
  const [keySalt = '', ...extras] = keyParams.slice('inline:'.length).split('|');

  let lifetime: number | undefined;
  for (const extra of extras) {
    if (extra.includes(':')) return rejected('MKI not supported');
    const match = LIFETIME.exec(extra);
    if (!match || lifetime !== undefined) return rejected('malformed key parameters');
    lifetime = match[1] !== undefined ? 2 ** Number(match[1]) : Number(match[2]);
  }
  const unsupported = sessionParams.find((p) => !HARMLESS_SESSION_PARAM.test(p));
  if (unsupported !== undefined) {
    // Only the parameter name: a value could be anything the peer chose to put there.
    return rejected(`session parameter ${unsupported.split('=')[0]} not supported`);
  }

  if (!BASE64.test(keySalt)) return rejected('key is not base64');
  const material = Buffer.from(keySalt, 'base64');
  const { keyLength, saltLength } = srtpKeyLengths(suite);
  if (material.length !== keyLength + saltLength) return rejected(`wrong key length for ${suite}`);
  const key = new SrtpMasterKey(material.subarray(0, keyLength), material.subarray(keyLength));
  return lifetime === undefined ? { tag, suite, key } : { tag, suite, key, lifetime };
}

/** Suites we accept on a stream of this kind, strongest first. */
function acceptableSuites(kind: string): readonly SrtpSuite[] {
  // A 32-bit tag is too weak for video's packet rates and sizes (RFC 3711 §9.5 advice).
  return kind === 'audio' ? SRTP_SUITES : SRTP_SUITES.filter((s) => s !== 'AES_CM_128_HMAC_SHA1_32');
}

export interface ChosenCrypto {
  tag: number;
  suite: SrtpSuite;
  remoteKey: SrtpMasterKey;
  lifetime?: number;
}

/** Our preferred acceptable line: the strongest suite, and for that suite the peer's first line. */
export function chooseCrypto(kind: string, offered: readonly OfferedCrypto[]): ChosenCrypto | undefined {
  for (const suite of acceptableSuites(kind)) {
    const line = offered.find((c) => c.suite === suite && c.key !== undefined);
    if (line?.key) {
      const chosen: ChosenCrypto = { tag: line.tag, suite, remoteKey: line.key };
      if (line.lifetime !== undefined) chosen.lifetime = line.lifetime;
      return chosen;
    }
  }
  return undefined;
}
