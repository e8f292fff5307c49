export { DialogLayer } from './layer.js';
export { Dialog } from './dialog.js';
export type { DialogState, DialogEndReason, DialogInit } from './dialog.js';
export { localContact, localContactUri } from './contact.js';
export type { ContactOptions } from './contact.js';
export {
  MIN_SESSION_INTERVAL_SECONDS,
  parseSessionExpires,
  formatSessionExpires,
  parseMinSE,
  readSessionTimer,
  applySessionTimer,
} from './session-timer.js';
export type { SessionExpires, SessionRefresher, SessionTimerRequest } from './session-timer.js';
