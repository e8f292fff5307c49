import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Fabric, ParticipantSession, RosterEntry } from '../fabric/index.js';
import { auditLabel, durationSince, legMetricLabels, printableAgent, streamMetricEvents, type SecurityLabel } from '../calls/index.js';
import type { AuditLog, CallOutcomeLabel, Logger, Metrics } from '../observability/index.js';
import { BrowserPeer } from './browser-peer.js';

/**
 * Who may enter which meeting, asked before a browser joins. The gateway answers it with the
 * meeting directory and the PIN guard, so browsers share the guessing limits with phone callers.
 */
export interface MeetingAccess {
  /**
   * 'ok' when the meeting exists and has no PIN, or `pin` opens it; 'denied' for an unknown
   * meeting, a missing or wrong PIN, or a locked-out source. `source` is the browser's address.
   */
  check(meetingId: string, pin: string | undefined, source: string): Promise<'ok' | 'denied'>;
}

export interface SignallingOptions {
  fabric: Fabric;
  access: MeetingAccess;
  /** Address ICE candidates are gathered on. */
  bindAddress: string;
  portRange?: { min: number; max: number };
  logger: Logger;
  metrics: Metrics;
  audit: Pick<AuditLog, 'record'>;
}

/** What every connection shares with the endpoint: whether joins are still taken, and whom to tell when a participant leaves. */
interface Endpoint {
  draining: boolean;
  participantLeft(): void;
}

/** Who is at the other end of one signalling connection, as the upgrade request showed it. */
interface BrowserOrigin {
  /** The browser's address, the PIN guard's per-source key. */
  readonly address: string;
  readonly userAgent?: string;
}

const PATH = '/ws';
const MAX_MESSAGE_BYTES = 256 * 1024;
const JOIN_TIMEOUT_MS = 10_000;
const MAX_NAME_LENGTH = 64;
const MAX_MEETING_ID_LENGTH = 64;
const MAX_PIN_LENGTH = 16;
const PIN_PATTERN = new RegExp(`^[0-9]{1,${MAX_PIN_LENGTH}}$`);
// Slows guessing down for everyone, and answers unknown meetings as late as wrong PINs.
const REFUSAL_DELAY_MS = 1000;
const NOT_FOUND_MESSAGE = 'There is no meeting with this ID, or the PIN is wrong.';
const ENCRYPTION_REQUIRED_MESSAGE = 'This meeting admits only encrypted connections, and this one is not encrypted.';
const SHUTDOWN_MESSAGE = 'The gateway is shutting down. Please join again in a moment.';
/** How long browsers get to answer the close at shutdown before their connections are cut. */
const SHUTDOWN_CLOSE_WAIT_MS = 1000;

type ErrorCode = 'not-found' | 'encryption-required' | 'bad-request' | 'meeting-ended' | 'shutdown' | 'internal';

class BadRequest extends Error {}

function field(message: Record<string, unknown>, name: string, maxLength: number): string {
  const value = message[name];
  if (typeof value !== 'string' || value.length > maxLength) throw new BadRequest(`"${name}" must be a string of at most ${maxLength} characters`);
  return value;
}

function pinField(message: Record<string, unknown>): string | undefined {
  const { pin } = message;
  if (pin === undefined) return undefined;
  if (typeof pin !== 'string' || !PIN_PATTERN.test(pin)) throw new BadRequest(`"pin" must be 1-${MAX_PIN_LENGTH} digits`);
  return pin;
}

function parse(data: RawData): Record<string, unknown> {
  let message: unknown;
  try {
    message = JSON.parse(data.toString());
  } catch {
    throw new BadRequest('messages must be JSON');
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message) || typeof (message as { type?: unknown }).type !== 'string') {
    throw new BadRequest('a message is a JSON object with a "type"');
  }
  return message as Record<string, unknown>;
}

/** One browser's signalling connection, from join to leave. */
class BrowserConnection {
  private session: ParticipantSession | undefined;
  private peer: BrowserPeer | undefined;
  // One join per connection: another during the refusal delay would be a guess without the wait.
  private joinRequested = false;
  private readonly joinTimer: NodeJS.Timeout;
  private refusalTimer: NodeJS.Timeout | undefined;
  private joinedAt = 0;
  /** Why the leg ended, for the audit log; a closed socket is the browser leaving. */
  private endCause = 'remote-hangup';

  constructor(
    private readonly ws: WebSocket,
    private readonly label: SecurityLabel,
    private readonly origin: BrowserOrigin,
    private readonly options: SignallingOptions,
    private readonly endpoint: Endpoint,
  ) {
    this.joinTimer = setTimeout(() => this.fail('bad-request', 'no join within 10 s'), JOIN_TIMEOUT_MS);
    ws.on('message', (data) => this.receive(data));
    ws.on('close', () => this.leave());
    ws.on('error', () => this.leave());
  }

