/** Whether the promise has settled, after the callbacks queued so far ran (for tests on fake timers). */
export async function settled<T>(promise: Promise<T>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await Promise.resolve();
  await Promise.resolve();
  return done;
}
