import { describe, expect, it } from 'vitest';
import { TelephoneEventReceiver, digitFromInfo, isDtmfDigit } from '../../gateway/media/dtmf/index.js';

const EVENT_PT = 101;
const PCMU_PT = 0;

interface PacketFields {
  payloadType?: number;
  sequence?: number;
  timestamp: number;
  ssrc?: number;
  marker?: boolean;
  csrcs?: number[];
  extensionWords?: number;
  padding?: number;
  payload: Buffer;
}

/** An RTP packet written out field by field, as a peer would send it. */
function rtp(fields: PacketFields): Buffer {
  const csrcs = fields.csrcs ?? [];
  const extension = fields.extensionWords !== undefined;
  const header = Buffer.alloc(12 + 4 * csrcs.length + (extension ? 4 + 4 * fields.extensionWords! : 0));
  header.writeUInt8(0x80 | (fields.padding ? 0x20 : 0) | (extension ? 0x10 : 0) | csrcs.length, 0);
  header.writeUInt8((fields.marker ? 0x80 : 0) | (fields.payloadType ?? EVENT_PT), 1);
  header.writeUInt16BE(fields.sequence ?? 1, 2);
  header.writeUInt32BE(fields.timestamp >>> 0, 4);
  header.writeUInt32BE(fields.ssrc ?? 0x1234abcd, 8);
  csrcs.forEach((csrc, i) => header.writeUInt32BE(csrc, 12 + 4 * i));
  if (extension) {
    const at = 12 + 4 * csrcs.length;
    header.writeUInt16BE(0xbede, at);
    header.writeUInt16BE(fields.extensionWords!, at + 2);
  }
  const padding = fields.padding ? Buffer.alloc(fields.padding) : Buffer.alloc(0);
  if (fields.padding) padding.writeUInt8(fields.padding, fields.padding - 1);
  return Buffer.concat([header, fields.payload, padding]);
}

/** The 4-byte telephone-event payload. */
function event(code: number, duration: number, end = false, volume = 10): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt8(code, 0);
  payload.writeUInt8((end ? 0x80 : 0) | volume, 1);
  payload.writeUInt16BE(duration, 2);
  return payload;
}

/** The packets a typical sender emits for one key press: start, updates, then the end three times. */
function keyPress(code: number, timestamp: number, firstSequence: number, extra: Partial<PacketFields> = {}): Buffer[] {
  const packets = [160, 320, 480].map((duration, i) =>
    rtp({ ...extra, timestamp, sequence: firstSequence + i, marker: i === 0, payload: event(code, duration) }),
  );
  for (let i = 0; i < 3; i++) packets.push(rtp({ ...extra, timestamp, sequence: firstSequence + 3 + i, payload: event(code, 640, true) }));
  return packets;
}

/** Makes the padding count claim more bytes than the packet has. */
function claimPadding(packet: Buffer, count: number): Buffer {
  packet.writeUInt8(count, packet.length - 1);
  return packet;
}

function audio(timestamp: number, sequence: number): Buffer {
  return rtp({ payloadType: PCMU_PT, timestamp, sequence, payload: Buffer.alloc(160, 0xff) });
}

function receiverWithLog(): { receiver: TelephoneEventReceiver; digits: string[] } {
  const digits: string[] = [];
  return { receiver: new TelephoneEventReceiver(EVENT_PT, (digit) => digits.push(digit)), digits };
}

