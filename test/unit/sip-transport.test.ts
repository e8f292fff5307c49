import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createResponse, parseMessage } from '../../gateway/sip/message/index.js';
import type { SipRequest } from '../../gateway/sip/message/index.js';
import { SipTransportLayer } from '../../gateway/sip/transport/index.js';
import type {
  BoundPorts,
  ConnectionEvent,
  InboundMessage,
  ParseErrorEvent,
} from '../../gateway/sip/transport/index.js';
import { delay, nextEvent, sipRequest } from './sip-transport-helpers.js';

let layer: SipTransportLayer;
let ports: BoundPorts;
const cleanups: (() => void)[] = [];

beforeEach(async () => {
  layer = new SipTransportLayer();
  ports = await layer.listen({ bind: '127.0.0.1', udpPort: 0, tcpPort: 0 });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await layer.close();
});

async function udpClient(): Promise<{ socket: UdpSocket; port: number; replies: Buffer[] }> {
  const socket = createSocket('udp4');
  const replies: Buffer[] = [];
  socket.on('message', (data) => replies.push(data));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => socket.close());
  return { socket, port: socket.address().port, replies };
}

async function tcpClient(port: number): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect({ host: '127.0.0.1', port });
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  cleanups.push(() => socket.destroy());
  return { socket, received: () => text };
}

/** Polls until `check` holds; bounded so that a failure shows as an assertion, not a hang. */
async function until(check: () => boolean, ms = 3000): Promise<void> {
  for (let waited = 0; !check() && waited < ms; waited += 10) await delay(10);
}

