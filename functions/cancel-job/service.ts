/**
 * Cancelling a job records the request on the running record; the worker sees
 * it at its next progress report and stops, and the completion function records
 * the run CANCELLED. A queued run has no worker: the request, which also keeps
 * it from ever being started, is followed at once by its `Job Cancelled`, and
 * completion ends it. A finished job cannot be cancelled.
 */
import { ConflictError, NotFoundError } from '../../core/errors';
import { jobCancelledDetailSchema } from '../../core/event-schemas';
import { JobEventType, Reporter } from '../../core/events';
import { type ActiveJob, type ActiveStatus, JobStatus, outcomeView } from '../../core/model';
import { appendJobKeys, describeError, log } from '../shared/log';
import type { OwnerApiDeps } from '../shared/owner-api';
import { parse } from '../shared/validate';

export type CancelJobDeps = OwnerApiDeps;

export interface CancelRequested {
  readonly jobName: string;
  readonly runId: string;
  readonly status: ActiveStatus;
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
    if (active.status === JobStatus.Queued) {
      await endAtOnce(active, at, 'while the job was queued', deps);
    } else if (active.wakeAt && active.sleepName && !active.leaseId) {
      // No worker runs a sleeping run: nobody else would hear of the cancel before its timer.
      await endAtOnce(active, at, `while the run slept in "${active.sleepName}"`, deps);
    } else if (active.waitingFor && !active.leaseId) {
      await endAtOnce(
        active,
        at,
        `while the run waited for the signal "${active.waitingFor}"`,
        deps,
      );
    }
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

/**
 * Puts `Job Cancelled` for a run no worker is running: a queued one, or a
 * sleeping one. Should that fail, a queued run still never starts (its cancel
 * request bars it) and the sweeper ends it a little later; a sleeping run's
 * timer wakes a worker that finds the cancel request and ends it.
 */
async function endAtOnce(
  active: ActiveJob,
  at: string,
  where: string,
  deps: CancelJobDeps,
): Promise<void> {
  const started = active.startedAt ? Date.parse(active.startedAt) : Number.NaN;
  const detail = parse(jobCancelledDetailSchema, {
    owner: active.owner,
    jobName: active.jobName,
    runId: active.runId,
    type: active.type,
    ...(active.attempt ? { attempt: active.attempt } : {}),
    ...(active.startedAt ? { startedAt: active.startedAt } : {}),
    finishedAt: at,
    ...(Number.isFinite(started) ? { durationMs: Math.max(0, Date.parse(at) - started) } : {}),
    reason: `Cancel requested at ${active.cancelRequestedAt ?? at}, ${where}`,
    reportedBy: Reporter.Api,
  });
  try {
    await deps.putEvent?.(JobEventType.Cancelled, detail);
  } catch (error) {
    log.warn('Job Cancelled of a run no worker runs could not be put; it ends later', {
      ...describeError(error),
    });
  }
}
