/**
 * DTMF carried in SIP INFO requests, as carriers and PBXs send it instead of (or besides) RFC 4733:
 * `application/dtmf-relay` is a list of `Key=value` lines of which `Signal` is the digit;
 * `application/dtmf` is the digit alone or its event number. Neither has a formal standard, so
 * keys, case and line endings vary between senders.
 */
import { digitForEvent, isDtmfDigit } from './digits.js';

/** The digit an INFO body carries (its first `Signal` line), or undefined when it carries none or garbage. */
export function digitFromInfo(contentType: string, body: Buffer): string | undefined {
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  const text = body.toString('latin1');
  if (mediaType === 'application/dtmf') return digitFromSignal(text);
  if (mediaType !== 'application/dtmf-relay') return undefined;
  for (const line of text.split(/\r?\n/)) {
    const equals = line.indexOf('=');
    if (equals > 0 && line.slice(0, equals).trim().toLowerCase() === 'signal') return digitFromSignal(line.slice(equals + 1));
  }
  return undefined;
}

/** A digit written as itself or as its event number (some senders write `10` for `*`). */
function digitFromSignal(value: string): string | undefined {
  const signal = value.trim().toUpperCase();
  if (/^(?:[0-9]|1[0-5])$/.test(signal)) return digitForEvent(Number(signal));
  return isDtmfDigit(signal) ? signal : undefined;
}
