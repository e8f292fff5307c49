export { isDtmfDigit } from './digits.js';
export { digitFromInfo } from './sip-info.js';
export { TelephoneEventReceiver } from './telephone-event.js';
