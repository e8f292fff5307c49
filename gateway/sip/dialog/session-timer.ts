import type { SipRequest, SipResponse } from '../message/index.js';

/** RFC 4028 §4: the smallest Session-Expires / Min-SE anyone may ask for, in seconds. */
export const MIN_SESSION_INTERVAL_SECONDS = 90;

export type SessionRefresher = 'uac' | 'uas';

export interface SessionExpires {
  deltaSeconds: number;
  refresher?: SessionRefresher;
}

const DELTA = /^\d{1,10}$/;

/** `Session-Expires: 1800;refresher=uac` (RFC 4028 §4); undefined when malformed. */
export function parseSessionExpires(value: string): SessionExpires | undefined {
  const [delta, ...params] = value.split(';').map((part) => part.trim());
  if (delta === undefined || !DELTA.test(delta)) return undefined;
  const result: SessionExpires = { deltaSeconds: Number(delta) };
  for (const param of params) {
    const [name, raw] = param.split('=').map((part) => part.trim().toLowerCase());
    if (name !== 'refresher') continue;
    if (raw !== 'uac' && raw !== 'uas') return undefined;
    result.refresher = raw;
  }
  return result;
}

export function formatSessionExpires(value: SessionExpires): string {
  return value.refresher === undefined ? String(value.deltaSeconds) : `${value.deltaSeconds};refresher=${value.refresher}`;
}

/** `Min-SE: 90` (RFC 4028 §5, parameters ignored); undefined when malformed. */
export function parseMinSE(value: string): number | undefined {
  const delta = value.split(';')[0]?.trim() ?? '';
  return DELTA.test(delta) ? Number(delta) : undefined;
}

/** The session-timer facts of a request as received. */
export interface SessionTimerRequest {
  /** The UAC lists `timer` in Supported (or Require): it can refresh and understands `Require: timer`. */
  uacSupportsTimer: boolean;
  sessionExpires?: SessionExpires;
  minSE?: number;
}

export function readSessionTimer(request: SipRequest): SessionTimerRequest {
  const options = [...request.headers.getList('Supported'), ...request.headers.getList('Require')];
  const result: SessionTimerRequest = { uacSupportsTimer: options.some((tag) => tag.trim().toLowerCase() === 'timer') };
  const se = request.headers.get('Session-Expires');
  const parsedSe = se === undefined ? undefined : parseSessionExpires(se);
  if (parsedSe !== undefined) result.sessionExpires = parsedSe;
  const minSe = request.headers.get('Min-SE');
  const parsedMinSe = minSe === undefined ? undefined : parseMinSE(minSe);
  if (parsedMinSe !== undefined) result.minSE = parsedMinSe;
  return result;
}

/**
 * Put the chosen session timer on our 2xx (RFC 4028 §9): `Session-Expires` with an explicit
 * refresher, and `Require: timer` when the UAC supports it. A UAC that does not support the
 * extension cannot refresh, so the refresher must then be `uas`.
 */
export function applySessionTimer(response: SipResponse, request: SessionTimerRequest, chosen: Required<SessionExpires>): void {
  const refresher: SessionRefresher = request.uacSupportsTimer ? chosen.refresher : 'uas';
  response.headers.set('Session-Expires', formatSessionExpires({ deltaSeconds: chosen.deltaSeconds, refresher }));
  if (request.uacSupportsTimer) response.headers.set('Require', 'timer');
}
