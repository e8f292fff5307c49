export { loadConfig, type LoadConfigOptions } from './load-config.js';
export { ConfigError } from './config-error.js';
export { isTrustedSource } from './trust.js';
export type { GatewayConfig, LogLevel, TlsFiles, Trunk } from './types.js';