  private receive(data: RawData): void {
    try {
      const message = parse(data);
      switch (message.type) {
        case 'join':
          return this.join(message);
        case 'answer':
          return this.answer(message);
        case 'media-state':
          return this.session?.setMediaState({ audioMuted: message.audioMuted === true, videoMuted: message.videoMuted === true });
        case 'leave':
          return this.ws.close(1000);
        default:
          throw new BadRequest(`unknown message type "${String(message.type)}"`);
      }
    } catch (err) {
      if (err instanceof BadRequest) return this.send({ type: 'error', code: 'bad-request', message: err.message });
      this.internalError(err);
    }
  }

  private join(message: Record<string, unknown>): void {
    if (this.joinRequested) throw new BadRequest('already joined');
    if (this.refusedWhileDraining()) return;
    const meetingId = field(message, 'meetingId', MAX_MEETING_ID_LENGTH).trim();
    const name = field(message, 'name', 256).replace(/[\p{Cc}\p{Cf}]/gu, '').trim().slice(0, MAX_NAME_LENGTH) || 'Guest';
    const pin = pinField(message);
    const requestedAt = performance.now();
    this.joinRequested = true;
    clearTimeout(this.joinTimer);
    this.options.access.check(meetingId, pin, this.origin.address).then(
      (access) => {
        // The browser may have gone while the PIN was checked.
        if (this.ws.readyState !== this.ws.OPEN) return;
        if (access !== 'ok') {
          this.refused('forbidden');
          return this.refuse();
        }
        // A drain may have begun while the PIN was checked.
        if (this.refusedWhileDraining()) return;
        try {
          this.enter(meetingId, name, requestedAt);
        } catch (err) {
          this.internalError(err);
        }
      },
      (err: unknown) => this.internalError(err),
    );
  }

  private internalError(err: unknown): void {
    this.options.logger.error({ err }, 'browser signalling failed');
    this.fail('internal', 'internal error');
  }

  /** Joins the meeting, once the browser may; `requestedAt` (performance.now()) is when it asked. */
  private enter(meetingId: string, name: string, requestedAt: number): void {
    const peer = new BrowserPeer({
      bindAddress: this.options.bindAddress,
      portRange: this.options.portRange,
      sendOffer: (offer) => this.send({ type: 'offer', ...offer }),
      onFailed: () => this.ws.close(1011, 'media connection failed'),
      events: streamMetricEvents(this.options.metrics, this.label.origin),
    });
    const joined = this.options.fabric.join(meetingId, { name, kind: 'browser', label: this.label, reception: peer });
    if (!joined.ok) {
      peer.close();
      if (joined.reason === 'encryption-required') {
        this.options.metrics.policyRefusals.inc({ origin: 'webrtc' });
        this.refused('forbidden');
        return this.fail('encryption-required', ENCRYPTION_REQUIRED_MESSAGE);
      }
      this.refused('not_found');
      return this.refuse();
    }
    const { session } = joined;
    this.peer = peer;
    this.session = session;
    this.joinedAt = Date.now();
    this.options.metrics.calls.inc({ origin: 'webrtc', outcome: 'answered' });
    this.options.metrics.callSetupSeconds.observe({ origin: 'webrtc' }, (performance.now() - requestedAt) / 1000);
    this.options.metrics.legsActive.inc(legMetricLabels(this.label));
    session.publish(peer.audio);
    session.publish(peer.video);
    let announced = false;
    session.onRoster((roster) => {
      const participants = roster.map((e) => this.entry(e, session.id));
      if (!announced) {
        announced = true;
        this.send({ type: 'joined', self: participants.find((e) => e.id === session.id), meeting: session.meeting });
      }
      this.send({ type: 'roster', participants });
    });
    session.onNotice((notice) => this.send({ type: 'notice', event: notice.event, text: notice.text, participant: this.entry(notice.participant, session.id) }));
    session.onEnded((reason) =>
      reason === 'encryption-required' ? this.fail('encryption-required', ENCRYPTION_REQUIRED_MESSAGE) : this.fail('meeting-ended', 'The meeting was ended.'),
    );
    peer.start();
  }

  /**
   * Unknown, deleted and PIN-protected meetings answer alike and equally late (DESIGN.md: IDs are
   * not enumerable, unknown IDs and wrong PINs look the same).
   */
  private refuse(): void {
    this.refusalTimer = setTimeout(() => this.fail('not-found', NOT_FOUND_MESSAGE), REFUSAL_DELAY_MS);
  }

  get inMeeting(): boolean {
    return this.session !== undefined;
  }

