import { describe, expect, it } from 'vitest';
import { isRtcp, parseRtpHeader, RtpError, setPayloadType, setSequenceNumber, setSsrc, setTimestamp } from '../../gateway/media/rtp/index.js';

function rtpPacket(options: { csrcs?: number[]; extensionWords?: number; marker?: boolean; payloadType?: number; payload?: number } = {}): Buffer {
  const csrcs = options.csrcs ?? [];
  const extension = options.extensionWords !== undefined;
  const header = Buffer.alloc(12 + 4 * csrcs.length + (extension ? 4 + 4 * (options.extensionWords ?? 0) : 0));
  header.writeUInt8(0x80 | (extension ? 0x10 : 0) | csrcs.length, 0);
  header.writeUInt8((options.marker ? 0x80 : 0) | (options.payloadType ?? 0), 1);
  header.writeUInt16BE(0xfffe, 2);
  header.writeUInt32BE(0xdeadbeef, 4);
  header.writeUInt32BE(0x12345678, 8);
  csrcs.forEach((c, i) => header.writeUInt32BE(c, 12 + 4 * i));
  if (extension) {
    const at = 12 + 4 * csrcs.length;
    header.writeUInt16BE(0xbede, at);
    header.writeUInt16BE(options.extensionWords ?? 0, at + 2);
  }
  return Buffer.concat([header, Buffer.alloc(options.payload ?? 160, 0xff)]);
}

function claimExtensionWords(packet: Buffer, words: number): Buffer {
  packet.writeUInt16BE(words, 14);
  return packet;
}

describe('parseRtpHeader', () => {
  it('reads the fixed header', () => {
    expect(parseRtpHeader(rtpPacket({ marker: true, payloadType: 111 }))).toEqual({
      version: 2,
      padding: false,
      extension: false,
      csrcCount: 0,
      marker: true,
      payloadType: 111,
      sequenceNumber: 0xfffe,
      timestamp: 0xdeadbeef,
      ssrc: 0x12345678,
      headerLength: 12,
    });
  });

  it('counts CSRCs and the header extension into the header length', () => {
    const header = parseRtpHeader(rtpPacket({ csrcs: [1, 2], extensionWords: 3 }));
    expect(header).toMatchObject({ csrcCount: 2, extension: true, headerLength: 12 + 8 + 4 + 12 });
  });

  it.each([
    ['an empty buffer', Buffer.alloc(0)],
    ['a short packet', Buffer.from([0x80, 0x00, 0x00])],
    ['version 1', Buffer.concat([Buffer.from([0x40]), rtpPacket().subarray(1)])],
    ['CSRCs past the end', rtpPacket({ payload: 0 }).fill(0x8f, 0, 1)],
    ['a truncated extension', claimExtensionWords(rtpPacket({ extensionWords: 1, payload: 8 }), 50)],
  ])('throws RtpError for %s', (_name, packet) => {
    expect(() => parseRtpHeader(packet)).toThrow(RtpError);
  });
});

describe('isRtcp', () => {
  it('separates RTCP from RTP by the second octet (RFC 5761)', () => {
    const receiverReport = Buffer.from([0x81, 201, 0x00, 0x07, 0, 0, 0, 1]);
    expect(isRtcp(receiverReport)).toBe(true);
    expect(isRtcp(Buffer.from([0x80, 200, 0x00, 0x06, 0, 0, 0, 1]))).toBe(true);
    expect(isRtcp(rtpPacket({ marker: true, payloadType: 0 }))).toBe(false);
    expect(isRtcp(rtpPacket({ marker: true, payloadType: 111 }))).toBe(false);
    expect(isRtcp(Buffer.from([0x81, 201]))).toBe(false);
  });
});

describe('header setters', () => {
  it('rewrite SSRC, sequence number, timestamp and payload type in place', () => {
    const packet = rtpPacket({ marker: true, payloadType: 0 });
    setSsrc(packet, 0xcafebabe);
    setSequenceNumber(packet, 0x1_0005);
    setTimestamp(packet, 2 ** 32 + 7);
    setPayloadType(packet, 8);
    expect(parseRtpHeader(packet)).toMatchObject({ ssrc: 0xcafebabe, sequenceNumber: 5, timestamp: 7, payloadType: 8, marker: true });
    expect(packet.subarray(12).every((b) => b === 0xff)).toBe(true);
  });

  it('refuse a buffer too short to hold a header', () => {
    expect(() => setSsrc(Buffer.alloc(4), 1)).toThrow(RtpError);
  });
});
