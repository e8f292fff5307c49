/** Responses built from requests (RFC 3261 §8.2.6) and the standard reason phrases (§21). */
import { randomBytes } from 'node:crypto';
import { parseNameAddr } from './headers.js';
import { SipHeaders, type SipRequest, type SipResponse } from './types.js';

const PHRASES: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  199: 'Early Dialog Terminated',
  200: 'OK',
  202: 'Accepted',
  204: 'No Notification',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  412: 'Conditional Request Failed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  417: 'Unknown Resource-Priority',
  420: 'Bad Extension',
  421: 'Extension Required',
  422: 'Session Interval Too Small',
  423: 'Interval Too Brief',
  428: 'Use Identity Header',
  429: 'Provide Referrer Identity',
  433: 'Anonymity Disallowed',
  436: 'Bad Identity-Info',
  437: 'Unsupported Certificate',
  438: 'Invalid Identity Header',
  439: 'First Hop Lacks Outbound Support',
  440: 'Max-Breadth Exceeded',
  469: 'Bad Info Package',
  470: 'Consent Needed',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  493: 'Undecipherable',
  494: 'Security Agreement Required',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  580: 'Precondition Failure',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
  607: 'Unwanted',
};

/** The standard phrase for `status`, or a generic one for its class. */
export function reasonPhrase(status: number): string {
  const known = PHRASES[status];
  if (known !== undefined) return known;
  const generic = PHRASES[Math.floor(status / 100) * 100];
  return generic ?? 'Unknown';
}

function withToTag(to: string, toTag: string): string {
  let hasTag: boolean;
  try {
    hasTag = parseNameAddr(to).params.has('tag');
  } catch {
    // The answer to a malformed request still needs its tag (§8.2.6.2); the text is echoed as it came.
    hasTag = /;\s*tag\s*=/i.test(to);
  }
  return hasTag ? to : `${to};tag=${toTag}`;
}

/** The response skeleton for a request whose header lines are `headers` (used for parse-error answers too). */
export function responseFromHeaders(headers: SipHeaders, status: number, reason?: string, toTag?: string): SipResponse {
  const out = new SipHeaders();
  for (const via of headers.getLines('Via')) out.append('Via', via);
  for (const name of ['From', 'To', 'Call-ID', 'CSeq']) {
    const value = headers.get(name);
    if (value === undefined) continue;
    out.append(name, name === 'To' && toTag !== undefined ? withToTag(value, toTag) : value);
  }
  return { type: 'response', status, reason: reason ?? reasonPhrase(status), headers: out, body: Buffer.alloc(0) };
}

/**
 * A response to `req` (§8.2.6). When the request's To has no tag, every response but 100 gets one
 * (§8.2.6.2): `toTag` when given (a dialog's own), else a fresh random one.
 */
export function createResponse(req: SipRequest, status: number, reason?: string, toTag?: string): SipResponse {
  return responseFromHeaders(req.headers, status, reason, toTag ?? (status > 100 ? generateTag() : undefined));
}

/** A fresh From/To tag (§19.3: at least 32 random bits; we use 64). */
export function generateTag(): string {
  return randomBytes(8).toString('hex');
}
