export { AdmissionPolicy, type Admission } from './admission.js';
export { DEFAULT_PIN_LIMITS, meetingAccess, PinGuard, type PinAttemptResult, type PinGuardLimits, type PinGuardOptions } from './pin-guard.js';
