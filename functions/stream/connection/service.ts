/**
 * The WebSocket side of the stream: `$connect` records who connected (the IAM
 * identity API Gateway verified), `subscribe` follows a job's current or latest
 * run, `$disconnect` cleans up.
 *
 * `subscribe` writes its subscription before it reads the run's log, and the
 * recorder writes the log before it reads the subscriptions, so no event falls
 * between history and live delivery; one may arrive twice (clients drop
 * duplicates by event id).
 */

import { jobPartitionKey } from '../../../core/table';
import { describeError, log } from '../../shared/log';
import type { JobStore } from '../../shared/store';
import { validate } from '../../shared/validate';
import type { ConnectionsApi } from '../connections';
import { GoneConnectionError, StreamRequestError } from '../errors';
import {
  errorMessage,
  eventMessage,
  isTerminal,
  type JobEvent,
  StreamErrorCode,
  subscribeRequestSchema,
} from '../messages';
import type { StreamStore } from '../store';

/** API Gateway closes a WebSocket connection after 2 hours at most; its records last as long. */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60;

/**
 * How long after a run's outcome the stream still waits for its terminal event to
 * be logged. Completion and the recorder are separate targets of the same event,
 * so the outcome may be written first; past this, the event is taken to be lost
 * (logged before the stream existed, or expired) and the stream just ends.
 */
export const TERMINAL_EVENT_GRACE_SECONDS = 5 * 60;

/** What every BadRequest answer ends with: the one message the stream understands. */
const USAGE = 'send {"action":"subscribe","name":"<job name>"}';

/** The largest subscribe message read, in bytes. */
const MAX_MESSAGE_BYTES = 4096;

export interface ConnectionDeps {
  readonly store: StreamStore;
  readonly jobs: Pick<JobStore, 'getActive' | 'getLatestOutcome'>;
  readonly connections: ConnectionsApi;
  readonly now: () => Date;
}

/** Records the connection's owner; API Gateway has verified the SigV4 signature. */
export async function connect(
  connectionId: string,
  owner: string,
  deps: ConnectionDeps,
): Promise<void> {
  await deps.store.putConnection(connectionId, owner, seconds(deps.now()) + CONNECTION_TTL_SECONDS);
}

/** Removes the connection's record and its subscriptions. */
export async function disconnect(connectionId: string, deps: ConnectionDeps): Promise<void> {
  const connection = await deps.store.getConnection(connectionId, 0);
  for (const jobPk of connection?.subscriptions ?? []) {
    await deps.store.deleteSubscription(jobPk, connectionId);
  }
  await deps.store.deleteConnection(connectionId);
}

export type SubscribeResult =
  | {
      readonly status: 'following' | 'ended';
      readonly runId: string;
      /** History events sent. */
      readonly sent: number;
    }
  | { readonly status: 'gone'; readonly runId: string; readonly sent: number }
  | { readonly status: 'refused'; readonly code: StreamErrorCode };

/**
 * Handles `{"action":"subscribe","name"}`: sends the run's events so far, in
 * order, then leaves the subscription for the recorder's live events, or closes
 * the connection when the run has already ended. A refused request gets an
 * error message; the connection stays open.
 */
export async function subscribe(
  connectionId: string,
  body: string | undefined,
  deps: ConnectionDeps,
): Promise<SubscribeResult> {
  try {
    return await follow(connectionId, body, deps);
  } catch (error) {
    const refusal =
      error instanceof StreamRequestError
        ? error
        : new StreamRequestError(StreamErrorCode.InternalError, 'The subscription failed', {
            cause: error,
          });
    if (!(error instanceof StreamRequestError)) {
      log.error('Subscribe failed', { connectionId, ...describeError(error) });
    }
    await sendError(connectionId, refusal, deps);
    return { status: 'refused', code: refusal.code };
  }
}

/** A message that cannot be read at all (bytes that are not UTF-8): refused, like any bad request. */
export async function badMessage(
  connectionId: string,
  message: string,
  deps: ConnectionDeps,
): Promise<void> {
  await sendError(connectionId, new StreamRequestError(StreamErrorCode.BadRequest, message), deps);
}

/** Any message other than a subscribe request (API Gateway's `$default` route). */
export async function unknownMessage(connectionId: string, deps: ConnectionDeps): Promise<void> {
  await sendError(
    connectionId,
    new StreamRequestError(
      StreamErrorCode.BadRequest,
      `Unknown message: ${USAGE} as a JSON text message`,
    ),
    deps,
  );
}

