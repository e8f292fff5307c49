import {
  createResponse,
  fromHeader,
  InviteServerTransaction,
  readSessionTimer,
  type Dialog,
  type DialogLayer,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
} from '../sip/index.js';
import {
  answerOffer,
  parseOffer,
  SdpError,
  type AcceptedAnswer,
  type AnsweredStream,
  type AnswerPolicy,
  type AnswerResult,
  type CodecSpec,
} from '../sdp/index.js';
import {
  digitFromInfo,
  RtpError,
  RtpSocketPair,
  SecureRtpStream,
  TelephoneEventReceiver,
  type PortAllocator,
} from '../media/index.js';
import type { AuditLog, Logger, Metrics, CallOutcomeLabel } from '../observability/index.js';
import type { AdmissionPolicy } from '../policy/index.js';
import { Leg } from './leg.js';
import { legMetricLabels, printableAgent, sipLegLabel } from './security-label.js';
import { streamMetricEvents } from './stream-metrics.js';
import type { TargetDirectory } from './target.js';

const ALLOWED_METHODS = 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE';
const ACCEPTED_BODIES = ['application/sdp', 'application/dtmf-relay', 'application/dtmf', 'application/media_control+xml'];
const SUPPORTED = 'timer';
/** RFC 4028 §5: the smallest Session-Expires we accept; a smaller one gets 422 with Min-SE. */
const MIN_SESSION_EXPIRES_S = 90;
const MEDIA_CHECK_INTERVAL_MS = 1000;
const OVERLOAD_RETRY_AFTER_S = 5;

/** What the gateway can receive and send back; the echo service handles any of these as they are. */
const AUDIO_CODECS = [
  { name: 'opus', clockRate: 48000, channels: 2 },
  { name: 'G722', clockRate: 8000 },
  { name: 'PCMU', clockRate: 8000 },
  { name: 'PCMA', clockRate: 8000 },
];
const PSTN_AUDIO_CODECS = AUDIO_CODECS.filter((codec) => codec.name === 'PCMU' || codec.name === 'PCMA');
// Mode 1 first: browsers fragment large frames with FU-A, which a mode-0 receiver cannot take.
const VIDEO_CODECS = [
  { name: 'H264', clockRate: 90000, packetizationMode: '1' as const },
  { name: 'H264', clockRate: 90000, packetizationMode: '0' as const },
];

export interface SipCallHandlerOptions {
  dialogs: DialogLayer;
  admission: AdmissionPolicy;
  targets: TargetDirectory;
  ports: PortAllocator;
  /** Address media sockets bind to and SDP advertises. */
  mediaAddress: string;
  mediaTimeoutS: number;
  /** Host name put in Warning headers. */
  host: string;
  metrics: Metrics;
  logger: Logger;
  audit: AuditLog;
}

interface SipCall {
  leg: Leg;
  dialog: Dialog;
  answer: AcceptedAnswer;
  /** The leg's media streams by m-line index. */
  streams: Map<number, SecureRtpStream>;
  media: CallMedia;
  sessionTimer?: NodeJS.Timeout;
}

/**
 * The SIP user-agent server side of the B2BUA: turns SIP requests into legs, and legs' ends into
 * SIP. Who may call comes from the admission policy, which media from the SDP layer; what an
 * answered leg is for comes from the target directory.
 */
export class SipCallHandler {
  private readonly calls = new Set<SipCall>();
  private readonly mediaCheck: NodeJS.Timeout;
  /** When a drain ends (epoch ms); set once draining has begun. */
  private drainDeadline: number | undefined;
  private drained: (() => void) | undefined;

  constructor(private readonly options: SipCallHandlerOptions) {
    options.dialogs.onRequest((tx) => this.guard(tx, () => this.onOutOfDialog(tx)));
    this.mediaCheck = setInterval(() => this.endSilentLegs(), MEDIA_CHECK_INTERVAL_MS);
    this.mediaCheck.unref();
  }

  /**
   * Refuses new calls from now on with 503 and resolves once no call is left; calls in progress
   * carry on until they end or close() ends them.
   */
  drain(deadline: number): Promise<void> {
    this.drainDeadline = deadline;
    return new Promise((resolve) => {
      this.drained = resolve;
      if (this.calls.size === 0) resolve();
    });
  }

