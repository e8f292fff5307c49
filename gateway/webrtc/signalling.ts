import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { SecurityLabel } from '../calls/index.js';
import type { Fabric, ParticipantSession, RosterEntry } from '../fabric/index.js';
import type { Logger } from '../observability/index.js';
import { BrowserPeer } from './browser-peer.js';

export interface SignallingOptions {
  fabric: Fabric;
  /** Address ICE candidates are gathered on. */
  bindAddress: string;
  portRange?: { min: number; max: number };
  logger: Logger;
}

const PATH = '/ws';
const MAX_MESSAGE_BYTES = 256 * 1024;
const JOIN_TIMEOUT_MS = 10_000;
const MAX_NAME_LENGTH = 64;
const MAX_MEETING_ID_LENGTH = 64;

type ErrorCode = 'not-found' | 'bad-request' | 'meeting-ended' | 'internal';

class BadRequest extends Error {}

function field(message: Record<string, unknown>, name: string, maxLength: number): string {
  const value = message[name];
  if (typeof value !== 'string' || value.length > maxLength) throw new BadRequest(`"${name}" must be a string of at most ${maxLength} characters`);
  return value;
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
  private readonly joinTimer: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    private readonly label: SecurityLabel,
    private readonly options: SignallingOptions,
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
      this.options.logger.error({ err }, 'browser signalling failed');
      this.fail('internal', 'internal error');
    }
  }

  private join(message: Record<string, unknown>): void {
    if (this.session) throw new BadRequest('already joined');
    const meetingId = field(message, 'meetingId', MAX_MEETING_ID_LENGTH).trim();
    const name = field(message, 'name', 256).replace(/[\p{Cc}\p{Cf}]/gu, '').trim().slice(0, MAX_NAME_LENGTH) || 'Guest';
    clearTimeout(this.joinTimer);
    const peer = new BrowserPeer({
      bindAddress: this.options.bindAddress,
      portRange: this.options.portRange,
      sendOffer: (offer) => this.send({ type: 'offer', ...offer }),
      onFailed: () => this.ws.close(1011, 'media connection failed'),
    });
    const joined = this.options.fabric.join(meetingId, { name, kind: 'browser', label: this.label, reception: peer });
    if (!joined.ok) {
      peer.close();
      // Unknown and deleted meetings look the same (DESIGN.md: IDs are not enumerable).
      return this.fail('not-found', 'There is no meeting with this ID.');
    }
    const { session } = joined;
    this.peer = peer;
    this.session = session;
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
    session.onNotice((notice) => this.send({ type: 'notice', event: notice.event, participant: this.entry(notice.participant, session.id) }));
    session.onEnded(() => this.fail('meeting-ended', 'The meeting was ended.'));
    peer.start();
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
    this.send({ type: 'error', code, message });
    this.ws.close(code === 'internal' ? 1011 : 1008);
    this.leave();
  }

  leave(): void {
    clearTimeout(this.joinTimer);
    const { session, peer } = this;
    this.session = undefined;
    this.peer = undefined;
    session?.leave();
    peer?.close();
  }
}

/**
 * WebSocket signalling for the web client at `/ws` on the HTTP port. Only pages from the same
 * origin may connect: a browser sends Origin on every WebSocket, and another site's page must not
 * be able to join a meeting with a visitor's camera.
 */
export function attachSignalling(server: Server, options: SignallingOptions): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const connections = new Set<BrowserConnection>();
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== PATH) return refuse('404 Not Found');
    if (!sameOrigin(req)) return refuse('403 Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => {
      const label: SecurityLabel = Object.freeze({
        origin: 'webrtc',
        signalling: req.socket instanceof TLSSocket ? 'wss' : 'ws',
        media: 'dtls-srtp',
        suite: null,
        encrypted: true,
      });
      const connection = new BrowserConnection(ws, label, options);
      connections.add(connection);
      ws.on('close', () => connections.delete(connection));
    });
  };
  server.on('upgrade', onUpgrade);
  return {
    close: () => {
      server.off('upgrade', onUpgrade);
      for (const connection of connections) connection.leave();
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
