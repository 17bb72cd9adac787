/**
 * Resume after a crash: a run with checkpoints whose worker died (a crash, a
 * Lambda timeout, a local cloud killed and restarted) is handed to a fresh
 * invocation, which replays its finished steps and goes on, instead of ending
 * TIMED_OUT or FAILED. A crash counts as an attempt of the type's retry
 * policy; a lost timer or a lost continuation does not. Runs without
 * checkpoints keep the old rule: they end.
 *
 * The sweeper asks for a silent run, and the completion function for a run
 * whose invocation Lambda gave up on (the OnFailure destination).
 */
import type { ActiveJob } from '../../core/model';
import { JobStatus } from '../../core/model';
import { invokeWorker, type WorkerTarget, workerPayload } from './dispatch';
import { log, runKeys } from './log';
import type { JobStore } from './store';

export type RedriveDecision =
  | { readonly redrive: true; readonly bump: boolean; readonly why: string }
  | { readonly redrive: false; readonly why: string };

/** Whether the run can go on in a fresh invocation, and whether that is a new attempt. */
export function redriveDecision(job: ActiveJob, now: Date): RedriveDecision {
  if (job.status !== JobStatus.Running || !job.checkpointed) {
    return { redrive: false, why: 'the run has no checkpoints to resume from' };
  }
  if (job.cancelRequestedAt) return { redrive: false, why: 'a cancel was requested' };
  if (job.deadlineAt && Date.parse(job.deadlineAt) <= now.getTime()) {
    return { redrive: false, why: `its deadline (${job.deadlineAt}) has passed` };
  }
  if (!job.leaseId) {
    return {
      redrive: true,
      bump: false,
      why: job.waitingFor
        ? `its timer did not wake it (it waited for the signal "${job.waitingFor}")`
        : job.wakeAt
          ? `its timer did not wake it (it was to wake at ${job.wakeAt})`
          : 'its continuation never started',
    };
  }
  const attempt = job.attempt ?? 1;
  const maxAttempts = job.maxAttempts ?? 1;
  if (attempt >= maxAttempts) {
    return {
      redrive: false,
      why: `its worker died on attempt ${attempt} of ${maxAttempts} (the type's retry policy)`,
    };
  }
  return {
    redrive: true,
    bump: true,
    why: `its worker died on attempt ${attempt} of ${maxAttempts}`,
  };
}

export interface RedriveDeps {
  readonly store: JobStore;
  readonly worker: WorkerTarget;
}

/**
 * Re-drives the run if it can be (`redriveDecision`), taking it over first so
 * that only one caller does; true when a fresh invocation was asked for.
 */
export async function redrive(job: ActiveJob, now: Date, deps: RedriveDeps): Promise<boolean> {
  const decision = redriveDecision(job, now);
  if (!decision.redrive) return false;
  const at = now.toISOString();
  const taken = await deps.store.redrive(job, at, decision.bump);
  if (!taken) return false;
  // Should the invoke fail, the heartbeat set above lets the next sweep try again.
  await invokeWorker(deps.worker, { ...workerPayload(job, at), resume: 'redrive' });
  log.warn('Run re-driven from its checkpoints', {
    ...runKeys(job),
    type: job.type,
    why: decision.why,
    attempt: taken.attempt ?? null,
  });
  return true;
}