  /**
   * While draining, the seconds left until this instance is gone: nothing sooner can succeed here,
   * and a proxy (RFC 3261 §21.5.4) keeps the next calls away for exactly that long.
   */
  private drainRetryAfterS(): number | undefined {
    if (this.drainDeadline === undefined) return undefined;
    return Math.max(1, Math.ceil((this.drainDeadline - Date.now()) / 1000));
  }

  /** Ends every call with BYE and stops watching media. */
  close(): void {
    clearInterval(this.mediaCheck);
    for (const call of [...this.calls]) call.leg.hangup('shutdown');
  }

  /** A failure of ours while handling a request is answered 500; it never escapes to the transport. */
  private guard(tx: ServerTransaction, handle: () => void | Promise<void>): void {
    const fail = (err: unknown): void => {
      this.options.logger.error({ err, method: tx.request.method }, 'request handling failed');
      tx.respond(createResponse(tx.request, 500));
    };
    try {
      const pending = handle();
      if (pending) pending.catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  private onOutOfDialog(tx: ServerTransaction): void | Promise<void> {
    const req = tx.request;
    switch (req.method) {
      case 'OPTIONS': {
        // RFC 3261 §11.2: the status an INVITE would get, so load balancers' probes see the drain.
        const retryAfterS = this.drainRetryAfterS();
        return tx.respond(withCapabilities(retryAfterS === undefined ? createResponse(req, 200) : serviceUnavailable(req, retryAfterS)));
      }
      case 'INVITE':
        return tx instanceof InviteServerTransaction ? this.onInvite(tx) : undefined;
      case 'BYE':
      case 'UPDATE':
      case 'INFO':
        return tx.respond(createResponse(req, 481));
      default:
        return tx.respond(methodNotAllowed(req));
    }
  }

  private reject(tx: ServerTransaction, res: SipResponse, outcome: CallOutcomeLabel, origin: 'sip' | 'pstn' = 'sip', trunk?: string): void {
    tx.respond(res);
    this.options.metrics.calls.inc({ origin, outcome });
    const { source } = tx.inbound;
    this.options.logger.info({ status: res.status, outcome, transport: source.transport, trunk }, 'call refused');
    // A challenge is a step of a call, not its end; everything else is a refused attempt.
    if (outcome === 'challenged') return;
    this.options.audit.record({
      event: 'call-refused',
      origin,
      outcome,
      status: res.status,
      transport: source.transport,
      remoteAddress: source.address,
      ...(trunk ? { trunk } : {}),
      ...userAgentOf(tx.request),
    });
  }

  private async onInvite(tx: InviteServerTransaction): Promise<void> {
    const receivedAt = performance.now();
    const { request: req, inbound } = tx;
    const { metrics, logger } = this.options;
    const admitted = this.options.admission.admit(inbound, req);
    if (!admitted.ok) {
      const origin = admitted.trunk ? 'pstn' : 'sip';
      if (admitted.status === 403) return this.reject(tx, createResponse(req, 403), 'forbidden', origin, admitted.trunk?.name);
      const res = createResponse(req, 401);
      for (const challenge of admitted.challenges) res.headers.append('WWW-Authenticate', challenge);
      return this.reject(tx, res, 'challenged', origin, admitted.trunk.name);
    }
    const { origin } = admitted;
    const trunk = admitted.trunk?.name;
    // After admission: strangers still get 403, and the refusal is counted under the caller's origin.
    const retryAfterS = this.drainRetryAfterS();
    if (retryAfterS !== undefined) return this.reject(tx, serviceUnavailable(req, retryAfterS), 'draining', origin, trunk);

    const target = this.options.targets.resolve(req.uri.user, admitted.trunk);
    if (!target) return this.reject(tx, createResponse(req, 404), 'not_found', origin, trunk);

    const sessionExpires = readSessionExpires(req);
    if (sessionExpires !== undefined && sessionExpires < MIN_SESSION_EXPIRES_S) {
      const res = createResponse(req, 422);
      res.headers.set('Min-SE', String(MIN_SESSION_EXPIRES_S));
      return this.reject(tx, res, 'failed', origin, trunk);
    }

    const media = callMedia(admitted.origin, admitted.requireSrtp);
    const sockets = new Map<number, RtpSocketPair>();
    let result: AnswerResult;
    try {
      result = await this.negotiate(req, media, sockets);
    } catch (err) {
      if (!(err instanceof RtpError)) throw err;
      // Every media port is taken: overload, not a fault of the caller's.
      return this.reject(tx, serviceUnavailable(req, OVERLOAD_RETRY_AFTER_S), 'overload', origin, trunk);
    }
    if (!result.ok) {
      return this.reject(tx, this.notAcceptable(req, result.warning), 'rejected_no_srtp', origin, trunk);
    }
    // A CANCEL may have come in while the sockets were being bound.
    if (tx.cancel || tx.state !== 'proceeding') {
      for (const socket of sockets.values()) void socket.close();
      return this.reject(tx, createResponse(req, 487), 'cancelled', origin, trunk);
    }

    const label = sipLegLabel({
      origin,
      transport: inbound.source.transport,
      tls: inbound.tls,
      // A leg with one clear stream is not encrypted, whatever its other streams carry.
      sdesSuite: result.streams.every((stream) => stream.srtp) ? (result.streams[0]?.srtp?.suite ?? null) : null,
    });
    const res = withCapabilities(createResponse(req, 200));
    res.headers.set('Content-Type', 'application/sdp');
    res.body = Buffer.from(result.sdp);
    if (sessionExpires !== undefined) setSessionTimerHeaders(res, sessionExpires);

    const dialog = this.options.dialogs.createUasDialog(tx, res);
    const leg = new Leg(label, () => dialog.bye(), {
      name: callerName(req),
      address: inbound.source.address,
      ...userAgentOf(req),
      ...(trunk ? { trunk } : {}),
    });
    // An encrypted leg stays encrypted: a re-offer may not fall back to plain RTP under its label.
    const call: SipCall = { leg, dialog, answer: result, streams: new Map(), media: label.encrypted ? { ...media, allowPlainRtp: false } : media };
    this.calls.add(call);
    for (const stream of result.streams) this.openStream(call, stream, sockets.get(stream.index)!);

    dialog.onRequest((inDialog) => this.guard(inDialog, () => this.onInDialog(call, inDialog)));
    dialog.onAckTimeout(() => leg.hangup('ack-timeout'));
    dialog.onTerminated((reason) => {
      if (reason === 'remote-bye') leg.ended('remote-hangup');
    });
    if (sessionExpires !== undefined) this.armSessionTimer(call, sessionExpires);

    metrics.legsActive.inc(legMetricLabels(label));
    leg.onEnded((cause) => {
      metrics.legsActive.dec(legMetricLabels(label));
      if (cause === 'media-timeout') metrics.mediaTimeouts.inc({ origin: label.origin });
      clearTimeout(call.sessionTimer);
      this.calls.delete(call);
      if (this.calls.size === 0) this.drained?.();
      logger.info({ leg: leg.id, cause, durationS: (Date.now() - leg.startedAt) / 1000 }, 'leg ended');
      this.options.audit.record(leg.auditRecord(cause));
    });

    metrics.calls.inc({ origin, outcome: 'answered' });
    metrics.callSetupSeconds.observe({ origin }, (performance.now() - receivedAt) / 1000);
    // A trunk's Request-URI is a phone number: logged as the route taken, never the caller's number.
    logger.info({ leg: leg.id, target: admitted.trunk ? 'did' : req.uri.user, label, trunk }, 'call answered');
    target.attach(leg);
  }

  /** An offer/answer round; sockets for newly accepted streams are bound into `sockets`. */
  private async negotiate(
    req: SipRequest,
    media: CallMedia,
    sockets: Map<number, RtpSocketPair>,
    previous?: AcceptedAnswer,
  ): Promise<AnswerResult> {
    let offer;
    try {
      offer = parseOffer(sdpBody(req));
    } catch (err) {
      if (err instanceof SdpError) return { ok: false, status: 488, warning: err.message };
      throw err;
    }
    const policy: AnswerPolicy = {
      allowPlainRtp: media.allowPlainRtp,
      localAddress: this.options.mediaAddress,
      audioCodecs: media.audioCodecs,
      videoCodecs: VIDEO_CODECS,
      rtpPort: async (_kind, index) => {
        const socket = await RtpSocketPair.open({ allocator: this.options.ports, bindAddress: this.options.mediaAddress });
        sockets.set(index, socket);
        return socket.rtpPort;
      },
    };
    try {
      return await answerOffer(offer, policy, previous);
    } catch (err) {
      for (const socket of sockets.values()) void socket.close();
      sockets.clear();
      throw err;
    }
  }

  private notAcceptable(req: SipRequest, warning: string): SipResponse {
    const res = createResponse(req, 488);
    res.headers.set('Warning', `399 ${this.options.host} "${warning.replace(/"/g, "'")}"`);
    return res;
  }

  private openStream(call: SipCall, answered: AnsweredStream, socket: RtpSocketPair): void {
    const stream = new SecureRtpStream(socket, answered, streamMetricEvents(this.options.metrics, call.leg.label.origin));
    call.streams.set(answered.index, stream);
    if (stream.kind === 'audio') listenForDigits(stream, call.leg, this.options.metrics);
    call.leg.addStream(stream);
  }

  private onInDialog(call: SipCall, tx: ServerTransaction): void | Promise<void> {
    const req = tx.request;
    switch (req.method) {
      case 'INVITE':
      case 'UPDATE':
        return this.updateSession(call, tx);
      case 'INFO':
        return this.onInfo(call, tx);
      case 'OPTIONS':
        return tx.respond(withCapabilities(createResponse(req, 200)));
      default:
        return tx.respond(methodNotAllowed(req));
    }
  }

  /** A re-INVITE or UPDATE: with an offer a new offer/answer round (hold, resume), without one a refresh. */
  private async updateSession(call: SipCall, tx: ServerTransaction): Promise<void> {
    const req = tx.request;
    const res = withCapabilities(createResponse(req, 200));
    if (req.body.length > 0) {
      const sockets = new Map<number, RtpSocketPair>();
      const result = await this.negotiate(req, call.media, sockets, call.answer);
      // RFC 3261 §14.2: a refused re-offer leaves the session as it was.
      if (!result.ok) return tx.respond(this.notAcceptable(req, result.warning));
      this.applyAnswer(call, result, sockets);
      res.headers.set('Content-Type', 'application/sdp');
      res.body = Buffer.from(result.sdp);
    }
    const sessionExpires = readSessionExpires(req);
    if (sessionExpires !== undefined) {
      const seconds = Math.max(sessionExpires, MIN_SESSION_EXPIRES_S);
      setSessionTimerHeaders(res, seconds);
      this.armSessionTimer(call, seconds);
    }
    call.dialog.answer(tx, res);
  }

  private applyAnswer(call: SipCall, answer: AcceptedAnswer, sockets: Map<number, RtpSocketPair>): void {
    const kept = new Set(answer.streams.map((s) => s.index));
    for (const [index, stream] of call.streams) {
      if (kept.has(index)) continue;
      call.streams.delete(index);
      call.leg.removeStream(stream);
    }
    for (const answered of answer.streams) {
      const existing = call.streams.get(answered.index);
      if (existing) existing.update(answered);
      else this.openStream(call, answered, sockets.get(answered.index)!);
    }
    call.answer = answer;
  }

  private onInfo(call: SipCall, tx: ServerTransaction): void {
    const req = tx.request;
    const type = contentType(req);
    if (req.body.length === 0 || ACCEPTED_BODIES.includes(type)) {
      if (type === 'application/media_control+xml' && req.body.includes('picture_fast_update')) {
        call.leg.pictureUpdateRequested();
      }
      const digit = digitFromInfo(type, req.body);
      if (digit !== undefined) {
        this.options.metrics.dtmfDigits.inc({ method: 'info' });
        call.leg.digitReceived(digit, 'info');
      }
      return tx.respond(createResponse(req, 200));
    }
    const res = createResponse(req, 415);
    res.headers.set('Accept', ACCEPTED_BODIES.join(', '));
    tx.respond(res);
  }

  /** RFC 4028 §10: without a refresh before the session expires, the session is over. */
  private armSessionTimer(call: SipCall, seconds: number): void {
    clearTimeout(call.sessionTimer);
    const graceS = Math.min(32, seconds / 3);
    call.sessionTimer = setTimeout(() => call.leg.hangup('session-expired'), (seconds - graceS) * 1000);
    call.sessionTimer.unref();
  }

  private endSilentLegs(): void {
    const limitMs = this.options.mediaTimeoutS * 1000;
    const now = Date.now();
    for (const call of [...this.calls]) {
      if (call.leg.mediaIdleMs(now) >= limitMs) call.leg.hangup('media-timeout');
    }
  }
}

interface CallMedia {
  allowPlainRtp: boolean;
  audioCodecs: readonly CodecSpec[];
}

/** Phones reach us through G.711 gateways: offering them wideband codecs would only add transcoding somewhere. */
function callMedia(origin: 'sip' | 'pstn', requireSrtp: boolean): CallMedia {
  return { allowPlainRtp: !requireSrtp, audioCodecs: origin === 'pstn' ? PSTN_AUDIO_CODECS : AUDIO_CODECS };
}

/** RFC 4733 events on an audio stream become the leg's digits, whatever the payload type was agreed. */
function listenForDigits(stream: SecureRtpStream, leg: Leg, metrics: Metrics): void {
  let receiver: { payloadType: number; events: TelephoneEventReceiver } | undefined;
  stream.onRtp((packet) => {
    const payloadType = stream.telephoneEvent?.payloadType;
    if (payloadType === undefined) return;
    if (receiver?.payloadType !== payloadType) {
      receiver = {
        payloadType,
        events: new TelephoneEventReceiver(payloadType, (digit) => {
          metrics.dtmfDigits.inc({ method: 'rfc4733' });
          leg.digitReceived(digit, 'rfc4733');
        }),
      };
    }
    receiver.events.receive(packet);
  });
}

function userAgentOf(req: SipRequest): { userAgent?: string } {
  const agent = printableAgent(req.headers.get('User-Agent'));
  return agent ? { userAgent: agent } : {};
}

function methodNotAllowed(req: SipRequest): SipResponse {
  const res = createResponse(req, 405);
  res.headers.set('Allow', ALLOWED_METHODS);
  return res;
}

function serviceUnavailable(req: SipRequest, retryAfterS: number): SipResponse {
  const res = createResponse(req, 503);
  res.headers.set('Retry-After', String(retryAfterS));
  return res;
}

function withCapabilities(res: SipResponse): SipResponse {
  res.headers.set('Allow', ALLOWED_METHODS);
  res.headers.set('Accept', ACCEPTED_BODIES.join(', '));
  res.headers.set('Supported', SUPPORTED);
  return res;
}

function setSessionTimerHeaders(res: SipResponse, seconds: number): void {
  // The caller refreshes: only callers that support timers get one (see readSessionExpires).
  res.headers.set('Session-Expires', `${seconds};refresher=uac`);
  res.headers.set('Require', 'timer');
}

function contentType(req: SipRequest): string {
  return (req.headers.get('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
}

function sdpBody(req: SipRequest): string {
  if (contentType(req) !== 'application/sdp' || req.body.length === 0) {
    throw new SdpError('an SDP offer is required');
  }
  return req.body.toString('utf8');
}

/**
 * The session interval a caller asks for (RFC 4028), when it can refresh the session itself. A
 * caller without `timer` support gets no session timer: we would have to refresh for it.
 */
function readSessionExpires(req: SipRequest): number | undefined {
  const timer = readSessionTimer(req);
  return timer.uacSupportsTimer ? timer.sessionExpires?.deltaSeconds : undefined;
}

const MAX_NAME_LENGTH = 64;

/** The caller's display name, else its user part: shown to other participants, so kept short and printable. */
function callerName(req: SipRequest): string {
  let from;
  try {
    from = fromHeader(req);
  } catch {
    return 'Caller';
  }
  const name = (from.displayName ?? from.uri.user ?? '').replace(/[\p{Cc}\p{Cf}]/gu, '').trim().slice(0, MAX_NAME_LENGTH);
  return name || 'Caller';
}
