import { defineJobType } from 'eventjobs';
import * as z from 'zod/mini';

/** The error each failing attempt of `flaky` throws. */
export class FlakyError extends Error {
  override name = 'FlakyError';
}

export const flaky = defineJobType({
  name: 'flaky',
  description:
    'Fails its first `failures` attempts with FlakyError, then returns `{ attempt }`. Its retry ' +
    'policy allows 3 attempts, so `failures` of 3 or more ends FAILED with every attempt listed.',
  input: z.strictObject({ failures: z.int().check(z.gte(0), z.lte(10)) }),
  defaultTimeoutSeconds: 60,
  retry: { maxAttempts: 3, initialBackoffMs: 200, multiplier: 2, maxBackoffMs: 1000 },
  async run({ failures }, ctx) {
    ctx.signal.throwIfAborted();
    if (ctx.attempt <= failures) {
      throw new FlakyError(`Attempt ${ctx.attempt} failed on purpose`);
    }
    return { attempt: ctx.attempt };
  },
});
