/**
 * The app's job types, as the functions that need them see them (start-job,
 * the worker and completion). `@eventjobs/app-jobs` is not a package: the
 * bundler points it at the module the app names in `AsyncJobs`'s
 * `jobTypes.entry` (infra/bundling.ts), so the user's types are compiled into
 * exactly these functions.
 */
import * as appJobs from '@eventjobs/app-jobs';
import { type JobType, jobTypesOf } from '../../core/job-type';

const jobTypes = jobTypesOf(appJobs);
const names = [...jobTypes.keys()].sort();

/** The job type called `name`, or undefined. */
export function getJobType(name: string): JobType | undefined {
  return jobTypes.get(name);
}

/** The names of all job types, sorted, for error messages and documentation. */
export function jobTypeNames(): string[] {
  return [...names];
}
