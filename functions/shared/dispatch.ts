/**
 * Handing runs to the worker: the asynchronous invoke that start-job makes for
 * a run that got its slots at once, and the one the queue makes for a run it
 * promotes when a slot is freed (after an end in completion, after an enqueue
 * in start-job, after a repair in the sweeper).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { EnvVar, requireEnv } from '../../core/config';
import type { WorkerPayload } from '../../core/events';
import type { ActiveJob } from '../../core/model';
import { describeError, log, runKeys } from './log';
import type { JobMetrics } from './metrics';
import type { DispatchBudget, QueuedRun } from './slots';
import type { JobStore } from './store';

export interface WorkerTarget {
  /** Invokes the worker; its retries (throttling, 5xx, network errors) are the SDK's standard ones. */
  readonly lambda: LambdaClient;
  readonly workerFunctionName: string;
}

export interface DispatchDeps extends WorkerTarget {
  readonly store: JobStore;
  /** Where each promoted run is counted as started. @default - nothing is counted */
  readonly metrics?: JobMetrics;
}

/** The worker's payload for a run. The worker takes the input from the run's record. */
export function workerPayload(
  run: Pick<ActiveJob, 'owner' | 'jobName' | 'runId' | 'type'> & { readonly input?: unknown },
  submittedAt: string,
): WorkerPayload {
  return {
    ...runKeys(run),
    type: run.type,
    ...(run.input !== undefined ? { input: run.input } : {}),
    submittedAt,
  };
}

export async function invokeWorker(target: WorkerTarget, payload: WorkerPayload): Promise<void> {
  const response = await target.lambda.send(
    new InvokeCommand({
      FunctionName: target.workerFunctionName,
      InvocationType: 'Event',
      Payload: JSON.stringify(payload),
    }),
  );
  // An accepted asynchronous invoke answers 202; anything else means the event was not queued.
  if (response.StatusCode !== 202 || response.FunctionError) {
    throw new Error(
      `Invoke answered status ${response.StatusCode}` +
        (response.FunctionError ? ` with function error ${response.FunctionError}` : ''),
    );
  }
}

/**
 * Starts the queued runs that now fit after a change on the keys of a run of
 * `type` by `owner`. Without slots there are no queues, and nothing to do.
 * A promoted run whose worker cannot be invoked keeps its slots and is ended
 * by the sweeper's start window, like a start whose invoke was lost.
 */
export async function dispatchQueued(
  trigger: { readonly owner: string; readonly type: string },
  deps: DispatchDeps,
  budget?: DispatchBudget,
): Promise<QueuedRun[]> {
  const slots = deps.store.slots;
  if (!slots) return [];
  return slots.dispatch(
    trigger,
    async (run: QueuedRun) => {
      // The run's creation time is its seq's first part: queue wait counts from there.
      const submittedAt = run.seq.slice(0, run.seq.indexOf('#'));
      try {
        await invokeWorker(deps, workerPayload(run, submittedAt));
        deps.metrics?.started(run.type);
        log.info('Queued run started', {
          ...runKeys(run),
          type: run.type,
        });
      } catch (error) {
        log.error('A promoted run could not be handed to the worker', {
          ...runKeys(run),
          ...describeError(error),
        });
      }
    },
    budget,
  );
}

/**
 * The `dispatch` dependency of a function that frees slots (completion, the
 * sweeper): undefined without limits; with them, it needs the worker's name.
 */
export function dispatcherFor(
  store: JobStore,
  metrics?: JobMetrics,
  budget: DispatchBudget = { timeMs: 20_000 },
): ((trigger: { owner: string; type: string }) => Promise<void>) | undefined {
  if (!store.slots) return undefined;
  const deps: DispatchDeps = {
    store,
    lambda: new LambdaClient({}),
    workerFunctionName: requireEnv(EnvVar.WorkerFunctionName),
    ...(metrics ? { metrics } : {}),
  };
  return async (trigger) => {
    await dispatchQueued(trigger, deps, budget);
  };
}
