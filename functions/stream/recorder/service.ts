/**
 * The recorder: target of a rule for every lifecycle event of every run. It
 * keeps the run's event log (so a client that subscribes late still gets the
 * events so far) and pushes the event to the connections that follow the run.
 *
 * Ordering against `subscribe`: the recorder writes the log, then reads the
 * subscriptions; `subscribe` writes its subscription, then reads the log. Either
 * way round, each event reaches a subscriber at least once; duplicates are
 * possible and clients drop them by event id.
 */
import { MalformedEventError } from '../../../core/errors';
import { jobPartitionKey } from '../../../core/table';
import { appendJobKeys, describeError, log } from '../../shared/log';
import { describeIssues, validate } from '../../shared/validate';
import type { ConnectionsApi } from '../connections';
import { DeliveryError, GoneConnectionError } from '../errors';
import { eventMessage, isTerminal, type JobEvent, jobEventSchema } from '../messages';
import type { StreamStore, Subscription } from '../store';

export interface RecorderDeps {
  readonly store: StreamStore;
  readonly connections: ConnectionsApi;
  /** How long the log is kept, in seconds: as long as the run's outcome. */
  readonly retentionSeconds: number;
  readonly now: () => Date;
}

export interface RecordResult {
  readonly runId: string;
  /** The event's position in the run's log; looked up only when the run has followers. */
  readonly seq?: number;
  /** Connections the event was posted to. */
  readonly delivered: number;
  /** Subscriptions removed because their client had left (410 Gone). */
  readonly gone: number;
  /** Connections closed because the event ended the run. */
  readonly closed: number;
}

/** Records one lifecycle event and sends it to the run's subscribers. */
export async function recordEvent(input: unknown, deps: RecorderDeps): Promise<RecordResult> {
  const parsed = validate(jobEventSchema, input);
  if (!parsed.success) {
    // Thrown, so that after Lambda's retries the event lands in the dead-letter queue.
    throw new MalformedEventError(
      `Not a job lifecycle event: ${describeIssues(parsed.error.issues)}`,
      {
        cause: parsed.error,
      },
    );
  }
  const event = parsed.data;
  const { owner, jobName, runId } = event.detail;
  appendJobKeys({ owner, jobName, runId });
  const nowSeconds = Math.floor(deps.now().getTime() / 1000);

  await deps.store.putEvent(event, nowSeconds + deps.retentionSeconds);

  const jobPk = jobPartitionKey(owner, jobName);
  const followers = (await deps.store.subscriptions(jobPk, nowSeconds)).filter(
    (s) => s.runId === runId,
  );
  // Only followers are told the event's position: most runs have none, and counting is a query.
  const seq = followers.length > 0 ? await deps.store.positionOf(event) : undefined;
  const outcomes =
    seq === undefined
      ? []
      : await Promise.allSettled(
          followers.map((subscription) => deliver(event, seq, jobPk, subscription, deps)),
        );

  let delivered = 0;
  let gone = 0;
  let closed = 0;
  const failures: unknown[] = [];
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') failures.push(outcome.reason);
    else if (outcome.value === 'gone') gone += 1;
    else {
      delivered += 1;
      if (outcome.value === 'closed') closed += 1;
    }
  }
  const result = { runId, seq, delivered, gone, closed };
  log.info('Recorded a job event', {
    detailType: event['detail-type'],
    eventId: event.id,
    jobName,
    ...result,
    failed: failures.length,
  });
  if (failures.length > 0) {
    for (const failure of failures)
      log.warn('Could not post to a subscriber', describeError(failure));
    // Lambda retries the whole event: the log item is rewritten as it is, and the
    // subscribers that did get it get it again, which they drop by event id.
    throw new DeliveryError(
      `${failures.length} of ${followers.length} subscribers of ${jobName} could not be reached`,
      { cause: new AggregateError(failures) },
    );
  }
  return result;
}

async function deliver(
  event: JobEvent,
  seq: number,
  jobPk: string,
  subscription: Subscription,
  deps: RecorderDeps,
): Promise<'posted' | 'closed' | 'gone'> {
  try {
    await deps.connections.post(subscription.connectionId, eventMessage(seq, event));
  } catch (error) {
    if (!(error instanceof GoneConnectionError)) throw error;
    await deps.store.deleteSubscription(jobPk, subscription.connectionId);
    return 'gone';
  }
  if (!isTerminal(event)) return 'posted';
  // The run has ended, and with it the stream: API Gateway then runs $disconnect.
  await deps.connections.close(subscription.connectionId);
  await deps.store.deleteSubscription(jobPk, subscription.connectionId);
  return 'closed';
}
