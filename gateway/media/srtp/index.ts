export { SRTP_SUITES, generateMasterKey, srtpKeyLengths, type SrtpSuite } from './suites.js';
export { SrtpError, type SrtpErrorCode } from './errors.js';
export { SrtpContext, type SrtpContextOptions } from './context.js';
