export { Leg, type DigitMethod, type LegEndCause, type LegPeer } from './leg.js';
export { auditLabel, describeLabel, durationSince, legMetricLabels, printableAgent, sipLegLabel } from './security-label.js';
export type { LegOrigin, MediaSecurity, SecurityLabel, SignallingSecurity, SipLegFacts } from './security-label.js';
export { TargetDirectory, type CallTarget } from './target.js';
export { streamMetricEvents } from './stream-metrics.js';
export { SipCallHandler, type SipCallHandlerOptions } from './sip-call-handler.js';
