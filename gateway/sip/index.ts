/** The SIP stack, in layers: message → transport → transaction → dialog; auth beside. */
export * from './message/index.js';
export * from './transport/index.js';
export * from './transaction/index.js';
export * from './dialog/index.js';
export * from './auth/index.js';
