import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  SRTP_SUITES,
  SrtpContext,
  SrtpError,
  generateMasterKey,
  srtpKeyLengths,
  type SrtpSuite,
} from '../../gateway/media/srtp/index.js';

const TAG: Record<SrtpSuite, { rtp: number; rtcp: number }> = {
  AEAD_AES_256_GCM: { rtp: 16, rtcp: 16 },
  AEAD_AES_128_GCM: { rtp: 16, rtcp: 16 },
  AES_CM_128_HMAC_SHA1_80: { rtp: 10, rtcp: 10 },
  AES_CM_128_HMAC_SHA1_32: { rtp: 4, rtcp: 10 },
};

/** One-byte-header extension (RFC 8285) with two elements, as room systems send. */
const EXTENSION = Buffer.from('bede0002' + '11cafe00' + '20ba0000', 'hex');
const CSRCS = Buffer.from('0a0b0c0d11223344', 'hex');

function rtpPacket(seq: number, options: { ssrc?: number; payload?: Buffer; csrcs?: boolean; extension?: boolean } = {}) {
  const csrcs = options.csrcs ? CSRCS : Buffer.alloc(0);
  const extension = options.extension ? EXTENSION : Buffer.alloc(0);
  const header = Buffer.alloc(12);
  header[0] = 0x80 | (options.extension ? 0x10 : 0) | csrcs.length / 4;
  header[1] = 96;
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE((seq * 960) >>> 0, 4);
  header.writeUInt32BE(options.ssrc ?? 0x11223344, 8);
  const payload = options.payload ?? Buffer.from(`payload ${seq} `.repeat(8));
  return Buffer.concat([header, csrcs, extension, payload]);
}

function rtcpPacket(ssrc = 0x11223344): Buffer {
  // Sender report with no report blocks, followed by an SDES CNAME chunk (a compound packet).
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(ssrc, 4);
  sr.write('ntp-and-rtp-ts-and-counts', 8, 'latin1');
  const sdes = Buffer.from('81ca0003' + ssrc.toString(16).padStart(8, '0') + '0104726f6f6d0000', 'hex');
  return Buffer.concat([sr, sdes]);
}

function pair(suite: SrtpSuite, options?: { replayWindow?: number }) {
  const { key, salt } = generateMasterKey(suite);
  return {
    sender: new SrtpContext(suite, key, salt, options),
    receiver: new SrtpContext(suite, key, salt, options),
  };
}

function refusal(action: () => unknown): SrtpError {
  try {
    action();
  } catch (error) {
    if (error instanceof SrtpError) return error;
    throw error;
  }
  throw new Error('expected an SrtpError');
}

describe('suites and keys', () => {
  it('lists the four suites strongest first, never a NULL one', () => {
    expect(SRTP_SUITES).toEqual([
      'AEAD_AES_256_GCM',
      'AEAD_AES_128_GCM',
      'AES_CM_128_HMAC_SHA1_80',
      'AES_CM_128_HMAC_SHA1_32',
    ]);
  });

  it('gives master key and salt lengths and fresh random keys', () => {
    expect(srtpKeyLengths('AEAD_AES_256_GCM')).toEqual({ keyLength: 32, saltLength: 12 });
    expect(srtpKeyLengths('AEAD_AES_128_GCM')).toEqual({ keyLength: 16, saltLength: 12 });
    expect(srtpKeyLengths('AES_CM_128_HMAC_SHA1_80')).toEqual({ keyLength: 16, saltLength: 14 });
    expect(srtpKeyLengths('AES_CM_128_HMAC_SHA1_32')).toEqual({ keyLength: 16, saltLength: 14 });
    const a = generateMasterKey('AEAD_AES_256_GCM');
    const b = generateMasterKey('AEAD_AES_256_GCM');
    expect(a.key).toHaveLength(32);
    expect(a.salt).toHaveLength(12);
    expect(a.key.equals(b.key)).toBe(false);
  });

  it('refuses unknown or NULL suites and wrong key sizes without echoing the key', () => {
    const key = Buffer.alloc(16, 0xab);
    const salt = Buffer.alloc(14, 0xcd);
    expect(() => new SrtpContext('NULL_HMAC_SHA1_80' as SrtpSuite, key, salt)).toThrow(TypeError);
    expect(() => srtpKeyLengths('toString' as SrtpSuite)).toThrow(TypeError);
    const error = (() => {
      try {
        new SrtpContext('AEAD_AES_256_GCM', key, salt);
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a RangeError');
    })();
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).not.toContain('abab');
    expect(() => new SrtpContext('AES_CM_128_HMAC_SHA1_80', key, salt.subarray(0, 12))).toThrow(RangeError);
    expect(() => new SrtpContext('AES_CM_128_HMAC_SHA1_80', key, salt, { replayWindow: 16 })).toThrow(RangeError);
  });

  it('keeps keys out of what a logger would print', () => {
    const { key, salt } = generateMasterKey('AES_CM_128_HMAC_SHA1_80');
    const context = new SrtpContext('AES_CM_128_HMAC_SHA1_80', key, salt);
    const printed = JSON.stringify(context) + inspect(context, { depth: 10, showHidden: true });
    expect(printed).not.toContain(key.toString('hex').slice(0, 8));
    expect(printed).not.toMatch(/Buffer|<Buffer/);
  });

  it('refuses non-Buffer packets with a TypeError', () => {
    const { key, salt } = generateMasterKey('AEAD_AES_128_GCM');
    const context = new SrtpContext('AEAD_AES_128_GCM', key, salt);
    expect(() => context.unprotect(undefined as unknown as Buffer)).toThrow(TypeError);
    expect(() => context.unprotectRtcp('abc' as unknown as Buffer)).toThrow(TypeError);
  });
});

