import * as s from '../shared/schema';
import { defineJobType } from './types';

export const echo = defineJobType({
  name: 'echo',
  description: 'Returns its input `value` (any JSON) as the result.',
  input: s.strictObject({ value: s.json() }),
  async run({ value }) {
    return { value };
  },
});
