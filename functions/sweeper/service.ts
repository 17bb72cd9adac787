/**
 * The sweeper: the backstop that keeps a run from staying RUNNING forever.
 * Once a minute it reads every active record (the sparse `byActive` index) and
 * ends those whose worker can no longer report: past the deadline (plus a
 * grace in which the worker reports itself), silent for longer than any live
 * attempt could be, or never started long after creation.
 *
 * A QUEUED run is judged by the queue's own rules: it ends TIMED_OUT when it
 * has waited longer than the queue timeout, CANCELLED when its cancel's event
 * was lost. With fair share the sweep also repairs the slot counters and
 * starts the queued runs that fit (`slot-repair.ts`).
 *
 * It does not write the outcome itself. It puts `Job Timed Out` (or
 * `Job Cancelled`, when a cancel was requested) with the run id on the bus,
 * exactly as the worker would, so the completion function's transaction,
 * conditional on the run id, decides: the first terminal event wins, and a
 * worker's late report (or a second sweep) changes nothing.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { jobCancelledDetailSchema, jobTimedOutDetailSchema } from '../../core/event-schemas';
import { JobEventType, Reporter } from '../../core/events';
import { type ActiveJob, JobStatus } from '../../core/model';
import { ACTIVE_SHARDS } from '../../core/table';
import { jobEventEntry } from '../shared/bus';
import { describeError, log } from '../shared/log';
import type { JobStore } from '../shared/store';
import type { ActiveSummary } from '../shared/store-items';
import { parse } from '../shared/validate';
import { type SlotRepairResult, SlotTally } from './slot-repair';

/** PutEvents takes at most 10 entries a call (AWS-FACTS). */
const PUT_EVENTS_BATCH = 10;

export interface SweepLimits {
  /** A run past its deadline by more than this is ended. */
  readonly graceMs: number;
  /** A started run with no heartbeat (nor start, nor progress) for this long is ended. */
  readonly silentAfterMs: number;
  /** A run that has not started this long after its creation (or its dispatch from the queue) is ended. */
  readonly startWindowMs: number;
  /** A run queued this long without starting is ended. @default - never */
  readonly queueTimeoutMs?: number;
}

export interface SweeperDeps extends SweepLimits {
  readonly store: JobStore;
  readonly eventBridge: EventBridgeClient;
  readonly busName: string;
  readonly now: () => Date;
  /** Starts the queued runs that fit (`dispatch.ts`). @default - nothing is queued */
  readonly dispatch?: (trigger: { owner: string; type: string }) => Promise<void>;
  /**
   * Resumes a run with checkpoints whose worker died (`redrive.ts`) instead of
   * ending it; true when it did.
   *
   * @default - runs are ended
   */
  readonly redrive?: (job: ActiveJob, now: Date) => Promise<boolean>;
}

export interface Verdict {
  readonly detailType: typeof JobEventType.TimedOut | typeof JobEventType.Cancelled;
  readonly reason: string;
}

export interface SweepResult {
  readonly examined: number;
  readonly ended: number;
  readonly failed: number;
  /** Runs with checkpoints handed to a fresh invocation instead of being ended. */
  readonly redriven?: number;
  /** With fair share: counters repaired, and queues looked at. */
  readonly slots?: SlotRepairResult;
}

/** Whether the sweeper must end `job` now, and how; undefined leaves it to its worker. */
export function judge(job: ActiveSummary, now: Date, limits: SweepLimits): Verdict | undefined {
  if (job.status === JobStatus.Queued) return judgeQueued(job, now, limits);
  const at = now.getTime();
  const deadline = time(job.deadlineAt);
  const lastSign = Math.max(
    time(job.heartbeatAt) ?? 0,
    time(job.attemptStartedAt) ?? 0,
    time(job.startedAt) ?? 0,
  );
  let reason: string | undefined;
  if (deadline !== undefined && at > deadline + limits.graceMs) {
    reason = `The run passed its deadline (${job.deadlineAt}) and its worker did not report`;
  } else if (job.startedAt && at > lastSign + limits.silentAfterMs) {
    reason = `The run's worker fell silent: no heartbeat since ${new Date(lastSign).toISOString()}`;
  } else if (!job.startedAt) {
    const cancelled = time(job.cancelRequestedAt);
    // A run from the queue was handed to the worker at its dispatch, not at its creation.
    const handedOver = time(job.dispatchedAt) ?? time(job.createdAt) ?? at;
    if (at > handedOver + limits.startWindowMs) {
      reason = `The run never started (${job.dispatchedAt ? `dispatched from the queue at ${job.dispatchedAt}` : `created at ${job.createdAt}`})`;
    } else if (cancelled !== undefined && at > cancelled + limits.silentAfterMs) {
      reason = `The run was cancelled at ${job.cancelRequestedAt} before any worker started it`;
    }
  }
  if (!reason) return undefined;
  return job.cancelRequestedAt
    ? {
        detailType: JobEventType.Cancelled,
        reason: `Cancel requested at ${job.cancelRequestedAt}; ${reason}`,
      }
    : { detailType: JobEventType.TimedOut, reason };
}

