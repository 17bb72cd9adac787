import type { AttemptError, JobError } from './events';
import type { StepView } from './steps';
import type { StartedBy } from './triggers';

export const JobStatus = {
  /** Accepted, waiting for a slot (see `core/limits.ts`). */
  Queued: 'QUEUED',
  Running: 'RUNNING',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
  Cancelled: 'CANCELLED',
  TimedOut: 'TIMED_OUT',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];
export const JOB_STATUSES: readonly JobStatus[] = Object.values(JobStatus);

export type TerminalStatus = Exclude<JobStatus, 'RUNNING' | 'QUEUED'>;
/** The statuses of a job that has not ended: it has an active record. */
export type ActiveStatus = 'QUEUED' | 'RUNNING';

/** Where a queued run waits: its place in its owner's FIFO and in each shared key's queue. */
export interface QueuePlace {
  /** `<createdAt>#<runId>`: the FIFO order. */
  readonly seq: string;
  /** The round of its entry in each fair key's queue, by key id. */
  readonly rounds: Readonly<Record<string, number>>;
}

export interface JobProgress {
  readonly percent: number;
  readonly message?: string;
  readonly at: string;
}

/** The active record of a queued or running job, one per (owner, name). */
export interface ActiveJob {
  readonly owner: string;
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  readonly status: ActiveStatus;
  readonly input: unknown;
  /** SHA-256 of the canonical input JSON; an identical retry of a start is recognised by it. */
  readonly inputHash: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly attempt?: number;
  readonly progress?: JobProgress;
  readonly cancelRequestedAt?: string;
  /** When the run times out; set by the first worker attempt (or at start, if start-job sets it). */
  readonly deadlineAt?: string;
  /** A timeout the request asked for, in seconds; the worker caps it at its own timeout. */
  readonly timeoutSeconds?: number;
  /** The worker's last sign of life: its start, each heartbeat and each progress call. */
  readonly heartbeatAt?: string;
  /** When the current worker invocation claimed the run. */
  readonly attemptStartedAt?: string;
  /** The Lambda request id of the invocation that holds the run (see `JobStore.claimRun`). */
  readonly leaseId?: string;
  /** Where the terminal outcome is POSTed (a webhook), checked against SSRF at submit. */
  readonly callbackUrl?: string;
  /** A QUEUED run's place in the queues; kept after it starts, for the record. */
  readonly queue?: QueuePlace;
  /** When a queued run was given its slots and handed to the worker. */
  readonly dispatchedAt?: string;
  /** Worker invocations the run has taken (continuations, wakes and re-drives included). */
  readonly invocations?: number;
  /** The run has checkpointed steps: a crash re-drives it instead of ending it. */
  readonly checkpointed?: boolean;
  /** The type's `retry.maxAttempts` when the run started: how many crashes a re-drive may follow. */
  readonly maxAttempts?: number;
  /** A sleeping run's wake time; its `heartbeatAt` is set to it, so the sweeper leaves it be. */
  readonly wakeAt?: string;
  /** The sleep the run is in. */
  readonly sleepName?: string;
  /** The signal a suspended run waits for (`wakeAt`, if set, is the wait's timeout). */
  readonly waitingFor?: string;
  /** When the run last stopped an invocation without ending (a sleep or a continuation). */
  readonly suspendedAt?: string;
  /** When the sweeper or the completion function last re-drove the run after its worker died. */
  readonly redrivenAt?: string;
  /** The trigger or schedule that started the run; absent for an API start. */
  readonly startedBy?: StartedBy;
}

/** What became of a run's webhook: recorded on its outcome once delivery has ended. */
export interface WebhookDelivery {
  readonly url: string;
  readonly delivered: boolean;
  readonly attempts: number;
  /** The receiver's HTTP status on the last attempt, if it answered. */
  readonly status?: number;
  /** Why the last attempt failed. */
  readonly error?: string;
  readonly lastAttemptAt: string;
  readonly deliveredAt?: string;
}