describe.each(SRTP_SUITES)('%s', (suite) => {
  it('round-trips RTP with CSRCs and a header extension; the header stays readable', () => {
    const { sender, receiver } = pair(suite);
    for (const shape of [{}, { csrcs: true }, { extension: true }, { csrcs: true, extension: true }]) {
      const seq = Object.keys(shape).length * 10 + (shape.extension ? 1 : 0);
      const rtp = rtpPacket(seq, shape);
      const headerLength = rtp.length - Buffer.from(`payload ${seq} `.repeat(8)).length;
      const srtp = sender.protect(rtp);
      expect(srtp).toHaveLength(rtp.length + TAG[suite].rtp);
      expect(srtp.subarray(0, headerLength)).toEqual(rtp.subarray(0, headerLength));
      expect(srtp.subarray(headerLength, rtp.length).equals(rtp.subarray(headerLength))).toBe(false);
      expect(receiver.unprotect(srtp)).toEqual(rtp);
    }
  });

  it('round-trips an empty payload and a 1200-byte one', () => {
    const { sender, receiver } = pair(suite);
    for (const [seq, payload] of [
      [1, Buffer.alloc(0)],
      [2, randomBytes(1188)],
    ] as const) {
      const rtp = rtpPacket(seq, { payload });
      expect(receiver.unprotect(sender.protect(rtp))).toEqual(rtp);
    }
  });

  it('round-trips compound RTCP with E = 1 and an SRTCP index counting per SSRC from 0', () => {
    const { sender, receiver } = pair(suite);
    const tag = TAG[suite].rtcp;
    const aead = suite.startsWith('AEAD');
    const indexWord = (srtcp: Buffer) => srtcp.readUInt32BE(aead ? srtcp.length - 4 : srtcp.length - tag - 4);
    const words: number[] = [];
    for (const ssrc of [1, 1, 2, 1]) {
      const rtcp = rtcpPacket(ssrc);
      const srtcp = sender.protectRtcp(rtcp);
      expect(srtcp).toHaveLength(rtcp.length + 4 + tag);
      expect(srtcp.subarray(0, 8)).toEqual(rtcp.subarray(0, 8));
      expect(srtcp.subarray(8, rtcp.length).equals(rtcp.subarray(8))).toBe(false);
      words.push(indexWord(srtcp));
      expect(receiver.unprotectRtcp(srtcp)).toEqual(rtcp);
    }
    expect(words).toEqual([0x80000000, 0x80000001, 0x80000000, 0x80000002]);
  });

  it('refuses SRTCP whose E flag was cleared', () => {
    const { sender, receiver } = pair(suite);
    const srtcp = sender.protectRtcp(rtcpPacket());
    const at = suite.startsWith('AEAD') ? srtcp.length - 4 : srtcp.length - TAG[suite].rtcp - 4;
    srtcp[at] = srtcp[at]! & 0x7f;
    expect(refusal(() => receiver.unprotectRtcp(srtcp)).code).toBe('auth');
  });

  it('follows the ROC across 65535 → 0, with packets reordered around the wrap', () => {
    const { sender, receiver } = pair(suite);
    const sent = new Map<number, Buffer>();
    for (let seq = 65530; seq < 65536 + 6; seq++) sent.set(seq, rtpPacket(seq));
    const protectedPackets = new Map([...sent].map(([seq, rtp]) => [seq, sender.protect(rtp)]));
    for (const seq of [65530, 65531, 65533, 65536, 65532, 65534, 65538, 65535, 65537, 65539, 65540, 65541]) {
      expect(receiver.unprotect(protectedPackets.get(seq)!)).toEqual(sent.get(seq));
    }
    // A second wrap: ROC 1 → 2.
    for (let seq = 65542; seq < 3 * 65536 + 3; seq += 1000) {
      expect(receiver.unprotect(sender.protect(rtpPacket(seq)))).toEqual(rtpPacket(seq));
    }
  });

  it('refuses a duplicate (replay) and a packet behind the 64-packet window (too-old)', () => {
    const { sender, receiver } = pair(suite);
    const packets = Array.from({ length: 101 }, (_, seq) => sender.protect(rtpPacket(seq)));
    receiver.unprotect(packets[0]!);
    receiver.unprotect(packets[100]!);
    expect(refusal(() => receiver.unprotect(packets[100]!)).code).toBe('replay');
    expect(refusal(() => receiver.unprotect(packets[36]!)).code).toBe('too-old');
    expect(receiver.unprotect(packets[37]!)).toEqual(rtpPacket(37));
    expect(refusal(() => receiver.unprotect(packets[37]!)).code).toBe('replay');
  });

  it('honours a larger replay window', () => {
    const { sender, receiver } = pair(suite, { replayWindow: 128 });
    const packets = Array.from({ length: 101 }, (_, seq) => sender.protect(rtpPacket(seq)));
    receiver.unprotect(packets[100]!);
    expect(receiver.unprotect(packets[0]!)).toEqual(rtpPacket(0));
  });

  it('refuses replayed and too-old SRTCP', () => {
    const { sender, receiver } = pair(suite);
    const packets = Array.from({ length: 70 }, () => sender.protectRtcp(rtcpPacket()));
    receiver.unprotectRtcp(packets[69]!);
    expect(refusal(() => receiver.unprotectRtcp(packets[69]!)).code).toBe('replay');
    expect(refusal(() => receiver.unprotectRtcp(packets[5]!)).code).toBe('too-old');
    expect(receiver.unprotectRtcp(packets[6]!)).toEqual(rtcpPacket());
  });

  it('refuses to protect the same index twice (no keystream reuse)', () => {
    const { sender } = pair(suite);
    sender.protect(rtpPacket(7));
    expect(refusal(() => sender.protect(rtpPacket(7, { payload: Buffer.from('other') }))).code).toBe('replay');
  });

  it('refuses SRTP with any single bit flipped, and keeps its state', () => {
    const { sender, receiver } = pair(suite);
    const first = rtpPacket(1, { csrcs: true, extension: true });
    receiver.unprotect(sender.protect(rtpPacket(0, { csrcs: true, extension: true })));
    const srtp = sender.protect(first);
    for (let bit = 0; bit < srtp.length * 8; bit++) {
      const forged = Buffer.from(srtp);
      forged[bit >> 3] = forged[bit >> 3]! ^ (0x80 >> (bit & 7));
      const error = refusal(() => receiver.unprotect(forged));
      // A flip in the first byte (version, X, CC) or the extension length (bytes 22-23 here)
      // can break the header itself; one in the sequence number can name an index the
      // window already refuses.
      if (bit < 8 || (bit >> 3 >= 22 && bit >> 3 < 24)) expect(['auth', 'malformed']).toContain(error.code);
      else if (bit < 32) expect(['auth', 'replay', 'too-old']).toContain(error.code);
      else expect(error.code, `bit ${bit}`).toBe('auth');
    }
    expect(receiver.unprotect(srtp)).toEqual(first);
    expect(receiver.unprotect(sender.protect(rtpPacket(2)))).toEqual(rtpPacket(2));
  });

  it('does not let a forged packet move the window or the ROC', () => {
    const { sender, receiver } = pair(suite);
    receiver.unprotect(sender.protect(rtpPacket(65000)));
    const genuine = [65001, 65100, 65536 + 5].map((seq) => sender.protect(rtpPacket(seq)));
    // Forged copies claiming later indices (same wrap and next wrap).
    for (const seq of [65400, 200]) {
      const forged = Buffer.from(genuine[1]!);
      forged.writeUInt16BE(seq, 2);
      expect(refusal(() => receiver.unprotect(forged)).code).toBe('auth');
    }
    expect(receiver.unprotect(genuine[0]!)).toEqual(rtpPacket(65001));
    expect(receiver.unprotect(genuine[1]!)).toEqual(rtpPacket(65100));
    expect(receiver.unprotect(genuine[2]!)).toEqual(rtpPacket(65536 + 5));
  });

  it('refuses SRTCP with any single bit flipped, and keeps its state', () => {
    const { sender, receiver } = pair(suite);
    const rtcp = rtcpPacket();
    const srtcp = sender.protectRtcp(rtcp);
    for (let bit = 8; bit < srtcp.length * 8; bit++) {
      const forged = Buffer.from(srtcp);
      forged[bit >> 3] = forged[bit >> 3]! ^ (0x80 >> (bit & 7));
      expect(refusal(() => receiver.unprotectRtcp(forged)).code, `bit ${bit}`).toBe('auth');
    }
    expect(receiver.unprotectRtcp(srtcp)).toEqual(rtcp);
  });

  it('refuses truncated and malformed packets as malformed or auth, never crashing', () => {
    const { sender, receiver } = pair(suite);
    const srtp = sender.protect(rtpPacket(3, { csrcs: true, extension: true }));
    for (let length = 0; length < srtp.length; length++) {
      expect(['malformed', 'auth']).toContain(refusal(() => receiver.unprotect(srtp.subarray(0, length))).code);
    }
    const srtcp = sender.protectRtcp(rtcpPacket());
    for (let length = 0; length < srtcp.length; length++) {
      expect(['malformed', 'auth']).toContain(refusal(() => receiver.unprotectRtcp(srtcp.subarray(0, length))).code);
    }
    const tag = TAG[suite].rtp;
    const malformed = [
      Buffer.alloc(0),
      Buffer.alloc(11, 0x80),
      Buffer.concat([Buffer.from('40'), Buffer.alloc(40)]), // version 1
      Buffer.concat([Buffer.from('8f60000100000001000000aa', 'hex'), Buffer.alloc(20 + tag)]), // 15 CSRCs, too few bytes
      Buffer.concat([Buffer.from('9060000100000001000000aabede0fff', 'hex'), Buffer.alloc(30 + tag)]), // extension overruns
    ];
    for (const packet of malformed) {
      expect(refusal(() => receiver.unprotect(packet)).code).toBe('malformed');
      expect(refusal(() => sender.protect(packet.subarray(0, Math.max(0, packet.length - tag)))).code).toBe(
        'malformed',
      );
    }
    expect(refusal(() => sender.protectRtcp(Buffer.alloc(7, 0x80))).code).toBe('malformed');
    expect(refusal(() => receiver.unprotectRtcp(Buffer.alloc(40, 0x40))).code).toBe('malformed');
    // The genuine packet still goes through afterwards.
    expect(receiver.unprotect(srtp)).toEqual(rtpPacket(3, { csrcs: true, extension: true }));
  });

  it('keeps separate state per SSRC', () => {
    const { sender, receiver } = pair(suite);
    const a = sender.protect(rtpPacket(500, { ssrc: 0xa }));
    const b = sender.protect(rtpPacket(500, { ssrc: 0xb }));
    expect(receiver.unprotect(a)).toEqual(rtpPacket(500, { ssrc: 0xa }));
    expect(receiver.unprotect(b)).toEqual(rtpPacket(500, { ssrc: 0xb }));
    expect(refusal(() => receiver.unprotect(b)).code).toBe('replay');
  });
});

describe('SSRC bound', () => {
  it('tracks at most 32 SSRCs per context, forgetting the least recently used', () => {
    const { sender, receiver } = pair('AEAD_AES_128_GCM');
    const packets = Array.from({ length: 33 }, (_, i) => sender.protect(rtpPacket(10, { ssrc: i + 1 })));
    for (const packet of packets) receiver.unprotect(packet);
    // SSRC 1 was evicted by SSRC 33; the 32 more recent ones still remember their packets.
    for (const packet of packets.slice(1)) expect(refusal(() => receiver.unprotect(packet)).code).toBe('replay');
    expect(receiver.unprotect(packets[0]!)).toEqual(rtpPacket(10, { ssrc: 1 }));
  });
});
