import { ConfigError } from './errors';

/**
 * Reads a required environment variable. Functions call this once, at module
 * scope, so a deployment that forgot a variable fails on the first invoke with
 * a message that names it instead of misbehaving later.
 */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new ConfigError(`Environment variable ${name} is required but not set`);
  }
  return value;
}

/** Reads an optional positive integer setting, falling back to `fallback` when unset. */
export function intEnv(
  name: string,
  fallback: number,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`Environment variable ${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

/** The environment variables the infrastructure sets; the one list both sides read. */
export const EnvVar = {
  TableName: 'JOBS_TABLE_NAME',
  WorkerFunctionName: 'WORKER_FUNCTION_NAME',
  /** The role EventBridge Scheduler assumes to invoke the worker when a sleep ends. */
  TimerRoleArn: 'TIMER_ROLE_ARN',
  /** The schedule group of the stack's sleep timers. */
  TimerGroupName: 'TIMER_GROUP_NAME',
  EventBusName: 'EVENT_BUS_NAME',
  OutcomeRetentionSeconds: 'OUTCOME_RETENTION_SECONDS',
  MaxInputBytes: 'MAX_INPUT_BYTES',
  MaxEventBytes: 'MAX_EVENT_BYTES',
  /** The worker function's timeout: the longest a run may be given (its deadline's cap). */
  WorkerTimeoutSeconds: 'WORKER_TIMEOUT_SECONDS',
  /** Sweeper: a run past its deadline by this much is ended; the worker had its chance. */
  SweepGraceSeconds: 'SWEEP_GRACE_SECONDS',
  /** Sweeper: a started run with no sign of life for this long is ended. */
  SweepSilentAfterSeconds: 'SWEEP_SILENT_AFTER_SECONDS',
  /** Sweeper: a run that never started this long after it was created is ended. */
  SweepStartWindowSeconds: 'SWEEP_START_WINDOW_SECONDS',
  /** Who owns a caller's jobs: `principal` (default) or `session` (`functions/shared/identity.ts`). */
  OwnerModel: 'OWNER_MODEL',
  /** Fair share (`core/limits.ts`): runs at once per owner. */
  OwnerConcurrency: 'OWNER_CONCURRENCY',
  /** Fair share: jobs one owner may have queued; beyond it a start answers 429 QueueFull. */
  MaxQueuedPerOwner: 'MAX_QUEUED_PER_OWNER',
  /** Fair share: runs at once across the stack (the worker's reserved concurrency); unset for none. */
  TotalConcurrency: 'TOTAL_CONCURRENCY',
  /** Fair share: per-type limits, a JSON object of type name to limit. */
  TypeConcurrency: 'TYPE_CONCURRENCY',
  /** Sweeper: a run queued this long without starting ends TIMED_OUT. */
  QueueTimeoutSeconds: 'QUEUE_TIMEOUT_SECONDS',
  /** Completion: the Secrets Manager secret (ARN) that signs webhook deliveries. */
  WebhookSecretArn: 'WEBHOOK_SECRET_ARN',
  /**
   * Set to `true` by the local cloud only (like SAM's AWS_SAM_LOCAL): callbacks may
   * then be plain http to localhost. Never set in AWS.
   */
  LocalCloud: 'AWS_LOCAL_CLOUD',
  /** Stream functions: the WebSocket stage's @connections base URL (https://{apiId}.execute-api.{region}.amazonaws.com/{stage}). */
  StreamCallbackUrl: 'STREAM_CALLBACK_URL',
} as const;

export const Defaults = {
  /** Runs at once per owner: enough for real work, small enough that no one owner fills the worker. */
  ownerConcurrency: 10,
  /** Jobs one owner may have waiting. */
  maxQueuedPerOwner: 1000,
  /** The worker's reserved concurrency, which is also the stack-wide limit of runs at once. */
  workerReservedConcurrency: 100,
  /** A queued run that has not started within a day ends TIMED_OUT. */
  queueTimeoutSeconds: 24 * 60 * 60,
  /** Retained outcomes live for 7 days. */
  outcomeRetentionSeconds: 7 * 24 * 60 * 60,
  /** Job input, as JSON text. Input and result share one 400 KB DynamoDB item. */
  maxInputBytes: 64 * 1024,
  /** The PutEvents entry limit (AWS-FACTS: 256 KB, configurable since AWS announced 1 MB). */
  maxEventBytes: 256 * 1024,
} as const;
