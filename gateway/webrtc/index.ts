export { attachSignalling } from './signalling.js';
export type { MeetingAccess, SignallingOptions } from './signalling.js';
