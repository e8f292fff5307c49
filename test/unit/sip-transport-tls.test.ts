import { connect as netConnect } from 'node:net';
import { connect } from 'node:tls';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createResponse, parseMessage } from '../../gateway/sip/message/index.js';
import type { SipRequest } from '../../gateway/sip/message/index.js';
import { SipTransportLayer } from '../../gateway/sip/transport/index.js';
import type { InboundMessage, TlsHandshakeEvent } from '../../gateway/sip/transport/index.js';
import { delay, makeTestPki, nextEvent, sipRequest } from './sip-transport-helpers.js';
import type { TestPki } from './sip-transport-helpers.js';

let pki: TestPki;
const layers: SipTransportLayer[] = [];
const sockets: TLSSocket[] = [];

beforeAll(() => {
  pki = makeTestPki();
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(layers.splice(0).map((layer) => layer.close()));
});

async function tlsListener(
  requestClientCert = false,
  key: 'ec' | 'rsa' = 'ec',
): Promise<{ layer: SipTransportLayer; port: number; handshakes: TlsHandshakeEvent[] }> {
  const layer = new SipTransportLayer();
  layers.push(layer);
  const handshakes: TlsHandshakeEvent[] = [];
  layer.on('tlsHandshake', (event) => handshakes.push(event));
  const ports = await layer.listen({
    bind: '127.0.0.1',
    tlsPort: 0,
    tls: {
      key: key === 'ec' ? pki.serverKey : pki.rsaServerKey,
      cert: key === 'ec' ? pki.serverCert : pki.rsaServerCert,
      ...(requestClientCert ? { ca: pki.clientCert } : {}),
      requestClientCert,
    },
  });
  return { layer, port: ports.tls!, handshakes };
}

/** Connects a plain node:tls client; resolves with the socket, or with the handshake error. */
function tlsClient(port: number, options: ConnectionOptions = {}): Promise<TLSSocket | Error> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: [pki.serverCert, pki.rsaServerCert], ...options });
    sockets.push(socket);
    socket.once('secureConnect', () => {
      // TLS 1.3 reports a rejected client certificate only after the handshake: give it a moment.
      setTimeout(() => resolve(socket.destroyed ? new Error('closed by server') : socket), 100);
    });
    socket.once('error', (err) => resolve(err));
  });
}

async function handshakeCount(handshakes: TlsHandshakeEvent[], n: number): Promise<void> {
  for (let waited = 0; handshakes.length < n && waited < 3000; waited += 10) await delay(10);
}

