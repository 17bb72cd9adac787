/**
 * `eventjobs/testing`: runs a job type in-process, for unit tests in
 * milliseconds without any cloud. The run goes through the worker's own
 * attempts loop, so retries, backoff, deadlines, cancellation and the mapping
 * of errors to outcomes are what the deployed worker does.
 */
export type { CompletedRun, JobContext, JobError, JobType, RetryPolicy } from '../core/job-type';
export {
  DEFAULT_TEST_TIMEOUT_MS,
  type FailedAttempt,
  JobInputError,
  type JobRun,
  type JobRunResult,
  type ProgressReport,
  type RunJobOptions,
  runJob,
  runOnComplete,
  startJob,
} from '../functions/worker/in-process';