/** The retained outcome of one finished run; kept until `expiresAt` (epoch seconds, the TTL). */
export interface JobOutcome {
  readonly owner: string;
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  readonly status: TerminalStatus;
  readonly input: unknown;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt: string;
  readonly durationMs?: number;
  readonly attempt?: number;
  readonly result?: unknown;
  readonly error?: JobError;
  /** Each failed attempt's error, oldest first, when the run was retried. */
  readonly attempts?: readonly AttemptError[];
  readonly cancelRequestedAt?: string;
  readonly deadlineAt?: string;
  /** The deadline the start asked for (`timeoutSeconds`); absent when the type's own applied. */
  readonly timeoutSeconds?: number;
  readonly expiresAt: number;
  readonly callbackUrl?: string;
  /** Set once webhook delivery has ended, delivered or not. */
  readonly webhook?: WebhookDelivery;
  /** Worker invocations the run took. */
  readonly invocations?: number;
  /** The run checkpointed steps (kept until `expiresAt` too). */
  readonly checkpointed?: boolean;
  /** When `Job Finished` was put for this outcome; absent until it was. */
  readonly announcedAt?: string;
  readonly startedBy?: StartedBy;
}

/** The shape `GET /jobs/{name}` returns. */
export interface JobView {
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  readonly status: JobStatus;
  readonly createdAt: string;
  readonly updatedAt?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  readonly attempt?: number;
  readonly progress?: JobProgress;
  readonly cancelRequestedAt?: string;
  readonly deadlineAt?: string;
  readonly heartbeatAt?: string;
  /** A queued run's place: 1 is next among its owner's waiting runs. */
  readonly queue?: { readonly position: number };
  /** When a run that waited in the queue was started. */
  readonly dispatchedAt?: string;
  readonly input: unknown;
  readonly result?: unknown;
  readonly error?: JobError;
  readonly attempts?: readonly AttemptError[];
  readonly expiresAt?: string;
  readonly callback?: { readonly url: string };
  readonly webhook?: WebhookDelivery;
  /** Worker invocations the run has taken. */
  readonly invocations?: number;
  /** A sleeping run's sleep. */
  readonly sleep?: { readonly name: string; readonly wakeAt: string };
  /** The signal a run waits for, and when the wait times out. */
  readonly waiting?: { readonly signal: string; readonly timeoutAt?: string };
  /** The run's steps and sleeps, in the order they began (runs that use `ctx.step`). */
  readonly steps?: readonly StepView[];
  /** The trigger or schedule that started the run; absent for an API start. */
  readonly startedBy?: StartedBy;
}

/** One row of `GET /jobs`: no input or result, which can be large. */
export interface JobSummary {
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  readonly status: JobStatus;
  readonly createdAt: string;
  readonly finishedAt?: string;
  readonly progress?: JobProgress;
  /** The trigger or schedule that started the run; absent for an API start. */
  readonly startedBy?: StartedBy;
}

export function activeView(job: ActiveJob, position?: number): JobView {
  return {
    jobName: job.jobName,
    runId: job.runId,
    type: job.type,
    status: job.status,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    startedAt: job.startedAt,
    attempt: job.attempt,
    progress: job.progress,
    cancelRequestedAt: job.cancelRequestedAt,
    deadlineAt: job.deadlineAt,
    heartbeatAt: job.heartbeatAt,
    ...(position !== undefined ? { queue: { position } } : {}),
    ...(job.dispatchedAt ? { dispatchedAt: job.dispatchedAt } : {}),
    ...(job.invocations ? { invocations: job.invocations } : {}),
    ...(job.wakeAt && job.sleepName && !job.leaseId
      ? { sleep: { name: job.sleepName, wakeAt: job.wakeAt } }
      : {}),
    ...(job.waitingFor && !job.leaseId
      ? { waiting: { signal: job.waitingFor, ...(job.wakeAt ? { timeoutAt: job.wakeAt } : {}) } }
      : {}),
    input: job.input,
    callback: job.callbackUrl ? { url: job.callbackUrl } : undefined,
    ...(job.startedBy ? { startedBy: job.startedBy } : {}),
  };
}

export function outcomeView(outcome: JobOutcome): JobView {
  return {
    jobName: outcome.jobName,
    runId: outcome.runId,
    type: outcome.type,
    status: outcome.status,
    createdAt: outcome.createdAt,
    startedAt: outcome.startedAt,
    finishedAt: outcome.finishedAt,
    durationMs: outcome.durationMs,
    attempt: outcome.attempt,
    cancelRequestedAt: outcome.cancelRequestedAt,
    deadlineAt: outcome.deadlineAt,
    input: outcome.input,
    result: outcome.result,
    error: outcome.error,
    attempts: outcome.attempts,
    expiresAt: new Date(outcome.expiresAt * 1000).toISOString(),
    callback: outcome.callbackUrl ? { url: outcome.callbackUrl } : undefined,
    webhook: outcome.webhook,
    ...(outcome.invocations ? { invocations: outcome.invocations } : {}),
    ...(outcome.startedBy ? { startedBy: outcome.startedBy } : {}),
  };
}