describe('TelephoneEventReceiver', () => {
  it('reports one digit per key press despite updates and the repeated end packets', () => {
    const { receiver, digits } = receiverWithLog();
    for (const packet of keyPress(5, 8000, 10)) receiver.receive(packet);
    expect(digits).toEqual(['5']);
  });

  it('maps events 0-15 to 0-9 * # A-D and ignores the other events', () => {
    const { receiver, digits } = receiverWithLog();
    for (const code of [...Array.from({ length: 16 }, (_, i) => i), 16, 32, 255]) {
      for (const packet of keyPress(code, 1000 + code * 2000, code * 10)) receiver.receive(packet);
    }
    expect(digits.join('')).toBe('0123456789*#ABCD');
  });

  it('tells two presses of the same key apart by their timestamps', () => {
    const { receiver, digits } = receiverWithLog();
    for (const packet of [...keyPress(1, 16000, 1), ...keyPress(1, 19200, 7)]) receiver.receive(packet);
    expect(digits).toEqual(['1', '1']);
  });

  it('picks the events out of a stream interleaved with audio', () => {
    const { receiver, digits } = receiverWithLog();
    const presses = [keyPress(4, 8000, 100), keyPress(2, 12000, 200), keyPress(11, 16000, 300)];
    let sequence = 0;
    for (const press of presses) {
      for (const packet of press) {
        receiver.receive(audio(sequence * 160, sequence++));
        receiver.receive(packet);
      }
    }
    expect(digits).toEqual(['4', '2', '#']);
  });

  it('reports a press of which only the end packets arrive, or whose start was lost', () => {
    const { receiver, digits } = receiverWithLog();
    for (let i = 0; i < 3; i++) receiver.receive(rtp({ timestamp: 4000, sequence: 1 + i, payload: event(7, 800, true) }));
    for (const packet of keyPress(8, 9000, 10).slice(2)) receiver.receive(packet);
    expect(digits).toEqual(['7', '8']);
  });

  it('does not report an earlier press again when its packets arrive late', () => {
    const { receiver, digits } = receiverWithLog();
    const first = keyPress(3, 8000, 1);
    const second = keyPress(9, 12000, 7);
    for (const packet of [...first.slice(0, 4), ...second.slice(0, 2), ...first.slice(4), ...second.slice(2)]) receiver.receive(packet);
    expect(digits).toEqual(['3', '9']);
  });

  it('treats the timestamp wrapping around 2^32 as moving forward', () => {
    const { receiver, digits } = receiverWithLog();
    for (const packet of [...keyPress(1, 0xffffff00, 1), ...keyPress(2, 0x100, 7)]) receiver.receive(packet);
    expect(digits).toEqual(['1', '2']);
  });

  it('reads the event after CSRCs, a header extension and with padding', () => {
    const { receiver, digits } = receiverWithLog();
    for (const packet of keyPress(6, 4000, 1, { csrcs: [0x11111111, 0x22222222], extensionWords: 2, padding: 4 })) receiver.receive(packet);
    expect(digits).toEqual(['6']);
  });

  it('counts an event held past the 16-bit duration as one press (RFC 4733 long-duration segments)', () => {
    const { receiver, digits } = receiverWithLog();
    receiver.receive(rtp({ timestamp: 1000, sequence: 1, marker: true, payload: event(0, 160) }));
    receiver.receive(rtp({ timestamp: 1000, sequence: 2, payload: event(0, 0xffff) }));
    receiver.receive(rtp({ timestamp: 1000 + 0xffff, sequence: 3, payload: event(0, 160) }));
    receiver.receive(rtp({ timestamp: 1000 + 0xffff, sequence: 4, payload: event(0, 800, true) }));
    expect(digits).toEqual(['0']);
  });

  it('starts afresh when the sender changes SSRC', () => {
    const { receiver, digits } = receiverWithLog();
    for (const packet of [...keyPress(1, 8000, 1), ...keyPress(2, 8000, 1, { ssrc: 0x99 })]) receiver.receive(packet);
    expect(digits).toEqual(['1', '2']);
  });

  it('ignores truncated payloads, garbage and other payload types without throwing', () => {
    const { receiver, digits } = receiverWithLog();
    const whole = rtp({ timestamp: 5000, payload: event(5, 160) });
    const garbage = [
      Buffer.alloc(0),
      Buffer.from([0x80]),
      whole.subarray(0, 11),
      whole.subarray(0, 12),
      whole.subarray(0, 15),
      Buffer.from(whole).fill(0x00, 0, 1),
      rtp({ timestamp: 6000, csrcs: [1, 2, 3], payload: Buffer.alloc(0) }).subarray(0, 20),
      rtp({ timestamp: 6000, extensionWords: 200, payload: event(5, 160) }).subarray(0, 40),
      rtp({ timestamp: 7000, padding: 2, payload: event(5, 160).subarray(0, 3) }),
      claimPadding(rtp({ timestamp: 8000, padding: 4, payload: event(5, 160) }), 200),
      rtp({ payloadType: PCMU_PT, timestamp: 9000, payload: event(5, 160) }),
    ];
    for (const packet of garbage) expect(() => receiver.receive(packet)).not.toThrow();
    expect(digits).toEqual([]);
  });
});

describe('digitFromInfo', () => {
  const relay = (text: string) => digitFromInfo('application/dtmf-relay', Buffer.from(text));

  it('reads the Signal line of application/dtmf-relay', () => {
    expect(relay('Signal=5\r\nDuration=160\r\n')).toBe('5');
    expect(relay('Signal= #\nDuration=160\n')).toBe('#');
    expect(relay('duration=250\r\nSIGNAL = *\r\n')).toBe('*');
    expect(relay('Signal=d\r\nDuration=100')).toBe('D');
    expect(relay('Signal=11\r\n')).toBe('#');
  });

  it('reads application/dtmf as a digit or an event number, with parameters on the type', () => {
    expect(digitFromInfo('application/dtmf', Buffer.from('7'))).toBe('7');
    expect(digitFromInfo('Application/DTMF; charset=us-ascii', Buffer.from('10\r\n'))).toBe('*');
    expect(digitFromInfo('application/dtmf', Buffer.from('15'))).toBe('D');
  });

  it('returns undefined for anything but one valid digit', () => {
    expect(relay('Duration=160\r\n')).toBeUndefined();
    expect(relay('Signal=\r\n')).toBeUndefined();
    expect(relay('Signal=12 3\r\n')).toBeUndefined();
    expect(relay('Signal=16\r\n')).toBeUndefined();
    expect(relay('Signal=E\r\n')).toBeUndefined();
    expect(relay('Signal=-1\r\n')).toBeUndefined();
    expect(relay('')).toBeUndefined();
    expect(digitFromInfo('application/dtmf', Buffer.from('55'))).toBeUndefined();
    expect(digitFromInfo('application/dtmf', Buffer.from([0xff, 0x00]))).toBeUndefined();
    expect(digitFromInfo('application/sdp', Buffer.from('Signal=5'))).toBeUndefined();
    expect(digitFromInfo('text/plain', Buffer.from('5'))).toBeUndefined();
  });
});

describe('isDtmfDigit', () => {
  it('accepts exactly one of 0-9 * # A-D', () => {
    for (const digit of '0123456789*#ABCD') expect(isDtmfDigit(digit)).toBe(true);
    for (const other of ['', 'a', 'E', '55', ' ', '+']) expect(isDtmfDigit(other)).toBe(false);
  });
});
