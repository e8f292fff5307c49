/** DTMF digits in RFC 4733 event order: events 0–15 are '0'–'9', '*', '#', 'A'–'D'. */
const DIGITS = '0123456789*#ABCD';

/** The digit for a telephone-event code, or undefined for any other event (tones, flash, …). */
export function digitForEvent(event: number): string | undefined {
  return Number.isInteger(event) && event >= 0 && event < DIGITS.length ? DIGITS[event] : undefined;
}

/** True for exactly one of 0-9 * # A-D. */
export function isDtmfDigit(value: string): boolean {
  return value.length === 1 && DIGITS.includes(value);
}
