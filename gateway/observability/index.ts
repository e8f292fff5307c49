export { createMetrics, tlsVersionLabel, type Metrics, type MetricsOptions } from './metrics.js';
export {
  CATALOGUE,
  METRIC_CATALOGUE,
  PROCESS_METRICS,
  SIP_METHODS,
  type CallOutcomeLabel,
  type CertificateRoleLabel,
  type DirectionLabel,
  type EncryptedLabel,
  type MediaEncryptionLabel,
  type MetricDefinition,
  type OriginLabel,
  type ResponseClassLabel,
  type SipMethodLabel,
  type SrtpSuiteLabel,
  type TlsResultLabel,
  type TlsVersionLabel,
  type TransactionOutcomeLabel,
  type TransactionRoleLabel,
  type TransportLabel,
} from './catalogue.js';
export type { BoundCounter, LabelledCounter, LabelledGauge, LabelledHistogram } from './labelled-metric.js';
export { createLogger, type Logger } from './logging.js';
export { AuditLog, type AuditLogOptions, type AuditRecord } from './audit.js';
