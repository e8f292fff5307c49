import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import {
  MeetingInputError,
  MeetingLimitError,
  type EncryptionPolicy,
  type MeetingChanges,
  type MeetingDirectory,
  type MeetingRecord,
} from '../fabric/directory.js';

export interface AdminApiDeps {
  meetings?: MeetingDirectory;
  /** Bearer token for `/api/`; while unset every API request is answered 401. */
  adminToken?: string;
  /** Live participants in a meeting; 0 when not given. */
  participants?: (id: string) => number;
}

/** An API answer; the server sends `body` as JSON, or nothing when it is undefined. */
export interface ApiReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const MAX_BODY_BYTES = 16 * 1024;

const FIELDS = ['name', 'pin', 'policy'];
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="sipgw"' };

/** A request the API refuses; the message tells the client what to fix. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** Answers one request under `/api`: authenticates, then routes to the meeting resources. */
export async function handleAdminApi(deps: AdminApiDeps, req: http.IncomingMessage, pathname: string): Promise<ApiReply> {
  try {
    authenticate(deps.adminToken, req.headers.authorization);
    const { meetings } = deps;
    if (!meetings) throw new Refusal(404, 'not found');
    const view = (record: MeetingRecord): unknown => ({ ...record, participants: deps.participants?.(record.id) ?? 0 });
    if (pathname === '/api/meetings') return await collection(meetings, req, view);
    const id = /^\/api\/meetings\/([^/]+)$/.exec(pathname)?.[1];
    if (id !== undefined) return await item(meetings, decodeSegment(id), req, view);
    throw new Refusal(404, 'not found');
  } catch (err) {
    if (err instanceof Refusal) return { status: err.status, body: { error: err.message }, headers: err.headers };
    if (err instanceof MeetingInputError) return { status: 400, body: { error: err.message } };
    if (err instanceof MeetingLimitError) return { status: 409, body: { error: `${err.message}; delete one first` } };
    throw err;
  }
}

function authenticate(expected: string | undefined, header: string | undefined): void {
  if (expected === undefined) {
    throw new Refusal(401, 'the admin API is disabled: no admin token is configured (admin.token or SIPGW_ADMIN_TOKEN)', CHALLENGE);
  }
  const presented = /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
  if (presented === undefined) throw new Refusal(401, 'missing bearer token: send "Authorization: Bearer <token>"', CHALLENGE);
  if (!sameSecret(presented, expected)) throw new Refusal(401, 'invalid bearer token', CHALLENGE);
}

/** Compares digests so that neither the content nor the length of the token leaks through timing. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new Refusal(404, 'not found');
  }
}

async function collection(
  meetings: MeetingDirectory,
  req: http.IncomingMessage,
  view: (record: MeetingRecord) => unknown,
): Promise<ApiReply> {
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      return { status: 200, body: { meetings: meetings.list().map(view) } };
    case 'POST': {
      const fields = meetingFields(await readJsonObject(req), false);
      const record = meetings.create({ ...fields, pin: fields.pin ?? undefined });
      return { status: 201, body: view(record), headers: { Location: `/api/meetings/${encodeURIComponent(record.id)}` } };
    }
    default:
      throw new Refusal(405, 'method not allowed', { Allow: 'GET, HEAD, POST' });
  }
}

async function item(
  meetings: MeetingDirectory,
  id: string,
  req: http.IncomingMessage,
  view: (record: MeetingRecord) => unknown,
): Promise<ApiReply> {
  let record: MeetingRecord | undefined;
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      record = meetings.get(id);
      break;
    case 'PATCH':
      record = meetings.update(id, meetingFields(await readJsonObject(req), true));
      break;
    case 'DELETE':
      if (!meetings.delete(id)) throw new Refusal(404, 'no such meeting');
      return { status: 204 };
    default:
      throw new Refusal(405, 'method not allowed', { Allow: 'GET, HEAD, PATCH, DELETE' });
  }
  if (!record) throw new Refusal(404, 'no such meeting');
  return { status: 200, body: view(record) };
}

/** Checks which fields are present and their JSON types; the directory checks their content. */
function meetingFields(body: Record<string, unknown>, pinMayBeNull: boolean): MeetingChanges {
  const unknown = Object.keys(body).find((field) => !FIELDS.includes(field));
  if (unknown !== undefined) throw new Refusal(400, `unknown field ${JSON.stringify(unknown)}; a meeting has name, pin and policy`);
  const { name, pin, policy } = body;
  if (name !== undefined && typeof name !== 'string') throw new Refusal(400, 'name must be a string');
  if (pin !== undefined && typeof pin !== 'string' && !(pinMayBeNull && pin === null)) {
    throw new Refusal(400, `pin must be a string of 4-12 digits${pinMayBeNull ? ', or null to remove the PIN' : ''}`);
  }
  return {
    ...(name === undefined ? {} : { name }),
    ...(pin === undefined ? {} : { pin }),
    ...(policy === undefined ? {} : { policy: policy as EncryptionPolicy }),
  };
}

async function readJsonObject(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  if (!isJsonContentType(req.headers['content-type'])) {
    const accept = req.method === 'PATCH' ? 'Accept-Patch' : 'Accept-Post';
    throw new Refusal(415, 'Content-Type must be application/json', { [accept]: 'application/json' });
  }
  const raw = await readBody(req);
  if (raw === undefined) throw new Refusal(413, `body larger than ${MAX_BODY_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (err) {
    throw new Refusal(400, `body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Refusal(400, 'body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function isJsonContentType(header: string | undefined): boolean {
  const [type = '', ...params] = (header ?? '').split(';');
  if (type.trim().toLowerCase() !== 'application/json') return false;
  return params.every((param) => {
    const [key = '', value = ''] = param.split('=');
    return key.trim().toLowerCase() !== 'charset' || value.trim().replace(/^"|"$/g, '').toLowerCase() === 'utf-8';
  });
}

/** The body, or undefined once it exceeds MAX_BODY_BYTES; the rest is left for the server to drain. */
function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length']) > MAX_BODY_BYTES) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        settle();
        resolve(undefined);
      } else {
        chunks.push(chunk);
      }
    };
    const onEnd = (): void => {
      settle();
      resolve(Buffer.concat(chunks));
    };
    const onClose = (): void => {
      settle();
      reject(new Error('request closed before its body ended'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
}
