import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { isIP } from 'node:net';
import {
  certificateExpiry,
  ensureDevCertificates,
  loadCertificateSet,
  splitPemCertificates,
  type CertificateSet,
} from '../certs/index.js';
import { SipCallHandler, TargetDirectory } from './calls/index.js';
import type { GatewayConfig } from './config/index.js';
import { EmbeddedFabric, joinSipLeg, MeetingDirectory } from './fabric/index.js';
import { createHttpServer, type ReadyState } from './http/index.js';
import { PortAllocator } from './media/index.js';
import { DialIn } from './ivr/index.js';
import {
  AuditLog,
  createLogger,
  createMetrics,
  SIP_METHODS,
  type Logger,
  type Metrics,
  type ResponseClassLabel,
  type SipMethodLabel,
} from './observability/index.js';
import { AdmissionPolicy, meetingAccess, PinGuard } from './policy/index.js';
import { loadPrompts } from './prompts/index.js';
import { DialogLayer, SipTransportLayer, TransactionLayer } from './sip/index.js';
import { EchoTarget } from './testcall/index.js';
import { attachSignalling } from './webrtc/index.js';

export interface Gateway {
  readonly ready: ReadyState;
  /**
   * Refuses new calls and joins, lets calls in progress carry on until they end or `graceS`
   * (default `shutdown.graceS`) has passed, ends the rest, then stops. Resolves once stopped.
   */
  drain(graceS?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  version?: string;
}

/**
 * Starts one gateway: certificates, SIP listeners (transport → transactions → dialogs → calls),
 * the test-call service and the operations HTTP server. Resolves once every port is bound.
 */
export async function startGateway(config: GatewayConfig, options: StartOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? createLogger(config.log.level);
  const metrics = createMetrics({ version: options.version });
  const certificate = await loadCertificate(config, logger);

  const transport = new SipTransportLayer();
  const transactions = new TransactionLayer(transport);
  const dialogs = new DialogLayer(transactions, transport);
  observeSip(transport, transactions, metrics, logger);
  transport.on('message', (inbound) => {
    // A fault of ours on a peer's message must cost that message, never the process.
    try {
      transactions.receive(inbound);
    } catch (err) {
      logger.error({ err, transport: inbound.source.transport }, 'failed to handle a SIP message');
    }
  });

  const prompts = loadPrompts();
  const audit = new AuditLog({
    destination: config.audit.file,
    maxSizeBytes: config.audit.maxSizeMb * 1024 * 1024,
    retentionDays: config.audit.retentionDays,
    remoteAddress: config.audit.remoteAddress,
    onError: (err) => {
      metrics.auditWriteErrors.inc({});
      logger.error({ err }, 'the audit log cannot be written');
    },
    written: (event) => metrics.auditRecords.inc({ event }),
  });
  const meetings = new MeetingDirectory(config.meetings);
  const fabric = new EmbeddedFabric(meetings, metrics, { unencryptedAnnouncement: prompts.at48k('unencrypted-joined') });
  const pins = new PinGuard({
    verify: (id, pin) => meetings.verifyPin(id, pin),
    attempted: (result) => metrics.pinAttempts.inc({ result }),
    lockedOut: (scope) => {
      metrics.pinLockouts.inc({ scope });
      logger.warn({ scope }, 'PIN entry locked out after repeated failures');
    },
  });
  const dialIn = new DialIn({
    meetings,
    join: (leg, id) => joinSipLeg(fabric, id, leg),
    pins,
    prompts,
    policyRefused: (leg) => metrics.policyRefusals.inc({ origin: leg.label.origin }),
    failed: (err) => logger.error({ err }, 'dial-in failed'),
  });
  const targets = new TargetDirectory();
  targets.register('echo', new EchoTarget());
  targets.addResolver((user) => dialIn.meeting(user));
  targets.routeDids((did) => (did.kind === 'ivr' ? dialIn.ivr() : dialIn.meeting(did.meetingId)));
  const mediaAddress = isUnspecified(config.bind) ? config.host : config.bind;
  const calls = new SipCallHandler({
    dialogs,
    admission: new AdmissionPolicy(config),
    targets,
    ports: new PortAllocator(config.media.ports.min, config.media.ports.max),
    mediaAddress,
    mediaTimeoutS: config.media.timeoutS,
    host: config.host,
    metrics,
    logger,
    audit,
  });

  const clientCa = config.sip.tls.clientCa ? await readFile(config.sip.tls.clientCa, 'utf8') : undefined;
  recordCertificateExpiry(metrics, certificate, clientCa);
  const sip = await transport.listen({
    bind: config.bind,
    advertise: config.host,
    udpPort: config.sip.udpPort,
    tcpPort: config.sip.tcpPort,
    tlsPort: config.sip.tlsPort,
    tls: {
      key: certificate.key,
      cert: [certificate.cert, ...certificate.chain].join(''),
      ca: clientCa,
      requestClientCert: config.sip.tls.requireClientCert,
    },
  });

  let ready: ReadyState | undefined;
  let draining: Promise<void> | undefined;
  const http = createHttpServer({
    metrics,
    readiness: () => ready,
    draining: () => draining !== undefined,
    meetings,
    adminToken: config.admin.token,
    participants: (id) => fabric.participants(id),
  });
  const signalling = attachSignalling(http, {
    fabric,
    bindAddress: mediaAddress,
    logger,
    metrics,
    audit,
    access: meetingAccess(meetings, pins),
  });
  const httpPort = await listen(http, config.http.port, config.bind);
  ready = { sip: { udp: sip.udp ?? 0, tcp: sip.tcp ?? 0, tls: sip.tls ?? 0 }, http: httpPort };
  logger.info({ bind: config.bind, host: config.host, ports: ready, fingerprint: certificate.info.fingerprintSha256 }, 'sipgw ready');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      ready = undefined;
      const browsersClosed = signalling.close();
      calls.close();
      // Let the BYEs leave before the sockets close.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await browsersClosed;
      await transport.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await audit.close();
      logger.info('sipgw stopped');
    })());
  return {
    ready,
    drain: (graceS = config.shutdown.graceS) =>
      (draining ??= (async () => {
        metrics.draining.set({}, 1);
        logger.info({ graceS }, 'draining: new calls are refused; calls in progress end by the grace period');
        let graceTimer: NodeJS.Timeout | undefined;
        const graceOver = new Promise((resolve) => (graceTimer = setTimeout(resolve, graceS * 1000)));
        await Promise.race([Promise.all([calls.drain(Date.now() + graceS * 1000), signalling.drain()]), graceOver]);
        clearTimeout(graceTimer);
        await stop();
      })()),
    stop,
  };
}

