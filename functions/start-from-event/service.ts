/**
 * Starting jobs from a trigger's EventBridge event or a schedule's firing,
 * through the same start path as `POST /jobs` (`startJob`: validation, the
 * type's schema, limits and queueing, the idempotent repeat of a running name).
 *
 * Delivery is at least once on both sides, so an event (or a firing) that
 * already started a run starts nothing more, while the run runs (its name is
 * taken, and the repeat returns it) and after it ended (`StarterStore`).
 *
 * An event that can never start a job (an unknown type, an input the type
 * refuses, a bad name or owner, a name another run holds) is not retried: it
 * is rejected, with its reason, by a `Job Rejected` event that the construct
 * routes to its dead-letter queue. Anything else (throttling, a full queue, an
 * unreachable worker) throws, so Lambda retries the invocation and, when its
 * retries are spent, sends it to the same queue.
 */
import { HttpError } from '../../core/errors';
import type { JobRejectedDetail } from '../../core/event-schemas';
import {
  JOB_REJECTED_EVENT_TYPE,
  type PutEventsEntryLike,
  putEventsEntrySize,
} from '../../core/events';
import type { OwnerModel } from '../../core/limits';
import {
  decodeStarter,
  type EventPath,
  MissingValueError,
  mapInput,
  ownerOfPrincipal,
  renderName,
  type ScheduleConfig,
  STARTER_KEY,
  type StartedByStarter,
  selectPath,
  type TriggerConfig,
} from '../../core/triggers';
import { log } from '../shared/log';
import type { StartedRun, StarterStore } from '../shared/starter-store';
import { type StartedJob, type StartJobDeps, startJob } from '../start-job/service';

export interface StarterDeps extends StartJobDeps {
  readonly starters: StarterStore;
  /** Puts `Job Rejected` on the construct's bus. */
  readonly putRejected: (detail: JobRejectedDetail) => Promise<void>;
  readonly ownerModel: OwnerModel;
  /** How long outcomes are kept: an event is recognised for this long after its run ended. */
  readonly retentionSeconds: number;
  /** The largest PutEvents entry the bus takes, for the copy of the event a rejection carries. */
  readonly maxEventBytes: number;
}

/** What the starter did with one event or firing. */
export type StarterResult =
  | { readonly outcome: 'started'; readonly job: StartedJob }
  | { readonly outcome: 'duplicate'; readonly run: StartedRun }
  | { readonly outcome: 'rejected'; readonly code: string; readonly message: string };

/** A reason an event cannot start a job; never retried. */
class Rejection extends Error {
  override readonly name = 'Rejection';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: JobRejectedDetail['reason']['details'],
  ) {
    super(message);
  }
}

/** The status codes of `startJob`'s errors that no retry of the same event can change. */
const FINAL_STATUS_CODES = new Set([400, 409, 413]);

/**
 * The longest a run lasts (30 days) plus the outcome retention: how long an
 * event is remembered. A few bytes an event, expired by TTL.
 */
const MAX_RUN_SECONDS = 30 * 86_400;

export async function startFromPayload(
  payload: unknown,
  deps: StarterDeps,
): Promise<StarterResult> {
  const record =
    payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>) : {};
  // A payload without a configuration is not one of the construct's targets: a bug, not an event.
  const config = decodeStarter(record[STARTER_KEY]);
  return config.kind === 'trigger'
    ? startFromEvent(config, record, deps)
    : startFromSchedule(config, record, deps);
}

