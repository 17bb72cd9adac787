import { defineJobType } from 'eventjobs';
import * as z from 'zod/mini';

export const echo = defineJobType({
  name: 'echo',
  description: 'Returns its input `value` (any JSON) as the result.',
  input: z.strictObject({ value: z.json() }),
  async run({ value }) {
    return { value };
  },
});
