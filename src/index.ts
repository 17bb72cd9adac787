/**
 * `eventjobs`: what an app's job code and its callers import. Job types
 * (`defineJobType` and the context a run gets), the errors and helpers job
 * code uses, webhook verification, and the typed client.
 */
export * from '../client';
export { JobCancelledError, JobTimeoutError, RunSuspendedError } from '../core/job-errors';
export {
  type CompletedRun,
  defineJobType,
  isJobType,
  type JobContext,
  type JobError,
  type JobOutcomeStatus,
  type JobType,
  type JobTypeDefinition,
  JobTypeDefinitionError,
  NO_RETRIES,
  type RetryPolicy,
} from '../core/job-type';
export { delay, yieldToEventLoop } from '../core/signals';
export type {
  InferInput,
  InferOutput,
  StandardSchemaV1,
} from '../core/standard-schema';
export {
  DuplicateStepNameError,
  InvalidStepError,
  MAX_RUN_TIMEOUT_SECONDS,
  MAX_STEP_RESULT_BYTES,
  MAX_STEPS_PER_RUN,
  NonRetryableError,
  type SleepDuration,
  type StepContext,
  StepKindMismatchError,
  StepResultNotJsonError,
  StepResultTooLargeError,
  StepTooLongError,
  type StepView,
  TooManyStepsError,
} from '../core/steps';
export {
  type VerifyWebhookInput,
  type VerifyWebhookResult,
  verifyWebhook,
  type WebhookVerifyFailure,
} from '../functions/shared/webhook';