describe('SIP over TLS: policy', () => {
  it('accepts TLS 1.2 and TLS 1.3 clients and counts both handshakes', async () => {
    const { port, handshakes } = await tlsListener();
    const v12 = await tlsClient(port, { maxVersion: 'TLSv1.2' });
    const v13 = await tlsClient(port, { minVersion: 'TLSv1.3' });
    expect(v12).not.toBeInstanceOf(Error);
    expect(v13).not.toBeInstanceOf(Error);
    expect((v12 as TLSSocket).getProtocol()).toBe('TLSv1.2');
    expect((v12 as TLSSocket).getCipher().name).toMatch(/^ECDHE-ECDSA-.*(GCM|CHACHA20)/);
    expect((v13 as TLSSocket).getProtocol()).toBe('TLSv1.3');
    await handshakeCount(handshakes, 2);
    expect(handshakes).toEqual([
      { result: 'ok', version: 'TLSv1.2', side: 'server' },
      { result: 'ok', version: 'TLSv1.3', side: 'server' },
    ]);
  });

  it('refuses a TLS 1.1 client and counts the failure', async () => {
    const { port, handshakes } = await tlsListener();
    const result = await tlsClient(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    expect(result).toBeInstanceOf(Error);
    await handshakeCount(handshakes, 1);
    expect(handshakes).toEqual([{ result: 'failed', version: 'unknown', side: 'server' }]);
  });

  it('offers ECDHE-RSA with AEAD on an RSA certificate', async () => {
    const { port } = await tlsListener(false, 'rsa');
    const socket = await tlsClient(port, { maxVersion: 'TLSv1.2' });
    expect((socket as TLSSocket).getCipher().name).toMatch(/^ECDHE-RSA-.*(GCM|CHACHA20)/);
  });

  it.each([
    ['ec', 'ECDHE-ECDSA-AES128-SHA256'],
    ['rsa', 'ECDHE-RSA-AES128-SHA256'],
    ['rsa', 'AES128-SHA256'],
  ] as const)(
    'refuses a TLS 1.2 client that offers only a CBC cipher (%s certificate, %s)',
    async (key, cipher) => {
      const { port, handshakes } = await tlsListener(false, key);
      const result = await tlsClient(port, { maxVersion: 'TLSv1.2', ciphers: cipher });
      expect(result).toBeInstanceOf(Error);
      await handshakeCount(handshakes, 1);
      expect(handshakes[0]?.result).toBe('failed');
    },
  );

  it('counts plain bytes on the TLS port as a failed handshake and closes the connection', async () => {
    const { port, handshakes } = await tlsListener();
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    socket.write(sipRequest({}));
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await handshakeCount(handshakes, 1);
    expect(handshakes).toEqual([{ result: 'failed', version: 'unknown', side: 'server' }]);
  });

  it('refuses TLS 1.2 renegotiation', async () => {
    const { port } = await tlsListener();
    const socket = (await tlsClient(port, { maxVersion: 'TLSv1.2' })) as TLSSocket;
    const renegotiated = await new Promise<Error | null>((resolve) => {
      socket.once('error', (err) => resolve(err));
      socket.once('close', () => resolve(new Error('closed')));
      if (!socket.renegotiate({}, (err) => resolve(err))) resolve(new Error('not started'));
    });
    expect(renegotiated).toBeInstanceOf(Error);
  });

  it('demands a client certificate when configured, and reports the verified peer', async () => {
    const { layer, port, handshakes } = await tlsListener(true);
    expect(await tlsClient(port, { maxVersion: 'TLSv1.2' })).toBeInstanceOf(Error);
    expect(await tlsClient(port, { minVersion: 'TLSv1.3' })).toBeInstanceOf(Error);
    await handshakeCount(handshakes, 2);
    expect(handshakes.map((h) => h.result)).toEqual(['failed', 'failed']);

    const room = await tlsClient(port, { key: pki.clientKey, cert: pki.clientCert });
    expect(room).not.toBeInstanceOf(Error);
    const arrived = nextEvent<InboundMessage>(layer, 'message');
    (room as TLSSocket).write(sipRequest({ via: 'SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-tls' }));
    const inbound = await arrived;
    expect(inbound.source.transport).toBe('tls');
    expect(inbound.tls).toMatchObject({ version: 'TLSv1.3', peerVerified: true, peerSubject: 'room-system-1' });
  });
});

describe('SIP over TLS: messages', () => {
  it('delivers a request with TLS facts and answers on the same connection', async () => {
    const { layer, port } = await tlsListener();
    const socket = (await tlsClient(port, { maxVersion: 'TLSv1.2' })) as TLSSocket;
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const arrived = nextEvent<InboundMessage>(layer, 'message');
    socket.write(sipRequest({ via: 'SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-tls' }));
    const inbound = await arrived;
    expect(inbound.tls).toMatchObject({ version: 'TLSv1.2', peerVerified: false });
    expect(inbound.tls?.cipher).toMatch(/GCM|CHACHA20/);
    await layer.send(createResponse(inbound.message as SipRequest, 200, 'OK', 't'), {
      ...inbound.source,
      connectionId: inbound.connectionId,
    });
    for (let waited = 0; !received.includes('\r\n\r\n') && waited < 3000; waited += 10) await delay(10);
    expect(received).toMatch(/^SIP\/2\.0 200 OK\r\n/);
  });

  it('connects out over TLS with the same policy, verifying the peer', async () => {
    const { layer: peer, port } = await tlsListener();
    const gateway = new SipTransportLayer({ tlsClient: { ca: pki.serverCert } });
    layers.push(gateway);
    const handshakes: TlsHandshakeEvent[] = [];
    gateway.on('tlsHandshake', (event) => handshakes.push(event));
    const arrived = nextEvent<InboundMessage>(peer, 'message');
    await gateway.send(parseMessage(Buffer.from(sipRequest({}))), { transport: 'tls', address: '127.0.0.1', port });
    expect((await arrived).tls?.version).toBe('TLSv1.3');
    expect(handshakes).toEqual([{ result: 'ok', version: 'TLSv1.3', side: 'client' }]);
  });

  it('refuses to send to a TLS peer whose certificate it cannot verify', async () => {
    const { layer: peer, port } = await tlsListener();
    const messages: InboundMessage[] = [];
    peer.on('message', (m) => messages.push(m));
    const gateway = new SipTransportLayer();
    layers.push(gateway);
    const handshakes: TlsHandshakeEvent[] = [];
    gateway.on('tlsHandshake', (event) => handshakes.push(event));
    await expect(
      gateway.send(parseMessage(Buffer.from(sipRequest({}))), { transport: 'tls', address: '127.0.0.1', port }),
    ).rejects.toThrow(/self[- ]signed/i);
    expect(handshakes).toEqual([{ result: 'failed', version: 'unknown', side: 'client' }]);
    expect(messages).toHaveLength(0);
  });
});
