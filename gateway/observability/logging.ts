import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/index.js';

/** Field names whose values are credentials or key material, wherever they appear. */
const SECRET_FIELDS = [
  'key',
  'keys',
  'privateKey',
  'password',
  'passphrase',
  'pin',
  'secret',
  'token',
  'crypto',
  'inline',
  'authorization',
  'Authorization',
  '["proxy-authorization"]',
  '["Proxy-Authorization"]',
];

// pino's redaction has no recursive wildcard: cover the top level and three levels of nesting.
const REDACT_PATHS = SECRET_FIELDS.flatMap((field) => {
  const sep = field.startsWith('[') ? '' : '.';
  return [field.startsWith('[') ? `*${field}` : field, `*${sep}${field}`, `*.*${sep}${field}`, `*.*.*${sep}${field}`];
});

const REDACTED = '[redacted]';

// SDES keys also travel inside SDP text (`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<key>`).
const INLINE_KEY = /inline:[A-Za-z0-9+/=]+/g;

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(INLINE_KEY, `inline:${REDACTED}`);
  if (depth > 3 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value instanceof Error) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, depth + 1)]));
}

/** JSON logger that redacts secret fields by name and SRTP keys inside any string. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => scrub(arg)) as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

export type { Logger };
