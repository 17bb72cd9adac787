import { z } from 'zod';
import { defineJobType } from './types';

export const fail = defineJobType({
  name: 'fail',
  description: 'Fails with `message`: a job that always ends FAILED, for trying the failure path.',
  input: z.strictObject({ message: z.string().min(1).max(1000) }),
  async run({ message }): Promise<never> {
    throw new Error(message);
  },
});
