/**
 * What the phone IVR says. The audio is generated from these texts by scripts/generate-prompts.ts
 * (`npm run prompts`, needs espeak-ng) and committed, so running the gateway needs no speech engine.
 */
export const PROMPT_TEXTS = {
  welcome: 'Welcome. Please enter your meeting ID, followed by the pound key.',
  'enter-pin': 'Please enter the meeting PIN, followed by the pound key.',
  invalid: 'That meeting ID or PIN is not valid. Please try again.',
  goodbye: 'Sorry, we could not connect your call. Goodbye.',
  'encryption-required': 'This meeting requires an encrypted connection, and this call is not encrypted. Goodbye.',
  'unencrypted-joined': 'A participant has joined by phone. This connection is not encrypted.',
} as const;

export type PromptName = keyof typeof PROMPT_TEXTS;

export const PROMPT_NAMES = Object.keys(PROMPT_TEXTS) as PromptName[];

/** The espeak-ng voice the prompts are spoken with. */
export const PROMPT_VOICE = 'en-us';

/** Rate of the prompt files: narrowband, as phones hear it. */
export const PROMPT_SAMPLE_RATE = 8000;
