/**
 * The reference app's job types: every export is one (see `AsyncJobs`'s
 * `jobTypes.entry` in infra/eventjobs-stack.ts). Adding a type is one file
 * here and one line below.
 */

import { en } from 'zod/locales';
import { config } from 'zod/mini';

// zod/mini carries no messages of its own ("Invalid input" for everything): English ones, as
// classic zod has, so a 400 says what is wrong.
config(en());

export { echo } from './echo';
export { fail } from './fail';
export { flaky } from './flaky';
export { hash } from './hash';
export { pipeline } from './pipeline';
export { sleep } from './sleep';
