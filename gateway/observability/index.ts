export {
  createMetrics,
  tlsVersionLabel,
  type Metrics,
  type MetricsOptions,
  type CallOutcomeLabel,
  type DirectionLabel,
  type MediaEncryptionLabel,
  type MessageKindLabel,
  type OriginLabel,
  type TlsResultLabel,
  type TlsVersionLabel,
  type TransactionOutcomeLabel,
  type TransactionRoleLabel,
  type TransportLabel,
} from './metrics.js';
export type { LabelledCounter, LabelledGauge } from './labelled-metric.js';
export { createLogger, type Logger } from './logging.js';
export { AuditLog, type AuditRecord } from './audit.js';