async function follow(
  connectionId: string,
  body: string | undefined,
  deps: ConnectionDeps,
): Promise<SubscribeResult> {
  const name = parseRequest(body);
  const now = deps.now();
  const nowSeconds = seconds(now);
  const connection = await deps.store.getConnection(connectionId, nowSeconds);
  if (!connection) {
    throw new StreamRequestError(
      StreamErrorCode.NotConnected,
      'This connection is not known (it may have expired); connect again',
    );
  }
  const { owner } = connection;

  // Another identity's job of the same name is in another partition: it is simply not found.
  const active = await deps.jobs.getActive(owner, name);
  const outcome = active ? undefined : await deps.jobs.getLatestOutcome(owner, name, nowSeconds);
  const runId = active?.runId ?? outcome?.runId;
  if (runId === undefined) {
    throw new StreamRequestError(
      StreamErrorCode.JobNotFound,
      `No job named "${name}" is running or retained`,
    );
  }

  // First the subscription, then the log: see the module comment.
  const jobPk = jobPartitionKey(owner, name);
  if (!(await deps.store.addConnectionSubscription(connectionId, jobPk))) {
    throw new StreamRequestError(StreamErrorCode.NotConnected, 'This connection has closed');
  }
  await deps.store.putSubscription(
    jobPk,
    { connectionId, runId },
    nowSeconds + CONNECTION_TTL_SECONDS,
  );
  const history = untilTerminal(await deps.store.runEvents(owner, name, runId, nowSeconds));

  let sent = 0;
  try {
    for (const event of history) {
      sent += 1;
      await deps.connections.post(connectionId, eventMessage(sent, event));
    }
  } catch (error) {
    if (!(error instanceof GoneConnectionError)) throw error;
    await deps.store.deleteSubscription(jobPk, connectionId);
    return { status: 'gone', runId, sent: sent - 1 };
  }

  const last = history[history.length - 1];
  const ended = last !== undefined && isTerminal(last);
  const lost =
    !ended &&
    outcome !== undefined &&
    Date.parse(outcome.finishedAt) / 1000 + TERMINAL_EVENT_GRACE_SECONDS < nowSeconds;
  if (!ended && !lost) return { status: 'following', runId, sent };

  if (lost) {
    log.warn('A finished run has no logged terminal event; ending its stream', {
      jobName: name,
      runId,
      finishedAt: outcome?.finishedAt,
    });
  }
  await deps.store.deleteSubscription(jobPk, connectionId);
  await deps.connections.close(connectionId);
  return { status: 'ended', runId, sent };
}

function parseRequest(body: string | undefined): string {
  if (body === undefined || body === '' || Buffer.byteLength(body, 'utf8') > MAX_MESSAGE_BYTES) {
    throw new StreamRequestError(
      StreamErrorCode.BadRequest,
      `The message must be a JSON object of at most ${MAX_MESSAGE_BYTES} bytes: ${USAGE}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new StreamRequestError(
      StreamErrorCode.BadRequest,
      `The message is not valid JSON: ${USAGE}`,
      {
        cause: error,
      },
    );
  }
  const parsed = validate(subscribeRequestSchema, json);
  if (!parsed.success) {
    throw new StreamRequestError(
      StreamErrorCode.BadRequest,
      `The request is not a subscription: ${USAGE}, where the name is 1 to 128 ` +
        'characters of A-Z a-z 0-9 . _ - and not only dots',
      { cause: parsed.error },
    );
  }
  return parsed.data.name;
}

/**
 * The log up to and including the run's first terminal event: that event decided
 * the run (the completion function keeps the first), and nothing after it belongs
 * in the stream, as in the local cloud's.
 */
function untilTerminal(events: readonly JobEvent[]): JobEvent[] {
  const end = events.findIndex(isTerminal);
  return end < 0 ? [...events] : events.slice(0, end + 1);
}

async function sendError(
  connectionId: string,
  error: StreamRequestError,
  deps: ConnectionDeps,
): Promise<void> {
  try {
    await deps.connections.post(connectionId, errorMessage(error.code, error.message));
  } catch (postError) {
    if (!(postError instanceof GoneConnectionError)) throw postError;
  }
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
