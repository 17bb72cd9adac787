import { defineJobType } from 'eventjobs';
import * as z from 'zod/mini';

export const fail = defineJobType({
  name: 'fail',
  description:
    'Fails with `message`: a job that always ends FAILED, for trying the failure path. With ' +
    '`hangSeconds` it first blocks its event loop that long, like a stuck worker that heeds ' +
    'neither cancellation nor its deadline, for trying the Lambda timeout path.',
  input: z.strictObject({
    message: z.string().check(z.minLength(1), z.maxLength(1000)),
    hangSeconds: z.optional(z.int().check(z.gte(1), z.lte(900))),
  }),
  async run({ message, hangSeconds }): Promise<never> {
    if (hangSeconds !== undefined) {
      // Deliberately synchronous: no timer, abort signal or deadline check can run meanwhile.
      const until = Date.now() + hangSeconds * 1000;
      while (Date.now() < until) {
        // spin
      }
    }
    throw new Error(message);
  },
});
