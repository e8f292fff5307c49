import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `read` until `accept` holds or `timeoutMs` passes; returns the last value read (the caller asserts on it). */
export async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value) && Date.now() < deadline) {
    await sleep(250);
    value = await read();
  }
  return value;
}
