/** Small helpers for job code that must stop promptly when its signal aborts. */

/**
 * Waits `ms` milliseconds, or rejects with the signal's reason as soon as it
 * aborts (at once if it already has). The timer is cleared either way.
 */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Lets timers and I/O run between slices of CPU-bound work, so an abort can arrive. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
