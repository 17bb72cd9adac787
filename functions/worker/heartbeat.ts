/**
 * A running job's writes to its record: a heartbeat every interval, and each
 * progress report (a heartbeat too), with a throttled `Job Progress` event.
 * Whatever a write reads back (a cancel request, the run being gone) is handed
 * to the caller, which stops the run.
 */
import { jobProgressDetailSchema } from '../../core/event-schemas';
import { JobEventType } from '../../core/events';
import type { ActiveJob, JobProgress } from '../../core/model';
import { describeError, log } from '../shared/log';
import { parse } from '../shared/validate';
import { type AttemptInfo, announce } from './events';
import type { WorkerDeps } from './service';

/** How often a running job's heartbeat is written (a progress call resets the timer). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1500;

/** What a progress write shares with the rest of the attempt. */
export interface ProgressWrites {
  /** Restarts the heartbeat interval. */
  readonly touch: () => void;
  readonly heed: (record: ActiveJob | undefined) => void;
  readonly signal: AbortSignal;
  /** Whether a `Job Progress` event is due (throttled). */
  readonly events: () => boolean;
}

/** Writes a progress report on the job record and, throttled, puts a `Job Progress` event. */
export async function recordProgress(
  info: AttemptInfo,
  attempt: number,
  progress: JobProgress,
  writes: ProgressWrites,
  deps: WorkerDeps,
): Promise<void> {
  // A progress write is a heartbeat: the next one is due an interval from now.
  writes.touch();
  let record: ActiveJob | undefined;
  try {
    record = await deps.store.recordProgress(info.owner, info.jobName, info.runId, progress);
  } catch (error) {
    // Progress is advisory: a throttled write must not fail the job.
    log.warn('Progress could not be recorded; the job goes on', {
      jobName: info.jobName,
      runId: info.runId,
      ...describeError(error),
    });
    return;
  }
  writes.heed(record);
  // Stopped meanwhile: the loop hands the job the reason, and there is nothing to announce.
  if (writes.signal.aborted || !writes.events()) return;
  await announce(
    JobEventType.Progress,
    parse(jobProgressDetailSchema, {
      owner: info.owner,
      jobName: info.jobName,
      runId: info.runId,
      type: info.type,
      attempt,
      ...progress,
    }),
    deps,
  );
}

/** True at most once per `intervalMs` (the first call included). */
export function throttle(intervalMs: number, deps: WorkerDeps): () => boolean {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const now = deps.now().getTime();
    if (now - last < intervalMs) return false;
    last = now;
    return true;
  };
}

/**
 * Writes a heartbeat every interval while the job runs, and hands what it
 * reads back (a cancel request, or the run being gone) to `heed`. `touch`
 * restarts the interval after another write that counted as one.
 */
export function startHeartbeat(
  info: AttemptInfo,
  deps: WorkerDeps,
  heed: (record: ActiveJob | undefined) => void,
): { touch: () => void; stop: () => void } {
  const intervalMs = deps.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = () => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(beat, intervalMs);
  };
  const beat = async () => {
    try {
      const record = await deps.store.heartbeat(
        info.owner,
        info.jobName,
        info.runId,
        deps.now().toISOString(),
      );
      if (!stopped) heed(record);
    } catch (error) {
      log.warn('A heartbeat could not be written; the job goes on', {
        jobName: info.jobName,
        runId: info.runId,
        ...describeError(error),
      });
    }
    schedule();
  };
  schedule();
  return {
    touch: schedule,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