/** A queued run: no worker, no deadline yet; only its wait and its cancel can end it. */
function judgeQueued(job: ActiveSummary, now: Date, limits: SweepLimits): Verdict | undefined {
  const at = now.getTime();
  const cancelled = time(job.cancelRequestedAt);
  if (cancelled !== undefined && at > cancelled + limits.silentAfterMs) {
    return {
      detailType: JobEventType.Cancelled,
      reason: `Cancel requested at ${job.cancelRequestedAt}, while the job was queued`,
    };
  }
  const created = time(job.createdAt) ?? at;
  if (limits.queueTimeoutMs !== undefined && at > created + limits.queueTimeoutMs) {
    return {
      detailType: JobEventType.TimedOut,
      reason: `The job waited in the queue for more than ${Math.round(limits.queueTimeoutMs / 1000)} s without starting`,
    };
  }
  return undefined;
}

/** One sweep over every shard of the active records. */
export async function sweep(deps: SweeperDeps): Promise<SweepResult> {
  const now = deps.now();
  const entries: PutEventsRequestEntry[] = [];
  const tally = deps.store.slots ? new SlotTally(deps.store.slots) : undefined;
  let examined = 0;
  let redrivenCount = 0;
  for (let shard = 0; shard < ACTIVE_SHARDS; shard++) {
    let startKey: Awaited<ReturnType<JobStore['listActive']>>['nextKey'];
    do {
      const page = await deps.store.listActive(shard, startKey);
      for (const job of page.jobs) {
        examined += 1;
        tally?.add(job);
        const verdict = judge(job, now, deps);
        if (!verdict) continue;
        if (await redriven(job, verdict, now, deps)) {
          redrivenCount += 1;
          continue;
        }
        log.warn('Ending an abandoned run', {
          owner: job.owner,
          jobName: job.jobName,
          runId: job.runId,
          detailType: verdict.detailType,
          reason: verdict.reason,
        });
        entries.push(entryFor(job, verdict, now, deps.busName));
      }
      startKey = page.nextKey;
    } while (startKey);
  }

  let failed = 0;
  for (let i = 0; i < entries.length; i += PUT_EVENTS_BATCH) {
    const batch = entries.slice(i, i + PUT_EVENTS_BATCH);
    try {
      const response = await deps.eventBridge.send(new PutEventsCommand({ Entries: batch }));
      failed += response.FailedEntryCount ?? 0;
    } catch (error) {
      // The next sweep, a minute later, finds the same runs and tries again.
      log.error('PutEvents failed for a batch of the sweep', describeError(error));
      failed += batch.length;
    }
  }
  const slots = tally ? await tally.settle(now, deps.dispatch) : undefined;
  const result = {
    examined,
    ended: entries.length - failed,
    failed,
    ...(redrivenCount ? { redriven: redrivenCount } : {}),
    ...(slots ? { slots } : {}),
  };
  log.info('Sweep done', { ...result });
  return result;
}

/** A timed-out verdict on a started run may be a crash that the run's checkpoints can outlive. */
async function redriven(
  job: ActiveSummary,
  verdict: Verdict,
  now: Date,
  deps: SweeperDeps,
): Promise<boolean> {
  if (!deps.redrive || verdict.detailType !== JobEventType.TimedOut || !job.startedAt) {
    return false;
  }
  try {
    // The index has no checkpoint marker: read the record (only runs about to be ended).
    const record = await deps.store.getActive(job.owner, job.jobName);
    if (!record || record.runId !== job.runId) return false;
    return await deps.redrive(record, now);
  } catch (error) {
    log.error('Could not re-drive a run; ending it instead', {
      owner: job.owner,
      jobName: job.jobName,
      runId: job.runId,
      ...describeError(error),
    });
    return false;
  }
}

function entryFor(
  job: ActiveSummary,
  verdict: Verdict,
  now: Date,
  busName: string,
): PutEventsRequestEntry {
  const started = time(job.startedAt);
  const base = {
    owner: job.owner,
    jobName: job.jobName,
    runId: job.runId,
    type: job.type,
    ...(job.attempt ? { attempt: job.attempt } : {}),
    ...(job.startedAt ? { startedAt: job.startedAt } : {}),
    finishedAt: now.toISOString(),
    ...(started !== undefined ? { durationMs: Math.max(0, now.getTime() - started) } : {}),
    reason: verdict.reason,
    reportedBy: Reporter.Sweeper,
  };
  const detail =
    verdict.detailType === JobEventType.Cancelled
      ? parse(jobCancelledDetailSchema, base)
      : parse(jobTimedOutDetailSchema, { ...base, deadlineAt: job.deadlineAt });
  return jobEventEntry(busName, verdict.detailType, detail);
}

function time(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}