async function startFromEvent(
  config: TriggerConfig,
  record: Record<string, unknown>,
  deps: StarterDeps,
): Promise<StarterResult> {
  const event = record.event;
  const envelope =
    event !== null && typeof event === 'object' ? (event as Record<string, unknown>) : {};
  const eventId = typeof envelope.id === 'string' && envelope.id !== '' ? envelope.id : undefined;
  if (!eventId) throw new Error(`Trigger ${config.id} received a payload without an event id`);
  const startedBy: StartedByStarter = {
    kind: 'trigger',
    id: config.id,
    eventId,
    ...(typeof envelope.source === 'string' ? { source: envelope.source } : {}),
    ...(typeof envelope['detail-type'] === 'string' ? { detailType: envelope['detail-type'] } : {}),
  };
  const fields = { trigger: config.id, eventId };

  const seen = await deps.starters.startedBy(config.id, eventId);
  if (seen) {
    log.info('Event already started a run; redelivery ignored', { ...fields, ...seen });
    return { outcome: 'duplicate', run: seen };
  }

  let owner: string | undefined;
  let type: string | undefined;
  let jobName: string | undefined;
  try {
    owner = ownerFrom(config, record, deps.ownerModel);
    type = stringAt(config.type, event, 'type');
    jobName = config.name ? stringAt(config.name, event, 'name') : eventId;
    const input = mapInput(config.input ?? { path: '$.detail' }, event);
    const job = await startJob(
      owner,
      {
        type,
        name: jobName,
        input,
        ...(config.timeoutSeconds !== undefined ? { timeoutSeconds: config.timeoutSeconds } : {}),
      },
      deps,
      startedBy,
    );
    await remember(config.id, eventId, { owner, jobName: job.jobName, runId: job.runId }, deps);
    log.info(job.created ? 'Event started a run' : 'Event matched the running run', {
      ...fields,
      owner,
      jobName: job.jobName,
      runId: job.runId,
      status: job.status,
    });
    return { outcome: 'started', job };
  } catch (error) {
    const rejection = rejectionOf(error);
    if (!rejection) throw error;
    await reject(rejection, { startedBy, owner, type, jobName, event }, deps);
    return { outcome: 'rejected', code: rejection.code, message: rejection.message };
  }
}

async function startFromSchedule(
  config: ScheduleConfig,
  record: Record<string, unknown>,
  deps: StarterDeps,
): Promise<StarterResult> {
  const scheduledTime = isoTimeOf(record.scheduledTime);
  if (!scheduledTime) {
    throw new Error(`Schedule ${config.id} fired without a valid scheduledTime`);
  }
  const startedBy: StartedByStarter = { kind: 'schedule', id: config.id, scheduledTime };
  const fields = { schedule: config.id, scheduledTime };
  const starterId = `schedule:${config.id}`;

  const seen = await deps.starters.startedBy(starterId, scheduledTime);
  if (seen) {
    log.info('This firing already started a run; redelivery ignored', { ...fields, ...seen });
    return { outcome: 'duplicate', run: seen };
  }

  const jobName = renderName(config.name, { id: config.id, scheduledTime });
  const owner =
    typeof record.owner === 'string' ? ownerOfPrincipal(record.owner, deps.ownerModel) : undefined;
  if (owner === undefined) {
    // The construct checks a literal owner at synth; a token's value is first seen here.
    const rejection = new Rejection('InvalidOwner', invalidOwner(record.owner, deps.ownerModel));
    await reject(rejection, { startedBy, type: config.type, jobName }, deps);
    return { outcome: 'rejected', code: rejection.code, message: rejection.message };
  }
  if (config.overlap === 'skip') {
    const last = await deps.starters.lastRun(config.id);
    const running = last && (await deps.store.getActive(last.owner, last.jobName));
    // Another firing's run still active. (The same firing again is a redelivery: it goes on to
    // the start path, which recognises its own run while it runs.)
    // The run's own record says which firing it is (`last` may be a step behind it when a firing
    // died between starting its run and recording it).
    const runningFiring =
      running?.startedBy?.kind === 'schedule'
        ? running.startedBy.scheduledTime
        : last?.scheduledTime;
    if (last && running && running.runId === last.runId && runningFiring !== scheduledTime) {
      await reject(
        new Rejection(
          'OverlapSkipped',
          `The schedule's previous run ${last.jobName} (${last.runId}) is still ${running.status}; overlap is skip`,
        ),
        { startedBy, owner, type: config.type, jobName, runningRunId: last.runId },
        deps,
        false,
      );
      return { outcome: 'rejected', code: 'OverlapSkipped', message: 'previous run still running' };
    }
  }

  try {
    const job = await startJob(
      owner,
      {
        type: config.type,
        name: jobName,
        input: record.input ?? {},
        ...(config.timeoutSeconds !== undefined ? { timeoutSeconds: config.timeoutSeconds } : {}),
      },
      deps,
      startedBy,
    );
    const run = { owner, jobName: job.jobName, runId: job.runId };
    await deps.starters.recordLastRun(config.id, run, scheduledTime);
    await remember(starterId, scheduledTime, run, deps);
    log.info('Schedule started a run', { ...fields, ...run, status: job.status });
    return { outcome: 'started', job };
  } catch (error) {
    const rejection = rejectionOf(error);
    if (!rejection) throw error;
    await reject(rejection, { startedBy, owner, type: config.type, jobName }, deps);
    return { outcome: 'rejected', code: rejection.code, message: rejection.message };
  }
}

