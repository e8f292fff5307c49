export { buildNack, buildPli, parseRtcpFeedback } from './feedback.js';
export type { RtcpFeedback } from './feedback.js';
