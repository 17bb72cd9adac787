/**
 * Every job type the service runs. Adding a type is one file in this folder
 * and one line here; start-job, the worker and the completion function all
 * look types up through this module.
 */
import { echo } from './echo';
import { fail } from './fail';
import { flaky } from './flaky';
import { hash } from './hash';
import { sleep } from './sleep';
import type { JobType } from './types';

// Keyed by each type's `name`; a unit test checks that every key matches.
const jobTypes: Readonly<Record<string, JobType>> = {
  echo,
  fail,
  flaky,
  hash,
  sleep,
};

/** The job type called `name`, or undefined (also for names like `toString`). */
export function getJobType(name: string): JobType | undefined {
  return Object.hasOwn(jobTypes, name) ? jobTypes[name] : undefined;
}

/** The names of all job types, sorted, for error messages and documentation. */
export function jobTypeNames(): string[] {
  return Object.keys(jobTypes).sort();
}
