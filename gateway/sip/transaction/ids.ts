import { randomBytes } from 'node:crypto';

/** RFC 3261 §8.1.1.7: branches that start with this cookie are unique per transaction. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

/** A fresh Via branch: the magic cookie plus 96 random bits. */
export function generateBranch(): string {
  return BRANCH_MAGIC_COOKIE + randomBytes(12).toString('base64url');
}

/** A fresh Call-ID (§8.1.1.4): 128 random bits, unguessable so calls cannot be hijacked. */
export function generateCallId(): string {
  return randomBytes(16).toString('hex');
}
