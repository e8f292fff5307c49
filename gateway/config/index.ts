export { loadConfig, normalizeNumber, type LoadConfigOptions } from './load-config.js';
export { ConfigError } from './config-error.js';
export { candidateTrunks } from './trust.js';
export type { AddressMask, DidTarget, GatewayConfig, LogLevel, MeetingConfig, TlsFiles, Trunk } from './types.js';