  /** Tells the browser the gateway is going away, and ends its leg. */
  shutDown(): void {
    this.fail('shutdown', SHUTDOWN_MESSAGE);
  }

  private entry(entry: RosterEntry, selfId: string) {
    const { label: _label, ...shown } = entry;
    return entry.id === selfId ? { ...shown, self: true } : shown;
  }

  private answer(message: Record<string, unknown>): void {
    if (!this.peer) throw new BadRequest('join first');
    const sdp = field(message, 'sdp', MAX_MESSAGE_BYTES);
    try {
      this.peer.answer(sdp);
    } catch (err) {
      throw new BadRequest(`the answer was refused: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private send(message: Record<string, unknown>): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }

  private fail(code: ErrorCode, message: string): void {
    this.endCause = code;
    this.send({ type: 'error', code, message });
    // RFC 6455 §7.4.1: 1001 is a server going down, 1011 an internal error, 1008 a refusal.
    this.ws.close(code === 'internal' ? 1011 : code === 'shutdown' ? 1001 : 1008);
    this.leave();
  }

  leave(): void {
    clearTimeout(this.joinTimer);
    clearTimeout(this.refusalTimer);
    const { session, peer } = this;
    this.session = undefined;
    this.peer = undefined;
    session?.leave();
    peer?.close();
    if (session) {
      this.ended(session);
      this.endpoint.participantLeft();
    }
  }

  private refusedWhileDraining(): boolean {
    if (!this.endpoint.draining) return false;
    this.refused('draining');
    this.shutDown();
    return true;
  }

  /** A join that did not get in, counted and audited like a refused SIP call. */
  private refused(outcome: CallOutcomeLabel): void {
    this.options.metrics.calls.inc({ origin: 'webrtc', outcome });
    this.options.audit.record({
      event: 'call-refused',
      origin: 'webrtc',
      outcome,
      remoteAddress: this.origin.address,
      ...(this.origin.userAgent ? { userAgent: this.origin.userAgent } : {}),
    });
  }

  private ended(session: ParticipantSession): void {
    const { metrics, audit } = this.options;
    metrics.legsActive.dec(legMetricLabels(this.label));
    audit.record({
      event: 'leg-ended',
      origin: 'webrtc',
      meeting: session.meeting.id,
      label: auditLabel(this.label),
      outcome: this.endCause,
      durationS: durationSince(this.joinedAt),
      remoteAddress: this.origin.address,
      ...(this.origin.userAgent ? { userAgent: this.origin.userAgent } : {}),
    });
  }
}

/**
 * WebSocket signalling for the web client at `/ws` on the HTTP port. Only pages from the same
 * origin may connect: a browser sends Origin on every WebSocket, and another site's page must not
 * be able to join a meeting with a visitor's camera.
 */
export function attachSignalling(server: Server, options: SignallingOptions): { drain(): Promise<void>; close(): Promise<void> } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const connections = new Set<BrowserConnection>();
  let drained: (() => void) | undefined;
  const checkDrained = (): void => {
    if (![...connections].some((connection) => connection.inMeeting)) drained?.();
  };
  const endpoint: Endpoint = { draining: false, participantLeft: checkDrained };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== PATH) return refuse('404 Not Found');
    if (!sameOrigin(req)) return refuse('403 Forbidden');
    const userAgent = printableAgent(req.headers['user-agent']);
    const origin: BrowserOrigin = { address: req.socket.remoteAddress ?? '', ...(userAgent ? { userAgent } : {}) };
    wss.handleUpgrade(req, socket, head, (ws) => {
      const label: SecurityLabel = Object.freeze({
        origin: 'webrtc',
        signalling: req.socket instanceof TLSSocket ? 'wss' : 'ws',
        media: 'dtls-srtp',
        suite: null,
        encrypted: true,
      });
      const connection = new BrowserConnection(ws, label, origin, options, endpoint);
      connections.add(connection);
      ws.on('close', () => connections.delete(connection));
    });
  };
  server.on('upgrade', onUpgrade);
  return {
    /** Refuses new joins from now on; resolves once no browser is left in a meeting. */
    drain: () => {
      endpoint.draining = true;
      return new Promise<void>((resolve) => {
        drained = resolve;
        checkDrained();
      });
    },
    /** Tells every browser the gateway is shutting down, and cuts those that do not close in time. */
    close: async () => {
      server.off('upgrade', onUpgrade);
      const closed = Promise.all([...wss.clients].map((ws) => new Promise((resolve) => ws.once('close', resolve))));
      for (const connection of connections) connection.shutDown();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_CLOSE_WAIT_MS)))]);
      clearTimeout(timer);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  // Non-browser clients send no Origin; they cannot borrow anybody's camera.
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
