/**
 * This app's job types. Every export of this module is one: the AsyncJobs
 * construct in app.ts bundles it into the functions that run job code.
 */
import { defineJobType } from 'eventjobs';
import { en } from 'zod/locales';
import * as z from 'zod/mini';

// zod/mini has no messages of its own: English ones, so a bad input's 400 says what is wrong.
z.config(en());

export const hello = defineJobType({
  name: 'hello',
  description: 'Greets `name`.',
  input: z.strictObject({ name: z.string().check(z.minLength(1), z.maxLength(100)) }),
  async run({ name }, ctx) {
    await ctx.progress(50, `Greeting ${name}`);
    return { greeting: `Hello, ${name}!` };
  },
});
