import { defineJobType, delay } from 'eventjobs';
import * as z from 'zod/mini';

/** Progress is reported about this often: often enough to watch, rare enough to be cheap. */
export const SLEEP_PROGRESS_INTERVAL_MS = 1000;

export const sleep = defineJobType({
  name: 'sleep',
  description: 'Waits `seconds` (0 to 900), reporting progress about once a second.',
  input: z.strictObject({ seconds: z.number().check(z.gte(0), z.lte(900)) }),
  async run({ seconds }, ctx) {
    const totalMs = Math.round(seconds * 1000);
    const startedAt = Date.now();
    // Measured against the clock, so the time spent writing progress does not stretch the sleep.
    const endsAt = startedAt + totalMs;
    for (;;) {
      ctx.signal.throwIfAborted();
      const leftMs = endsAt - Date.now();
      if (leftMs <= 0) break;
      await delay(Math.min(SLEEP_PROGRESS_INTERVAL_MS, leftMs), ctx.signal);
      const elapsedMs = Date.now() - startedAt;
      if (elapsedMs < totalMs) {
        await ctx.progress(
          (elapsedMs / totalMs) * 100,
          `Slept ${Math.floor(elapsedMs / 1000)} of ${seconds} seconds`,
        );
      }
    }
    return { sleptSeconds: seconds };
  },
});
