export { attachSignalling } from './signalling.js';
export type { SignallingOptions } from './signalling.js';
