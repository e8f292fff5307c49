export { PROMPT_NAMES, PROMPT_SAMPLE_RATE, PROMPT_TEXTS, PROMPT_VOICE } from './catalogue.js';
export type { PromptName } from './catalogue.js';
export { loadPrompts } from './loader.js';
export type { Prompts } from './loader.js';
export { encodePcm16Wav, parsePcm16Wav } from './wav.js';
export type { Pcm16Wav } from './wav.js';
