import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { cleanup } from 'node-datachannel';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { EmbeddedFabric, MeetingDirectory, type Fabric } from '../../gateway/fabric/index.js';
import { createLogger, createMetrics, type AuditRecord, type Metrics } from '../../gateway/observability/index.js';
import { DEFAULT_PIN_LIMITS, meetingAccess, PinGuard, type PinGuardLimits } from '../../gateway/policy/index.js';
import { attachSignalling } from '../../gateway/webrtc/index.js';
import { until } from '../support/until.js';

const PIN = '73519046';
const NOT_FOUND = { type: 'error', code: 'not-found', message: 'There is no meeting with this ID, or the PIN is wrong.' };

type Message = Record<string, unknown>;

/** A signalling client as the web client speaks it, without media: enough to see how a join ends. */
class Client {
  private readonly ws: WebSocket;
  /** Everything the server sent, in order. */
  readonly received: Message[] = [];
  private readonly waiters: (() => void)[] = [];
  readonly opened: Promise<void>;
  /** The close code, once the server closed the connection. */
  readonly closed: Promise<number>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
    this.ws.on('message', (data) => {
      this.received.push(JSON.parse(data.toString()) as Message);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  send(message: Message): void {
    this.ws.send(JSON.stringify(message));
  }

  /** The first message of one of `types`, waiting for it if it has not come yet. */
  async next(...types: string[]): Promise<Message> {
    for (;;) {
      const found = this.received.find((m) => types.includes(String(m.type)));
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  close(): void {
    this.ws.close(1000);
  }
}

describe('browser signalling: joining meetings with and without a PIN', () => {
  let server: Server;
  let signalling: { close(): void };
  let url: string;
  let logs: string;
  let metrics: Metrics;
  let audits: AuditRecord[];
  const clients: Client[] = [];

  async function start(options: { fabric?: Fabric; limits?: PinGuardLimits } = {}): Promise<void> {
    const directory = new MeetingDirectory([
      { id: 'board', name: 'Board', pin: PIN, policy: 'warn' },
      { id: 'open', name: 'Open', policy: 'warn' },
    ]);
    const guard = new PinGuard({ verify: (id, pin) => directory.verifyPin(id, pin), ...(options.limits ? { limits: options.limits } : {}) });
    logs = '';
    metrics = createMetrics();
    audits = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs += chunk.toString();
        done();
      },
    });
    signalling = attachSignalling(server, {
      fabric: options.fabric ?? new EmbeddedFabric(directory, metrics),
      access: meetingAccess(directory, guard),
      bindAddress: '127.0.0.1',
      logger: createLogger('debug', sink),
      metrics,
      audit: { record: (record) => audits.push(record) },
    });
  }

  async function connect(): Promise<Client> {
    const client = new Client(url);
    clients.push(client);
    await client.opened;
    return client;
  }

  /** Joins and returns the answer that ends the join ('joined' or 'error'), the close code if closed, and how long it took. */
  async function join(meetingId: string, pin?: string): Promise<{ answer: Message; client: Client; closeCode?: number; ms: number }> {
    const client = await connect();
    const started = performance.now();
    client.send({ type: 'join', meetingId, name: 'Alice', ...(pin === undefined ? {} : { pin }) });
    const answer = await client.next('joined', 'error');
    const ms = performance.now() - started;
    if (answer.type === 'joined') return { answer, client, ms };
    return { answer, client, closeCode: await client.closed, ms };
  }

  beforeEach(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    signalling.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  afterAll(() => cleanup());

  it('joins a PIN meeting with its PIN', async () => {
    await start();
    const { answer } = await join('board', PIN);
    expect(answer).toMatchObject({ type: 'joined', meeting: { id: 'board', name: 'Board' }, self: { name: 'Alice', encrypted: true } });
  });

  it('counts the browser leg while it is in, and writes one audit line with its label when it leaves', async () => {
    await start();
    const { client } = await join('board', PIN);
    expect(await metrics.legsActive.value({ origin: 'webrtc', media: 'dtls-srtp', suite: 'unknown', encrypted: 'true' })).toBe(1);
    client.close();
    await until(async () => audits.length, (n) => n === 1);
    expect(await metrics.legsActive.value({ origin: 'webrtc', media: 'dtls-srtp', suite: 'unknown', encrypted: 'true' })).toBe(0);
    expect(audits[0]).toMatchObject({
      event: 'leg-ended',
      origin: 'webrtc',
      meeting: 'board',
      label: { signalling: 'ws', media: 'dtls-srtp', encrypted: true, description: 'Browser · WebRTC over WebSocket · DTLS-SRTP' },
      outcome: 'remote-hangup',
      remoteAddress: '127.0.0.1',
    });
    expect(JSON.stringify(audits)).not.toContain(PIN);
  });

  it('refuses a PIN meeting without a PIN, with a wrong PIN and for an unknown meeting alike, each after a second, and closes', async () => {
    await start();
    const refusals = await Promise.all([join('board'), join('board', '0000'), join('board', `${PIN}9`), join('no-such-meeting'), join('no-such-meeting', PIN)]);
    for (const { answer, closeCode, ms } of refusals) {
      expect(answer).toEqual(NOT_FOUND);
      expect(closeCode).toBe(1008);
      expect(ms).toBeGreaterThanOrEqual(950);
    }
    // The operator sees each refusal, without learning which of the three it was (nor any PIN).
    expect(await metrics.calls.value({ origin: 'webrtc', outcome: 'forbidden' })).toBe(5);
    expect(audits).toHaveLength(5);
    for (const record of audits) {
      expect(record).toMatchObject({ event: 'call-refused', origin: 'webrtc', outcome: 'forbidden', remoteAddress: '127.0.0.1' });
    }
    expect(JSON.stringify(audits)).not.toContain(PIN);
  });

  it('joins a meeting without a PIN whether or not a PIN comes along', async () => {
    await start();
    expect((await join('open')).answer).toMatchObject({ type: 'joined', meeting: { id: 'open' } });
    expect((await join('open', '1234')).answer).toMatchObject({ type: 'joined', meeting: { id: 'open' } });
  });

  it('answers a PIN that is not 1-16 digits with bad-request and keeps the connection for a proper join', async () => {
    await start();
    const client = await connect();
    for (const pin of ['', '12a4', ' 1234', '1'.repeat(17), 1234, null]) {
      client.send({ type: 'join', meetingId: 'board', name: 'Alice', pin });
    }
    client.send({ type: 'join', meetingId: 'board', name: 'Alice', pin: PIN });
    expect(await client.next('joined')).toMatchObject({ type: 'joined' });
  });

  it('takes no second join while a refusal is pending, so the wait cannot be skipped', async () => {
    await start();
    const client = await connect();
    client.send({ type: 'join', meetingId: 'board', name: 'Alice', pin: '0000' });
    client.send({ type: 'join', meetingId: 'board', name: 'Alice', pin: PIN });
    expect(await client.closed).toBe(1008);
    expect(client.received).toEqual([{ type: 'error', code: 'bad-request', message: 'already joined' }, NOT_FOUND]);
  });

  it('refuses even the right PIN from a browser whose address is locked out after wrong ones', async () => {
    await start({ limits: { ...DEFAULT_PIN_LIMITS, perSource: 2 } });
    await Promise.all([join('board', '11111111'), join('board', '22222222')]);
    expect((await join('board', PIN)).answer).toEqual(NOT_FOUND);
    expect((await join('open')).answer).toMatchObject({ type: 'joined' });
  });

  it('never writes a PIN to the log', async () => {
    await start();
    await Promise.all([join('board', PIN), join('board', '86429753'), join('open', '24681357')]);
    expect(logs).not.toMatch(/73519046|86429753|24681357/);
  });

  it('passes a fabric refusal for an unencrypted leg on as encryption-required', async () => {
    await start({ fabric: { join: () => ({ ok: false, reason: 'encryption-required' }) } });
    const { answer, closeCode } = await join('open');
    expect(answer).toMatchObject({ type: 'error', code: 'encryption-required', message: expect.stringContaining('encrypted') });
    expect(closeCode).toBe(1008);
  });

  it('sends the notice text the meeting wrote when someone else joins', async () => {
    await start();
    const alice = await connect();
    alice.send({ type: 'join', meetingId: 'open', name: 'Alice' });
    await alice.next('joined');
    const bob = await connect();
    bob.send({ type: 'join', meetingId: 'open', name: 'Bob' });
    await bob.next('joined');
    expect(await alice.next('notice')).toMatchObject({ type: 'notice', event: 'joined', text: 'Bob joined', participant: { name: 'Bob', encrypted: true } });
  });
});
