/**
 * Cancelling a job records the request on the running record; the worker sees
 * it at its next progress report and stops, and the completion function records
 * the run CANCELLED. A finished job cannot be cancelled.
 */
import { ConflictError, NotFoundError } from '../../core/errors';
import { outcomeView } from '../../core/model';
import { appendJobKeys } from '../shared/log';
import type { JobStore } from '../shared/store';

export interface CancelJobDeps {
  readonly store: JobStore;
  readonly now: () => Date;
}

export interface CancelRequested {
  readonly jobName: string;
  readonly runId: string;
  readonly status: 'RUNNING';
  /** When cancelling was first requested; repeating the request keeps the first time. */
  readonly cancelRequestedAt: string;
}

export async function cancelJob(
  owner: string,
  jobName: string,
  deps: CancelJobDeps,
): Promise<CancelRequested> {
  const now = deps.now();
  const at = now.toISOString();
  const active = await deps.store.requestCancel(owner, jobName, at);
  if (active) {
    appendJobKeys({ runId: active.runId });
    return {
      jobName: active.jobName,
      runId: active.runId,
      status: active.status,
      cancelRequestedAt: active.cancelRequestedAt ?? at,
    };
  }
  const outcome = await deps.store.getLatestOutcome(
    owner,
    jobName,
    Math.floor(now.getTime() / 1000),
  );
  if (outcome) {
    throw new ConflictError(
      'JobFinished',
      `The job named "${jobName}" has already finished (${outcome.status})`,
      { extra: { job: outcomeView(outcome) } },
    );
  }
  throw new NotFoundError(`No job named "${jobName}" is running or retained`);
}