async function remember(
  starterId: string,
  eventKey: string,
  run: StartedRun,
  deps: StarterDeps,
): Promise<void> {
  const expiresAt =
    Math.floor(deps.now().getTime() / 1000) + MAX_RUN_SECONDS + deps.retentionSeconds;
  await deps.starters.recordStarted(starterId, eventKey, run, expiresAt);
}

function ownerFrom(
  config: TriggerConfig,
  record: Record<string, unknown>,
  model: OwnerModel,
): string {
  const source = config.owner;
  const arn = 'path' in source ? selectPath(record.event, source.path) : record.owner;
  if (arn === undefined && 'path' in source) {
    throw new Rejection('MissingValue', new MissingValueError('owner', source.path).message);
  }
  const owner = typeof arn === 'string' ? ownerOfPrincipal(arn, model) : undefined;
  if (owner === undefined) throw new Rejection('InvalidOwner', invalidOwner(arn, model));
  return owner;
}

function invalidOwner(arn: unknown, model: OwnerModel): string {
  return model === 'session'
    ? `The owner must be the ARN of an IAM user or of an assumed-role session (the stack's owner model is session); got ${describe(arn)}`
    : `The owner must be the ARN of an IAM user or role, or of an assumed role; got ${describe(arn)}`;
}

function stringAt(source: string | EventPath, event: unknown, field: string): string {
  if (typeof source === 'string') return source;
  const value = selectPath(event, source.path);
  if (value === undefined) throw new MissingValueError(field, source.path);
  if (typeof value !== 'string') {
    throw new Rejection(
      field === 'type' ? 'UnknownJobType' : 'InvalidJobName',
      `The job's ${field} at ${source.path} must be a string; got ${describe(value)}`,
    );
  }
  return value;
}

/** Why an error means the event can never start a job, or undefined when a retry might. */
function rejectionOf(error: unknown): Rejection | undefined {
  if (error instanceof Rejection) return error;
  if (error instanceof MissingValueError) return new Rejection('MissingValue', error.message);
  if (error instanceof HttpError && FINAL_STATUS_CODES.has(error.statusCode)) {
    return new Rejection(
      error.code,
      error.message,
      error.details?.map((d) => ({ ...d })),
    );
  }
  return undefined;
}

interface RejectedContext {
  readonly startedBy: StartedByStarter;
  readonly owner?: string;
  readonly type?: string;
  readonly jobName?: string;
  readonly runningRunId?: string;
  readonly event?: unknown;
}

async function reject(
  rejection: Rejection,
  context: RejectedContext,
  deps: StarterDeps,
  deadLettered = true,
): Promise<void> {
  const { event, ...known } = context;
  const base: JobRejectedDetail = {
    ...known,
    reason: {
      code: rejection.code,
      message: rejection.message,
      ...(rejection.details?.length ? { details: [...rejection.details] } : {}),
    },
    deadLettered,
    rejectedAt: deps.now().toISOString(),
  };
  const withEvent: JobRejectedDetail = event === undefined ? base : { ...base, event };
  // The copy of the event is what lets an operator replay it from the dead-letter queue; one
  // too large to carry along with the reason is left out (its id is in startedBy) and logged.
  const fits = entrySize(withEvent) <= deps.maxEventBytes;
  const detail = fits ? withEvent : { ...base, eventOmitted: true };
  log.warn('Rejected: no job started', {
    ...detail,
    ...(fits ? {} : { event }),
  });
  await deps.putRejected(detail);
}

function entrySize(detail: JobRejectedDetail): number {
  const entry: PutEventsEntryLike = {
    Source: 'eventjobs',
    DetailType: JOB_REJECTED_EVENT_TYPE,
    Detail: JSON.stringify(detail),
  };
  return putEventsEntrySize(entry);
}

function isoTimeOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