async function loadCertificate(config: GatewayConfig, logger: Logger): Promise<CertificateSet> {
  const { cert, key, chain } = config.sip.tls;
  if (cert && key) return loadCertificateSet({ cert, key, chain });
  const set = await ensureDevCertificates(config.certs.devDir, [config.host]);
  logger.warn({ dir: config.certs.devDir, ca: set.files.ca }, 'using the development certificate; room systems must trust its CA');
  return set;
}

/** For the expiry alert: each role's earliest-expiring certificate; roles without one get no series. */
function recordCertificateExpiry(metrics: Metrics, certificate: CertificateSet, clientCa: string | undefined): void {
  const earliest = (pems: readonly string[]): number | undefined =>
    pems.length === 0 ? undefined : Math.min(...pems.map((pem) => certificateExpiry(pem).getTime() / 1000));
  const roles = [
    ['server', certificate.info.notAfter.getTime() / 1000],
    ['intermediate', earliest(certificate.chain)],
    ['client_ca', clientCa === undefined ? undefined : earliest(splitPemCertificates(clientCa))],
  ] as const;
  for (const [role, expiresAt] of roles) if (expiresAt !== undefined) metrics.certificateExpiry.set({ role }, expiresAt);
}

/** Counts what the SIP stack does, by the catalogue's bounded labels. */
function observeSip(transport: SipTransportLayer, transactions: TransactionLayer, metrics: Metrics, logger: Logger): void {
  transport.on('traffic', ({ transport: t, direction, message }) => {
    if (message.type === 'request') metrics.sipRequests.inc({ transport: t, direction, method: methodLabel(message.method) });
    else metrics.sipResponses.inc({ transport: t, direction, class: responseClass(message.status) });
  });
  transport.on('parseError', ({ transport: t, reason, answered }) => {
    metrics.sipParseErrors.inc({ transport: t });
    logger.debug({ transport: t, reason, answered }, 'unparseable SIP message');
  });
  transport.on('tlsHandshake', ({ result, version }) => metrics.tlsHandshakes.inc({ result, version }));
  transactions.onTransactionEnd(({ role, outcome }) => metrics.sipTransactions.inc({ role, outcome }));
}

const COUNTED_METHODS: ReadonlySet<string> = new Set(SIP_METHODS);

function methodLabel(method: string): SipMethodLabel {
  return COUNTED_METHODS.has(method) ? (method as SipMethodLabel) : 'other';
}

/** The parser only accepts status codes 100-699. */
function responseClass(status: number): ResponseClassLabel {
  return `${Math.floor(status / 100)}xx` as ResponseClassLabel;
}

function isUnspecified(address: string): boolean {
  return isIP(address) !== 0 && /^(0\.0\.0\.0|::)$/.test(address);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
