import type { JobError } from './events';

export const JobStatus = {
  Running: 'RUNNING',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
  Cancelled: 'CANCELLED',
  TimedOut: 'TIMED_OUT',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];
export const JOB_STATUSES: readonly JobStatus[] = Object.values(JobStatus);

export type TerminalStatus = Exclude<JobStatus, 'RUNNING'>;

export interface JobProgress {
  readonly percent: number;
  readonly message?: string;
  readonly at: string;
}

/** The active record of a running job, one per (owner, name). */
export interface ActiveJob {
  readonly owner: string;
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  readonly status: 'RUNNING';
  readonly input: unknown;
  /** SHA-256 of the canonical input JSON; an identical retry of a start is recognised by it. */
  readonly inputHash: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly attempt?: number;
  readonly progress?: JobProgress;
  readonly cancelRequestedAt?: string;
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
  readonly cancelRequestedAt?: string;
  readonly expiresAt: number;
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
  readonly input: unknown;
  readonly result?: unknown;
  readonly error?: JobError;
  readonly expiresAt?: string;
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
}

export function activeView(job: ActiveJob): JobView {
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
    input: job.input,
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
    input: outcome.input,
    result: outcome.result,
    error: outcome.error,
    expiresAt: new Date(outcome.expiresAt * 1000).toISOString(),
  };
}
