/**
 * A job's status: the active record if there is one (with its place in the
 * queue, when it waits), else its newest retained outcome.
 */
import { NotFoundError } from '../../core/errors';
import { activeView, JobStatus, type JobView, outcomeView } from '../../core/model';
import type { JobStore } from '../shared/store';

export interface GetJobDeps {
  readonly store: JobStore;
  readonly now: () => Date;
}

export async function getJob(owner: string, jobName: string, deps: GetJobDeps): Promise<JobView> {
  const active = await deps.store.getActive(owner, jobName);
  if (active) {
    const { slots } = deps.store;
    const position =
      active.status === JobStatus.Queued && active.queue && slots
        ? await slots.position({ owner, seq: active.queue.seq })
        : undefined;
    return activeView(active, position);
  }
  const nowSeconds = Math.floor(deps.now().getTime() / 1000);
  const outcome = await deps.store.getLatestOutcome(owner, jobName, nowSeconds);
  if (outcome) return outcomeView(outcome);
  throw new NotFoundError(`No job named "${jobName}" is running or retained`);
}
