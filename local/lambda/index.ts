export type { AsyncEvent, FinalOutcome } from './async-queue';
export {
  ConcurrencySettingError,
  DEFAULT_ACCOUNT_CONCURRENCY,
  MIN_UNRESERVED_CONCURRENCY,
} from './concurrency';
export type { DestinationTargets, InvocationRecord, RecordCondition } from './destinations';
export {
  DEFAULT_ASYNC_REQUEST_LIMIT_BYTES,
  RESPONSE_LIMIT_BYTES,
  SYNC_REQUEST_LIMIT_BYTES,
  TooManyRequestsError,
} from './errors';
export {
  type InvokeDetails,
  type InvokeOptions,
  type LambdaStats,
  LocalLambda,
  type LocalLambdaOptions,
} from './local-lambda';
export {
  chooseRunner,
  describeRunners,
  type Runner,
  type RunnerChoice,
  type RunnerLookup,
  THREAD_RUNNER,
} from './runner';
export { lambdaEnvironment } from './runtime';
