/**
 * A job's status: the active record if there is one (with its place in the
 * queue, when it waits), else its newest retained outcome.
 */
import { NotFoundError } from '../../core/errors';
import { activeView, JobStatus, type JobView, outcomeView } from '../../core/model';
import { stepView } from '../../core/steps';
import type { StepStore } from '../shared/step-store';
import type { JobStore } from '../shared/store';

export interface GetJobDeps {
  readonly store: JobStore;
  readonly now: () => Date;
  /** @default - steps are not shown */
  readonly steps?: StepStore;
}

export async function getJob(owner: string, jobName: string, deps: GetJobDeps): Promise<JobView> {
  const active = await deps.store.getActive(owner, jobName);
  if (active) {
    const { slots } = deps.store;
    const position =
      active.status === JobStatus.Queued && active.queue && slots
        ? await slots.position({ owner, seq: active.queue.seq })
        : undefined;
    const view = activeView(active, position);
    return active.checkpointed ? withSteps(view, owner, deps) : view;
  }
  const nowSeconds = Math.floor(deps.now().getTime() / 1000);
  const outcome = await deps.store.getLatestOutcome(owner, jobName, nowSeconds);
  if (outcome) {
    const view = outcomeView(outcome);
    return outcome.checkpointed ? withSteps(view, owner, deps) : view;
  }
  throw new NotFoundError(`No job named "${jobName}" is running or retained`);
}

/** The view with the run's steps, in the order they began. */
async function withSteps(view: JobView, owner: string, deps: GetJobDeps): Promise<JobView> {
  if (!deps.steps) return view;
  const nowSeconds = Math.floor(deps.now().getTime() / 1000);
  const steps = await deps.steps.list(
    { owner, jobName: view.jobName, runId: view.runId },
    nowSeconds,
  );
  return { ...view, steps: steps.map(stepView) };
}
