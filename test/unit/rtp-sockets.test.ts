import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { PortAllocator, RtpError, RtpSocketPair } from '../../gateway/media/rtp/index.js';

const HOST = '127.0.0.1';
// A range per test run, away from common service ports.
const BASE = 40000 + 2 * Math.floor(Math.random() * 5000);

const open: RtpSocketPair[] = [];
const strangers: Socket[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
  for (const s of strangers.splice(0)) s.close();
});

async function endpoint(allocator: PortAllocator): Promise<RtpSocketPair> {
  const e = await RtpSocketPair.open({ allocator, bindAddress: HOST });
  open.push(e);
  return e;
}

function rtp(seq: number, payloadType = 0): Buffer {
  const packet = Buffer.alloc(12 + 160, 0xd5);
  packet.writeUInt8(0x80, 0);
  packet.writeUInt8(payloadType, 1);
  packet.writeUInt16BE(seq, 2);
  packet.writeUInt32BE(seq * 160, 4);
  packet.writeUInt32BE(0x1234, 8);
  return packet;
}

const RECEIVER_REPORT = Buffer.from([0x80, 201, 0x00, 0x01, 0x00, 0x00, 0x12, 0x34]);

type Received = { packet: Buffer; port: number; isRtcp: boolean };

function collect(e: RtpSocketPair): Received[] {
  const received: Received[] = [];
  e.onPacket((packet, source, isRtcp) => received.push({ packet, port: source.port, isRtcp }));
  return received;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function stranger(): Promise<Socket> {
  const s = createSocket('udp4');
  strangers.push(s);
  await new Promise<void>((resolve) => s.bind(0, HOST, resolve));
  return s;
}

describe('PortAllocator', () => {
  it('hands out distinct even ports, runs out with a clear error, and reuses released ones', () => {
    const allocator = new PortAllocator(BASE + 1, BASE + 8);
    const ports = [allocator.reserve(), allocator.reserve(), allocator.reserve()];
    expect(ports).toEqual([BASE + 2, BASE + 4, BASE + 6]);
    expect(() => allocator.reserve()).toThrow(new RtpError(`no free RTP port pair in ${BASE + 1}-${BASE + 8}`));
    allocator.release(BASE + 4);
    expect(allocator.reserve()).toBe(BASE + 4);
  });

  it.each([
    [5000, 4000],
    [100, 200],
    [20001, 20001],
    [1.5, 2000],
  ])('refuses the range %d-%d', (min, max) => {
    expect(() => new PortAllocator(min, max)).toThrow(RangeError);
  });
});

describe('RtpSocketPair', () => {
  it('exchanges RTP between two endpoints and counts it', async () => {
    const allocator = new PortAllocator(BASE, BASE + 19);
    const a = await endpoint(allocator);
    const b = await endpoint(allocator);
    expect(a.rtpPort % 2).toBe(0);
    expect(b.rtcpPort).toBe(b.rtpPort + 1);
    const atB = collect(b);

    for (let seq = 1; seq <= 3; seq++) a.send(rtp(seq), HOST, b.rtpPort);
    await until(() => atB.length === 3, 'three RTP packets');

    expect(atB.map((r) => [r.packet.readUInt16BE(2), r.port, r.isRtcp])).toEqual([
      [1, a.rtpPort, false],
      [2, a.rtpPort, false],
      [3, a.rtpPort, false],
    ]);
    expect(b.counters).toMatchObject({ packetsIn: 3, bytesIn: 3 * 172 });
    expect(a.counters).toMatchObject({ packetsOut: 3, bytesOut: 3 * 172 });
    expect(b.latchedSource).toEqual({ address: HOST, port: a.rtpPort });
  });

  it('demultiplexes RTCP arriving on the RTP port (rtcp-mux) and on the RTCP port', async () => {
    const allocator = new PortAllocator(BASE, BASE + 19);
    const a = await endpoint(allocator);
    const b = await endpoint(allocator);
    const atB = collect(b);

    a.send(rtp(1), HOST, b.rtpPort);
    await until(() => atB.length === 1, 'RTP');
    a.send(RECEIVER_REPORT, HOST, b.rtpPort);
    await until(() => atB.length === 2, 'muxed RTCP');
    a.sendRtcp(RECEIVER_REPORT, HOST, b.rtcpPort);
    await until(() => atB.length === 3, 'RTCP');

    expect(atB.map((r) => [r.isRtcp, r.port])).toEqual([
      [false, a.rtpPort],
      [true, a.rtpPort],
      [true, a.rtcpPort],
    ]);
  });

  it('latches the first source and drops packets from anyone else', async () => {
    const allocator = new PortAllocator(BASE, BASE + 19);
    const a = await endpoint(allocator);
    const b = await endpoint(allocator);
    const intruder = await stranger();
    const atB = collect(b);

    a.send(rtp(1), HOST, b.rtpPort);
    await until(() => atB.length === 1, 'first packet');
    intruder.send(rtp(99), b.rtpPort, HOST);
    await until(() => b.counters.foreignDropped === 1, 'the intruder packet');
    a.send(rtp(2), HOST, b.rtpPort);
    await until(() => atB.length === 2, 'second packet');

    expect(atB.map((r) => r.packet.readUInt16BE(2))).toEqual([1, 2]);
  });

  it('drops malformed packets without latching on them', async () => {
    const allocator = new PortAllocator(BASE, BASE + 19);
    const a = await endpoint(allocator);
    const b = await endpoint(allocator);
    const junk = await stranger();
    const atB = collect(b);

    for (const garbage of [Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(40, 0x4f), Buffer.from([0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])]) {
      junk.send(garbage, b.rtpPort, HOST);
    }
    junk.send(rtp(5), b.rtcpPort, HOST);
    await until(() => b.counters.malformedDropped === 5, 'five malformed packets');
    a.send(rtp(1), HOST, b.rtpPort);
    await until(() => atB.length === 1, 'a valid packet');

    expect(b.latchedSource).toEqual({ address: HOST, port: a.rtpPort });
  });

  it('skips a port pair something else holds', async () => {
    const allocator = new PortAllocator(BASE + 20, BASE + 23);
    const squatter = createSocket('udp4');
    strangers.push(squatter);
    await new Promise<void>((resolve) => squatter.bind(BASE + 21, HOST, resolve));

    const e = await endpoint(allocator);
    expect(e.rtpPort).toBe(BASE + 22);
    expect(allocator.allocatedCount).toBe(1);
  });

  it('fails clearly when the range is exhausted, and frees ports on close', async () => {
    const allocator = new PortAllocator(BASE + 30, BASE + 31);
    const e = await endpoint(allocator);
    await expect(RtpSocketPair.open({ allocator, bindAddress: HOST })).rejects.toThrow(RtpError);
    await e.close();
    expect(allocator.allocatedCount).toBe(0);
    const again = await endpoint(allocator);
    expect(again.rtpPort).toBe(BASE + 30);
  });

  it('ignores sends after close and to impossible ports', async () => {
    const allocator = new PortAllocator(BASE, BASE + 19);
    const e = await endpoint(allocator);
    e.send(rtp(1), HOST, 0);
    expect(e.counters).toMatchObject({ packetsOut: 0, sendErrors: 1 });
    await e.close();
    e.send(rtp(2), HOST, 5004);
    expect(e.counters.packetsOut).toBe(0);
  });
});
