export { buildNack, buildPli, parseRtcpFeedback } from './feedback.js';
export type { RtcpFeedback } from './feedback.js';
export {
  ReceptionStatistics,
  buildReceptionReport,
  compactNtp,
  parseReceptionReports,
  peerReception,
  roundTripSeconds,
  toNtp,
  wallClockSeconds,
} from './reports.js';
export type { PeerReception, ReceptionReport, ReportBlock, SenderInfo } from './reports.js';
