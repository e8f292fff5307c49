/**
 * Mutation fuzzing of the parser and the stream framer. Every input either parses or throws
 * SipParseError; nothing hangs; memory stays bounded; framing ignores chunk boundaries.
 */
import { describe, expect, it } from 'vitest';
import { SipParseError, StreamFramer, parseMessage, serializeMessage, type FramedItem } from '../../gateway/sip/message/index.js';
import { ALL, VALID_TORTURE, loadTorture } from './sip-message-samples.js';
import { seededRandom } from '../support/seeded-random.js';

const CASES = process.env.CI === 'true' ? 100_000 : 10_000;


const SEEDS: Buffer[] = [...ALL.map((m) => Buffer.from(m)), ...VALID_TORTURE.map(loadTorture)];
/** Bytes that mean something to a SIP parser. */
const INTERESTING = Buffer.from('\r\n \t:;,="<>[]@%\\?/0\x00\xff', 'latin1');

function mutate(input: Buffer, rand: () => number): Buffer {
  const int = (n: number): number => Math.floor(rand() * n);
  let data = Buffer.from(input);
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const at = int(data.length + 1);
    switch (int(9)) {
      case 0: // bit flip
        if (data.length > 0) data[Math.min(at, data.length - 1)]! ^= 1 << int(8);
        break;
      case 1: // insert an interesting or random byte
        data = Buffer.concat([data.subarray(0, at), Buffer.from([rand() < 0.7 ? INTERESTING[int(INTERESTING.length)]! : int(256)]), data.subarray(at)]);
        break;
      case 2: // delete a run
        data = Buffer.concat([data.subarray(0, at), data.subarray(at + 1 + int(8))]);
        break;
      case 3: // truncate
        data = data.subarray(0, at);
        break;
      case 4: {
        // duplicate a line
        const start = data.lastIndexOf(0x0a, at) + 1;
        const end = data.indexOf(0x0a, at);
        if (end > start) data = Buffer.concat([data.subarray(0, end + 1), data.subarray(start, end + 1), data.subarray(end + 1)]);
        break;
      }
      case 5: // huge value: a long run of one byte, or of a slice of the message
        data = Buffer.concat([data.subarray(0, at), Buffer.alloc(1 + int(20_000), rand() < 0.5 ? 'x' : INTERESTING[int(INTERESTING.length)]!), data.subarray(at)]);
        break;
      case 6: {
        // splice with another message
        const other = SEEDS[int(SEEDS.length)]!;
        data = Buffer.concat([data.subarray(0, at), other.subarray(int(other.length))]);
        break;
      }
      case 7: // a number grown huge
        data = Buffer.concat([data.subarray(0, at), Buffer.from('9'.repeat(1 + int(40))), data.subarray(at)]);
        break;
      default: // repeat a small slice many times (folding, separators, quotes)
        data = Buffer.concat([data.subarray(0, at), Buffer.alloc(int(3000), data.subarray(at, at + 1 + int(4)).toString('latin1') || ';', 'latin1'), data.subarray(at)]);
    }
  }
  return data;
}

describe('parser fuzz', () => {
  it(`${CASES} mutated messages: parse or SipParseError, no hang, bounded memory`, () => {
    const rand = seededRandom(0x5eed);
    const foreign: string[] = [];
    const slow: number[] = [];
    let parsed = 0;
    const heap: number[] = [];
    const batch = Math.max(1, Math.floor(CASES / 20));
    for (let n = 0; n < CASES; n++) {
      const input = mutate(SEEDS[n % SEEDS.length]!, rand);
      const started = performance.now();
      try {
        const msg = parseMessage(input);
        // Whatever is accepted can be forwarded, and reads back the same.
        const wire = serializeMessage(msg);
        expect(serializeMessage(parseMessage(wire)).equals(wire)).toBe(true);
        parsed++;
      } catch (err) {
        if (!(err instanceof SipParseError)) foreign.push(`${String(err)} on case ${n}`);
      }
      if (performance.now() - started > 1000) slow.push(n);
      if (n % batch === batch - 1) heap.push(process.memoryUsage().heapUsed);
    }
    expect(foreign).toEqual([]);
    expect(slow).toEqual([]);
    // Both outcomes were exercised: the mutations are neither all fatal nor all harmless.
    expect(parsed).toBeGreaterThan(CASES / 50);
    expect(parsed).toBeLessThan(CASES);
    const settled = heap.slice(heap.length / 2);
    expect(Math.max(...settled) - Math.min(...settled)).toBeLessThan(50 * 1024 * 1024);
  });
});

describe('framer fuzz', () => {
  const messages = SEEDS.filter((m) => {
    try {
      parseMessage(m);
      return true;
    } catch {
      return false;
    }
  }).map((m) => serializeMessage(parseMessage(m)));

  it('yields the same messages whatever the chunk boundaries', () => {
    const rand = seededRandom(42);
    for (let round = 0; round < 300; round++) {
      const sent: Buffer[] = [];
      const stream: Buffer[] = [];
      let pings = 0;
      for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) {
        if (rand() < 0.3) {
          stream.push(Buffer.from('\r\n\r\n'));
          pings++;
        }
        const msg = messages[Math.floor(rand() * messages.length)]!;
        sent.push(msg);
        stream.push(msg);
      }
      const all = Buffer.concat(stream);
      const framer = new StreamFramer();
      const items: FramedItem[] = [];
      for (let at = 0; at < all.length; ) {
        const size = rand() < 0.2 ? 1 : 1 + Math.floor(rand() * 700);
        items.push(...framer.push(all.subarray(at, at + size)));
        at += size;
      }
      const got = items.flatMap((i) => (i.type === 'message' ? [i.data] : []));
      expect(got.map((b) => b.toString('latin1'))).toEqual(sent.map((b) => b.toString('latin1')));
      expect(items.filter((i) => i.type === 'keepalive' && i.ping)).toHaveLength(pings);
    }
  });

  it('garbage streams give items or SipParseError, nothing else', () => {
    const rand = seededRandom(7);
    const foreign: string[] = [];
    for (let round = 0; round < 2000; round++) {
      const framer = new StreamFramer();
      const all = mutate(Buffer.concat([messages[round % messages.length]!, messages[(round + 1) % messages.length]!]), rand);
      try {
        for (let at = 0; at < all.length; at += 1 + Math.floor(rand() * 300)) {
          for (const item of framer.push(all.subarray(at, at + 1 + Math.floor(rand() * 300)))) {
            if (item.type === 'message') {
              try {
                parseMessage(item.data);
              } catch (err) {
                if (!(err instanceof SipParseError)) foreign.push(String(err));
              }
            }
          }
        }
      } catch (err) {
        if (!(err instanceof SipParseError)) foreign.push(String(err));
      }
    }
    expect(foreign).toEqual([]);
  });
});
