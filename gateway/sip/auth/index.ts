export { DigestServer } from './server.js';
export type { CredentialLookup, DigestFailure, DigestVerdict, DigestServerOptions } from './server.js';
export { computeAuthorization, chooseChallenge } from './client.js';
export type { AuthorizationOptions } from './client.js';
export { DIGEST_ALGORITHMS } from './digest.js';
export type { DigestAlgorithm } from './digest.js';
