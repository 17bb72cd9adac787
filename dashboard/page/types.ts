/** The shapes the page reads: the jobs API's own (docs/http-api.md), as far as the page uses them. */
export const STATUSES = [
  'QUEUED',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'TIMED_OUT',
] as const;
export const OUTCOMES = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;

export interface Progress {
  readonly percent: number;
  readonly message?: string;
  readonly at?: string;
}

export type StartedBy =
  | {
      readonly kind: 'trigger';
      readonly id: string;
      readonly eventId: string;
      readonly source?: string;
      readonly detailType?: string;
    }
  | { readonly kind: 'schedule'; readonly id: string; readonly scheduledTime: string }
  | { readonly kind: 'replay'; readonly jobName: string; readonly runId: string };

export interface JobSummary {
  jobName: string;
  runId: string;
  type: string;
  status: string;
  createdAt: string;
  finishedAt?: string;
  progress?: Progress;
  startedBy?: StartedBy;
  /** Known from the stream's events (the list's rows carry no owner). */
  owner?: string;
}

export interface JobError {
  readonly name: string;
  readonly message: string;
}

export interface Step {
  readonly name: string;
  readonly kind: string;
  readonly status: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly attempts?: number;
  readonly wakeAt?: string;
  readonly error?: JobError;
}

export interface JobView extends JobSummary {
  readonly startedAt?: string;
  readonly durationMs?: number;
  readonly attempt?: number;
  readonly cancelRequestedAt?: string;
  readonly deadlineAt?: string;
  readonly heartbeatAt?: string;
  readonly queue?: { readonly position: number };
  readonly dispatchedAt?: string;
  readonly input?: unknown;
  readonly result?: unknown;
  readonly error?: JobError;
  readonly attempts?: readonly {
    readonly attempt: number;
    readonly error: JobError;
    readonly at: string;
  }[];
  readonly expiresAt?: string;
  readonly invocations?: number;
  readonly sleep?: { readonly name: string; readonly wakeAt: string };
  readonly waiting?: { readonly signal: string; readonly timeoutAt?: string };
  readonly steps?: readonly Step[];
}

export interface JobPage {
  readonly jobs: JobSummary[];
  readonly nextCursor?: string;
  readonly scanned?: number;
}

export interface TypeStats {
  readonly type: string;
  readonly counts: Readonly<Record<(typeof OUTCOMES)[number], number>>;
  readonly timed: number;
  readonly p50Ms?: number;
  readonly p95Ms?: number;
}

export interface Stats {
  readonly types: readonly TypeStats[];
  readonly outcomes: number;
  readonly truncated: boolean;
}

export interface Session {
  readonly target: 'local' | 'aws';
  readonly description: string;
  readonly owner?: string;
  readonly live: { readonly kind: string; readonly description: string };
}

/** The status a lifecycle event leaves its run in. */
export const STATUS_OF_EVENT: Readonly<Record<string, string>> = {
  'Job Queued': 'QUEUED',
  'Job Started': 'RUNNING',
  'Job Progress': 'RUNNING',
  'Job Completed': 'SUCCEEDED',
  'Job Failed': 'FAILED',
  'Job Cancelled': 'CANCELLED',
  'Job Timed Out': 'TIMED_OUT',
};
