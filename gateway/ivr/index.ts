export { DigitCollector } from './digit-collector.js';
export type { CollectOptions } from './digit-collector.js';
export { PromptPlayer } from './prompt-player.js';
export { DialIn, DEFAULT_ENTRY_TIMING, ENTRY_TRIES, type DialInOptions, type EntryTiming } from './dial-in.js';
