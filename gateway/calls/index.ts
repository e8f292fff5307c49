export { Leg, type LegEndCause } from './leg.js';
export { sipLegLabel, describeLabel } from './security-label.js';
export type { LegOrigin, MediaSecurity, SecurityLabel, SignallingSecurity, SipLegFacts } from './security-label.js';
export { TargetDirectory, type CallTarget } from './target.js';
export { SipCallHandler, ALLOWED_METHODS, type SipCallHandlerOptions } from './sip-call-handler.js';
