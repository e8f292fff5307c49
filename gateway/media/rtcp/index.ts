export { buildNack, buildPli, parseRtcpFeedback } from './feedback.js';
export type { RtcpFeedback } from './feedback.js';
export {
  ReceptionStatistics,
  buildReceptionReport,
  compactNtp,
  parseReceptionReports,
  roundTripSeconds,
  toNtp,
  wallClockSeconds,
} from './reports.js';
export type { ReceptionReport, ReportBlock, SenderInfo } from './reports.js';