describe('SIP over UDP', () => {
  it('reports the listener ports and marks only streams reliable', () => {
    expect(ports.udp).toBeGreaterThan(0);
    expect(ports.tcp).toBeGreaterThan(0);
    expect(ports.tls).toBeNull();
    expect(layer.localAddress('udp')).toEqual({ transport: 'udp', address: '127.0.0.1', port: ports.udp });
    expect(layer.isReliable('udp')).toBe(false);
    expect(layer.isReliable('tcp')).toBe(true);
    expect(() => layer.localAddress('tls')).toThrow(/not listening/);
  });

  it('delivers a request with its real source and stamps received and rport in the top Via', async () => {
    const client = await udpClient();
    const arrived = nextEvent<InboundMessage>(layer, 'message');
    client.socket.send(
      sipRequest({ via: 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1;rport, SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK-0' }),
      ports.udp!,
      '127.0.0.1',
    );
    const inbound = await arrived;
    expect(inbound.source).toEqual({ transport: 'udp', address: '127.0.0.1', port: client.port });
    expect(inbound.local).toEqual({ transport: 'udp', address: '127.0.0.1', port: ports.udp });
    expect(inbound.connectionId).toBeUndefined();
    const vias = inbound.message.headers.getList('Via');
    expect(vias[0]).toBe(`SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1;rport=${client.port};received=127.0.0.1`);
    expect(vias[1]).toBe('SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK-0');
  });

  it('leaves the Via alone when it already names the source and no rport is asked for', async () => {
    const client = await udpClient();
    const arrived = nextEvent<InboundMessage>(layer, 'message');
    client.socket.send(sipRequest({ via: 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-2' }), ports.udp!, '127.0.0.1');
    expect((await arrived).message.headers.get('Via')).toBe('SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-2');
  });

  it('sends a response back to the source', async () => {
    const client = await udpClient();
    const arrived = nextEvent<InboundMessage>(layer, 'message');
    client.socket.send(sipRequest({}), ports.udp!, '127.0.0.1');
    const inbound = await arrived;
    await layer.send(createResponse(inbound.message as SipRequest, 200, 'OK', 'srv1'), inbound.source);
    await until(() => client.replies.length > 0);
    const reply = client.replies[0]!.toString();
    expect(reply).toMatch(/^SIP\/2\.0 200 OK\r\n/);
    expect(reply).toContain('call-1@example.com');
  });

  it('survives garbage, answers nothing to it, and keeps working', async () => {
    const client = await udpClient();
    const errors: ParseErrorEvent[] = [];
    layer.on('parseError', (event) => errors.push(event));
    for (const junk of [Buffer.from([0, 1, 2, 255, 254]), Buffer.from('hello\r\n\r\n'), Buffer.alloc(1400, 0x41)]) {
      client.socket.send(junk, ports.udp!, '127.0.0.1');
    }
    await until(() => errors.length === 3);
    expect(errors).toHaveLength(3);
    expect(errors.every((e) => e.transport === 'udp' && !e.answered && e.source.port === client.port)).toBe(true);

    const arrived = nextEvent<InboundMessage>(layer, 'message');
    client.socket.send(sipRequest({ callId: 'after-garbage' }), ports.udp!, '127.0.0.1');
    expect((await arrived).message.headers.get('Call-ID')).toBe('after-garbage');
    expect(client.replies).toHaveLength(0);
  });

  it('answers a malformed request whose headers are readable with a 400 that says why', async () => {
    const client = await udpClient();
    const failed = nextEvent<ParseErrorEvent>(layer, 'parseError');
    const bad = sipRequest({}).replace('OPTIONS sip:echo@127.0.0.1 SIP/2.0', 'OPTIONS not-a-uri SIP/2.0');
    client.socket.send(bad, ports.udp!, '127.0.0.1');
    expect((await failed).answered).toBe(true);
    await until(() => client.replies.length > 0);
    const reply = client.replies[0]!.toString();
    expect(reply).toMatch(/^SIP\/2\.0 400 Bad Request \(malformed message: \S/);
    expect(reply).toContain('Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-test1\r\n');
    expect(reply).toContain('Call-ID: call-1@example.com\r\n');
    expect(reply).toContain('CSeq: 1 OPTIONS\r\n');
    expect(reply).toMatch(/To: <sip:echo@127\.0\.0\.1>;tag=\w+/);
  });

  it('never answers a malformed ACK', async () => {
    const client = await udpClient();
    const failed = nextEvent<ParseErrorEvent>(layer, 'parseError');
    const bad = sipRequest({ method: 'ACK' }).replace('ACK sip:echo@127.0.0.1 SIP/2.0', 'ACK not-a-uri SIP/2.0');
    client.socket.send(bad, ports.udp!, '127.0.0.1');
    expect((await failed).answered).toBe(false);
  });

  it('ignores CRLF keep-alive datagrams', async () => {
    const client = await udpClient();
    const errors: ParseErrorEvent[] = [];
    layer.on('parseError', (event) => errors.push(event));
    client.socket.send('\r\n\r\n', ports.udp!, '127.0.0.1');
    const arrived = nextEvent<InboundMessage>(layer, 'message');
    client.socket.send(sipRequest({}), ports.udp!, '127.0.0.1');
    await arrived;
    expect(errors).toHaveLength(0);
    expect(client.replies).toHaveLength(0);
  });
});

describe('SIP over TCP', () => {
  it('delivers two messages that arrive in one chunk', async () => {
    const client = await tcpClient(ports.tcp!);
    const messages: InboundMessage[] = [];
    layer.on('message', (m) => messages.push(m));
    client.socket.write(sipRequest({ callId: 'one' }) + sipRequest({ callId: 'two', body: 'v=0\r\n' }));
    await until(() => messages.length === 2);
    expect(messages.map((m) => m.message.headers.get('Call-ID'))).toEqual(['one', 'two']);
    expect(messages[1]!.message.body.toString()).toBe('v=0\r\n');
    expect(messages[0]!.connectionId).toBeDefined();
    expect(messages[1]!.connectionId).toBe(messages[0]!.connectionId);
    expect(messages[0]!.source).toEqual({ transport: 'tcp', address: '127.0.0.1', port: client.socket.localPort });
    expect(messages[0]!.tls).toBeUndefined();
  });

  it('delivers a message that arrives a few bytes at a time', async () => {
    const client = await tcpClient(ports.tcp!);
    const arrived = nextEvent<InboundMessage>(layer, 'message');
    const data = Buffer.from(sipRequest({ callId: 'split', body: 'a body of some length' }));
    for (let at = 0; at < data.length; at += 7) {
      client.socket.write(data.subarray(at, at + 7));
      await delay(1);
    }
    const inbound = await arrived;
    expect(inbound.message.headers.get('Call-ID')).toBe('split');
    expect(inbound.message.body.toString()).toBe('a body of some length');
  });

  it('answers a CRLFCRLF ping with one CRLF and ignores a lone CRLF', async () => {
    const client = await tcpClient(ports.tcp!);
    client.socket.write('\r\n');
    await delay(50);
    client.socket.write('\r\n\r\n');
    await until(() => client.received().length > 0);
    await delay(50);
    expect(client.received()).toBe('\r\n');
  });

  it('sends the response on the connection the request came in on', async () => {
    const client = await tcpClient(ports.tcp!);
    const arrived = nextEvent<InboundMessage>(layer, 'message');
    client.socket.write(sipRequest({ via: 'SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK-t' }));
    const inbound = await arrived;
    // The Via's sent-by port has no listener: only the open connection can carry this response.
    await layer.send(createResponse(inbound.message as SipRequest, 200, 'OK', 'x'), {
      transport: 'tcp',
      address: '127.0.0.1',
      port: 1,
      connectionId: inbound.connectionId,
    });
    await until(() => client.received().includes('\r\n\r\n'));
    expect(client.received()).toMatch(/^SIP\/2\.0 200 OK\r\n/);
  });

  it('answers a malformed request with 400 on the same connection and keeps it open', async () => {
    const client = await tcpClient(ports.tcp!);
    client.socket.write(sipRequest({}).replace('sip:echo@127.0.0.1 SIP', 'not-a-uri SIP'));
    await until(() => client.received().includes('\r\n\r\n'));
    expect(client.received()).toMatch(/^SIP\/2\.0 400 /);
    const arrived = nextEvent<InboundMessage>(layer, 'message');
    client.socket.write(sipRequest({ callId: 'still-open' }));
    expect((await arrived).message.headers.get('Call-ID')).toBe('still-open');
  });

  it('closes a connection whose byte stream cannot be framed', async () => {
    const client = await tcpClient(ports.tcp!);
    const failed = nextEvent<ParseErrorEvent>(layer, 'parseError');
    const closed = new Promise<void>((resolve) => client.socket.once('close', () => resolve()));
    client.socket.write(`OPTIONS sip:x SIP/2.0\r\nX-Long: ${'a'.repeat(1024 * 1024)}`);
    expect((await failed).transport).toBe('tcp');
    await closed;
  });

  it('survives a peer that resets the connection halfway through a message', async () => {
    const events: ConnectionEvent[] = [];
    layer.on('connection', (e) => events.push(e));
    const client = await tcpClient(ports.tcp!);
    client.socket.write(sipRequest({}).slice(0, 80));
    await delay(20);
    client.socket.resetAndDestroy();
    await until(() => events.some((e) => e.state === 'closed'));
    expect(events.map((e) => e.state)).toEqual(['open', 'closed']);

    const next = await tcpClient(ports.tcp!);
    const arrived = nextEvent<InboundMessage>(layer, 'message');
    next.socket.write(sipRequest({ callId: 'after-reset' }));
    expect((await arrived).message.headers.get('Call-ID')).toBe('after-reset');
  });

  it('reuses one outbound connection for requests to the same peer, and responses come back on it', async () => {
    const peer = new SipTransportLayer();
    const peerPorts = await peer.listen({ bind: '127.0.0.1', tcpPort: 0 });
    try {
      const atPeer: InboundMessage[] = [];
      peer.on('message', (m) => {
        atPeer.push(m);
        void peer.send(createResponse(m.message as SipRequest, 200, 'OK', 'p'), {
          ...m.source,
          connectionId: m.connectionId,
        });
      });
      const responses: InboundMessage[] = [];
      layer.on('message', (m) => responses.push(m));
      const target = { transport: 'tcp' as const, address: '127.0.0.1', port: peerPorts.tcp! };
      await layer.send(parseMessage(Buffer.from(sipRequest({ callId: 'r1' }))), target);
      await layer.send(parseMessage(Buffer.from(sipRequest({ callId: 'r2' }))), target);
      await until(() => responses.length === 2);
      expect(atPeer.map((m) => m.message.headers.get('Call-ID'))).toEqual(['r1', 'r2']);
      expect(atPeer[1]!.connectionId).toBe(atPeer[0]!.connectionId);
      expect(responses.map((m) => m.message.type)).toEqual(['response', 'response']);
      expect(responses[0]!.connectionId).toBe(responses[1]!.connectionId);
    } finally {
      await peer.close();
    }
  });

  it('refuses to send over UDP when no UDP listener runs', async () => {
    const streamsOnly = new SipTransportLayer();
    await streamsOnly.listen({ bind: '127.0.0.1', tcpPort: 0 });
    await expect(
      streamsOnly.send(parseMessage(Buffer.from(sipRequest({}))), { transport: 'udp', address: '127.0.0.1', port: 9 }),
    ).rejects.toThrow(/UDP is not listening/);
    await streamsOnly.close();
  });

  it('rejects a TLS port without a certificate', async () => {
    await expect(new SipTransportLayer().listen({ bind: '127.0.0.1', tlsPort: 0 })).rejects.toThrow(/key and certificate/);
  });
});

describe('connection limits', () => {
  it('closes idle connections, unless keep-alives arrive', async () => {
    const idle = new SipTransportLayer({ idleTimeoutMs: 300 });
    const idlePorts = await idle.listen({ bind: '127.0.0.1', tcpPort: 0 });
    try {
      const quiet = await tcpClient(idlePorts.tcp!);
      const chatty = await tcpClient(idlePorts.tcp!);
      let quietClosed = false;
      let chattyClosed = false;
      quiet.socket.on('close', () => (quietClosed = true));
      chatty.socket.on('close', () => (chattyClosed = true));
      for (let i = 0; i < 8; i++) {
        chatty.socket.write('\r\n\r\n');
        await delay(100);
      }
      expect(quietClosed).toBe(true);
      expect(chattyClosed).toBe(false);
    } finally {
      await idle.close();
    }
  });

  it('turns away connections beyond the limit', async () => {
    const small = new SipTransportLayer({ maxConnections: 1 });
    const smallPorts = await small.listen({ bind: '127.0.0.1', tcpPort: 0 });
    try {
      const opened: ConnectionEvent[] = [];
      small.on('connection', (e) => opened.push(e));
      const first = await tcpClient(smallPorts.tcp!);
      const second = await tcpClient(smallPorts.tcp!);
      const secondClosed = new Promise<void>((resolve) => second.socket.once('close', () => resolve()));
      await secondClosed;
      expect(first.socket.destroyed).toBe(false);
      expect(opened.filter((e) => e.state === 'open')).toHaveLength(1);
    } finally {
      await small.close();
    }
  });
});
