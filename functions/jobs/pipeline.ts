import { defineJobType, delay } from 'eventjobs';
import * as z from 'zod/mini';

/** What each finished step writes to the worker's log: a side effect a test can count. */
export const PIPELINE_STEP_DONE = 'Pipeline step done';

/**
 * A long job in checkpointed steps: `steps` steps of `stepSeconds` each, with
 * an optional durable sleep of `sleepSeconds` between two steps. A run longer
 * than the worker's timeout continues in fresh invocations; after a crash it
 * resumes from its last finished step; each step runs once.
 */
export const pipeline = defineJobType({
  name: 'pipeline',
  description:
    'Runs `steps` checkpointed steps (1 to 1000) of `stepSeconds` (0 to 600) each, with a ' +
    'durable sleep of `sleepSeconds` between steps and a wait for `signal` before the last ' +
    'step if given; lasts past the worker timeout.',
  input: z.strictObject({
    steps: z.int().check(z.gte(1), z.lte(1000)),
    stepSeconds: z.number().check(z.gte(0), z.lte(600)),
    sleepSeconds: z.optional(z.number().check(z.gte(0), z.lte(30 * 24 * 60 * 60))),
    /** The steps' names, in order (default `step-1`, `step-2`, ...); a repeated name fails the run. */
    names: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(128)))),
    /** A signal to wait for before the last step (e.g. an approval); its payload is in the result. */
    signal: z.optional(
      z.strictObject({
        name: z.string().check(z.regex(/^(?!\.+$)[A-Za-z0-9._-]{1,128}$/)),
        timeoutSeconds: z.optional(z.number().check(z.gt(0), z.lte(30 * 24 * 60 * 60))),
      }),
    ),
  }),
  defaultTimeoutSeconds: 60 * 60,
  // A crash resumes the run from its checkpoints; each crash counts as an attempt.
  retry: { maxAttempts: 5, initialBackoffMs: 1000, multiplier: 2, maxBackoffMs: 30_000 },
  async run({ steps, stepSeconds, sleepSeconds, names, signal }, ctx) {
    let payload: unknown;
    for (let i = 1; i <= steps; i++) {
      if (signal && i === steps) {
        payload = await ctx.waitForSignal(signal.name, {
          ...(signal.timeoutSeconds ? { timeout: signal.timeoutSeconds } : {}),
        });
      }
      await ctx.step(names?.[i - 1] ?? `step-${i}`, async ({ attempt }) => {
        await delay(Math.round(stepSeconds * 1000), ctx.signal);
        console.log(
          JSON.stringify({
            message: PIPELINE_STEP_DONE,
            jobName: ctx.jobName,
            runId: ctx.runId,
            step: i,
            attempt,
            invocation: ctx.invocation,
          }),
        );
        // Inside the step, so a replay does not report it again (and progress never goes back).
        await ctx.progress((i / steps) * 100, `Step ${i} of ${steps} done`);
        return { step: i };
      });
      if (sleepSeconds !== undefined && i < steps) await ctx.sleep(`sleep-${i}`, sleepSeconds);
    }
    return signal ? { stepsRun: steps, signal: payload ?? null } : { stepsRun: steps };
  },
});
