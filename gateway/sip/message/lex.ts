/**
 * Character classes and a small cursor for the RFC 3261 §25 grammar. Everything here scans
 * left to right once: no backtracking, so attacker input costs linear time.
 */
import { SipParseError } from './types.js';

function classOf(chars: string, alnum = true): Uint8Array {
  const table = new Uint8Array(128);
  if (alnum) {
    for (let c = 0x30; c <= 0x39; c++) table[c] = 1;
    for (let c = 0x41; c <= 0x5a; c++) table[c] = 1;
    for (let c = 0x61; c <= 0x7a; c++) table[c] = 1;
  }
  for (let k = 0; k < chars.length; k++) table[chars.charCodeAt(k)] = 1;
  return table;
}

export const TOKEN = classOf("-.!%*_+`'~");
/** unreserved = alphanum / mark */
const MARK = "-_.!~*'()";
export const USER = classOf(MARK + '&=+$,;?/');
export const PASSWORD = classOf(MARK + '&=+$,');
export const PARAM = classOf(MARK + '[]/:&+$');
export const URI_HEADER = classOf(MARK + '[]/?:+$');
export const HOST = classOf('-.');
export const TEL_NUMBER = classOf('+-.()*#');

export function inClass(table: Uint8Array, code: number): boolean {
  return code < 128 && table[code] === 1;
}

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!inClass(TOKEN, s.charCodeAt(i))) return false;
  return true;
}

/** Parse a run of decimal digits no longer than `maxDigits`; NaN when it is not one. */
export function parseDigits(s: string, maxDigits: number): number {
  if (s.length === 0 || s.length > maxDigits) return NaN;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return n;
}

const SP = 0x20;
const HTAB = 0x09;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A read position in a header value (already unfolded, so LWS is only SP and HTAB). */
export class Cursor {
  i = 0;
  constructor(
    readonly s: string,
    /** Names the thing being parsed in error messages ("Via", "From", …). */
    readonly what: string,
  ) {}

  get done(): boolean {
    return this.i >= this.s.length;
  }

  peek(): number {
    return this.s.charCodeAt(this.i);
  }

  /** Skip SP/HTAB; returns whether any was skipped. */
  skipWs(): boolean {
    const from = this.i;
    let c = this.s.charCodeAt(this.i);
    while (c === SP || c === HTAB) c = this.s.charCodeAt(++this.i);
    return this.i > from;
  }

  eat(code: number): boolean {
    if (this.s.charCodeAt(this.i) !== code) return false;
    this.i++;
    return true;
  }

  expect(code: number, description: string): void {
    if (!this.eat(code)) this.fail(`expected ${description}`);
  }

  /** The longest run of characters of `table` (possibly empty). */
  run(table: Uint8Array): string {
    const from = this.i;
    while (this.i < this.s.length && inClass(table, this.s.charCodeAt(this.i))) this.i++;
    return this.s.slice(from, this.i);
  }

  token(): string {
    return this.run(TOKEN);
  }

  /** A quoted-string at the cursor, returned with its quotes and escapes as they were. */
  quotedRaw(): string {
    const from = this.i;
    this.skipQuoted();
    return this.s.slice(from, this.i);
  }

  /** A quoted-string at the cursor, returned unquoted with quoted-pairs resolved. */
  quoted(): string {
    const from = this.i;
    this.skipQuoted();
    const inner = this.s.slice(from + 1, this.i - 1);
    return inner.includes('\\') ? inner.replace(/\\([\s\S])/g, '$1') : inner;
  }

  private skipQuoted(): void {
    if (!this.eat(DQUOTE)) this.fail('expected a quoted string');
    for (;;) {
      if (this.i >= this.s.length) this.fail('unterminated quoted string');
      const c = this.s.charCodeAt(this.i++);
      if (c === DQUOTE) return;
      if (c === BACKSLASH) {
        // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
        const next = this.s.charCodeAt(this.i++);
        if (!(next <= 0x7f) || next === 0x0a || next === 0x0d) this.fail('bad escape in quoted string');
      }
    }
  }

  fail(reason: string): never {
    throw new SipParseError(`malformed ${this.what}: ${reason}`);
  }
}

const PARAM_VALUE_STOP = classOf(' \t;,"<>', false);

/**
 * `*( SEMI generic-param )` into `into`: names lower-cased (they compare case-insensitively),
 * quoted values kept with their quotes, a name without value maps to null.
 */
export function parseGenericParams(cur: Cursor, into: Map<string, string | null>): void {
  for (;;) {
    const save = cur.i;
    cur.skipWs();
    if (!cur.eat(0x3b /* ; */)) {
      cur.i = save;
      return;
    }
    cur.skipWs();
    const name = cur.token();
    if (!name) cur.fail('empty parameter name');
    const beforeEq = cur.i;
    cur.skipWs();
    let value: string | null = null;
    if (cur.eat(0x3d /* = */)) {
      cur.skipWs();
      if (cur.peek() === DQUOTE) value = cur.quotedRaw();
      else {
        const from = cur.i;
        while (cur.i < cur.s.length) {
          const c = cur.s.charCodeAt(cur.i);
          if (c < 0x21 || c === 0x7f || (c < 128 && PARAM_VALUE_STOP[c] === 1)) break;
          cur.i++;
        }
        value = cur.s.slice(from, cur.i);
        if (!value) cur.fail(`empty value for parameter ${name.toLowerCase()}`);
      }
    } else cur.i = beforeEq;
    into.set(name.toLowerCase(), value);
  }
}

export function formatParams(params: Map<string, string | null>): string {
  let out = '';
  for (const [name, value] of params) out += value === null ? `;${name}` : `;${name}=${value}`;
  return out;
}
