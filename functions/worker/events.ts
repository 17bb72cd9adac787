/**
 * The events the worker puts on the bus: the informational ones (`Job Started`,
 * `Job Progress`), whose loss is logged and never fatal, and the one terminal
 * event that turns a run's end (completed, failed, cancelled or timed out) into
 * its outcome, checked against its schema and the size limits before it is put.
 */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  jobCancelledDetailSchema,
  jobCompletedDetailSchema,
  jobFailedDetailSchema,
  jobTimedOutDetailSchema,
} from '../../core/event-schemas';
import {
  type AttemptError,
  type JobError,
  JobEventType,
  type JobOutcomeEventType,
  putEventsEntrySize,
  Reporter,
} from '../../core/events';
import { type JobEventEntry, jobEventEntry } from '../shared/bus';
import { utf8Length } from '../shared/json';
import { describeError, log } from '../shared/log';
import { parse } from '../shared/validate';
import { type RunOutcome, resultJson } from './attempts';
import { EventDeliveryError } from './errors';
import type { WorkerDeps } from './service';

/** What putting the worker's events takes. */
type EventDeps = Pick<
  WorkerDeps,
  'eventBridge' | 'busName' | 'maxEventBytes' | 'maxResultBytes' | 'now'
>;

/** A PutEvents entry for one of the worker's terminal events. */
type OutcomeEntry = JobEventEntry<JobOutcomeEventType>;

/** The fields every outcome event of this attempt shares. */
export interface AttemptInfo {
  readonly owner: string;
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  readonly attempt: number;
  readonly startedAt: string;
  readonly deadlineAt?: string;
}

/** Puts an informational event (Started, Progress); a failure is logged, never fatal. */
export async function announce(
  detailType: JobEventType,
  detail: object,
  deps: EventDeps,
): Promise<void> {
  try {
    const response = await deps.eventBridge.send(
      new PutEventsCommand({ Entries: [jobEventEntry(deps.busName, detailType, detail)] }),
    );
    if ((response?.FailedEntryCount ?? 0) > 0) {
      log.warn('PutEvents did not accept an informational event', { detailType });
    }
  } catch (error) {
    log.warn('An informational event could not be put', { detailType, ...describeError(error) });
  }
}

/** Builds, checks and puts the outcome event; returns the detail-type that was sent. */
export async function report(
  info: AttemptInfo,
  outcome: RunOutcome,
  deps: EventDeps,
): Promise<JobOutcomeEventType> {
  const finished = deps.now();
  const timing = {
    finishedAt: finished.toISOString(),
    durationMs: Math.max(0, Math.round(finished.getTime() - Date.parse(info.startedAt))),
  };
  const { deadlineAt, ...fields } = info;
  const base = { ...fields, attempt: outcome.attempt ?? info.attempt, ...timing };
  const entry = outcomeEntry(base, deadlineAt, outcome, deps);
  const response = await deps.eventBridge.send(new PutEventsCommand({ Entries: [entry] }));
  if ((response.FailedEntryCount ?? 0) > 0) {
    const failed = response.Entries?.find((e) => e.ErrorCode) ?? response.Entries?.[0];
    throw new EventDeliveryError(
      `PutEvents did not accept the "${entry.DetailType}" event: ` +
        `${failed?.ErrorCode ?? 'UnknownError'}: ${failed?.ErrorMessage ?? 'no message'}`,
    );
  }
  return entry.DetailType;
}

type OutcomeBase = Omit<AttemptInfo, 'deadlineAt'> & {
  readonly finishedAt: string;
  readonly durationMs: number;
};

function outcomeEntry(
  base: OutcomeBase,
  deadlineAt: string | undefined,
  outcome: RunOutcome,
  deps: EventDeps,
): OutcomeEntry {
  switch (outcome.kind) {
    case 'failed':
      return failedEntry(base, outcome.error, deps, outcome.attempts);
    case 'cancelled':
      return entryFor(
        JobEventType.Cancelled,
        parse(jobCancelledDetailSchema, {
          ...base,
          reason: outcome.reason,
          reportedBy: Reporter.Worker,
        }),
        deps,
      );
    case 'timedOut':
      return entryFor(
        JobEventType.TimedOut,
        parse(jobTimedOutDetailSchema, {
          ...base,
          reason: outcome.reason,
          reportedBy: Reporter.Worker,
          deadlineAt,
        }),
        deps,
      );
    case 'completed':
      return completedEntry(base, outcome.result, deps);
    case 'suspended':
      // The worker hands a suspended run on (`suspend` in service.ts); it has no outcome yet.
      throw new Error('A suspended run has no outcome event');
  }
}

function completedEntry(base: OutcomeBase, value: unknown, deps: EventDeps): OutcomeEntry {
  const serialized = resultJson(value);
  if ('error' in serialized) return failedEntry(base, serialized.error, deps);
  const { result, json } = serialized;
  const entry = entryFor(
    JobEventType.Completed,
    parse(jobCompletedDetailSchema, { ...base, result }),
    deps,
  );
  const resultBytes = utf8Length(json);
  const roomInEvent = deps.maxEventBytes - (putEventsEntrySize(entry) - resultBytes);
  const limit = Math.max(0, Math.min(roomInEvent, deps.maxResultBytes));
  if (resultBytes > limit) {
    return failedEntry(
      base,
      {
        name: 'ResultTooLargeError',
        message: `The result is ${resultBytes} bytes; the limit is ${limit}`,
      },
      deps,
    );
  }
  return entry;
}

function failedEntry(
  base: OutcomeBase,
  error: JobError,
  deps: EventDeps,
  attempts?: readonly AttemptError[],
): OutcomeEntry {
  const detail = attempts ? { ...base, error, attempts } : { ...base, error };
  return entryFor(JobEventType.Failed, parse(jobFailedDetailSchema, detail), deps);
}

function entryFor(detailType: JobOutcomeEventType, detail: object, deps: EventDeps): OutcomeEntry {
  return jobEventEntry(deps.busName, detailType, detail);
}
