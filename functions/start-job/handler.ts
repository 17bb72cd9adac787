/**
 * POST /jobs: starts a named job and answers 202 with where to watch it.
 * POST /jobs/batch: starts up to 100, and answers 200 with each one's result.
 * POST /jobs/{name}/replay: starts a finished job again with its input, as POST /jobs would.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Defaults, EnvVar, intEnv, requireEnv } from '../../core/config';
import { PayloadTooLargeError } from '../../core/errors';
import { jobEventPutter } from '../shared/bus';
import {
  type ApiEvent,
  type ApiResult,
  apiHandler,
  jobNameParam,
  jsonResponse,
  readJsonBody,
  statusUrl,
} from '../shared/http';
import { ownerOf } from '../shared/identity';
import { slotStoreFromEnv } from '../shared/limits-env';
import { withLogContext } from '../shared/log';
import { createJobMetrics, withMetrics } from '../shared/metrics';
import { JobStore } from '../shared/store';
import { type BatchEntryStarted, batchStartDeadline, startBatch } from './batch';
import { MAX_BATCH_BODY_BYTES } from './batch-limits';
import { MAX_REPLAY_BODY_BYTES, replayJob } from './replay';
import { BODY_OVERHEAD_BYTES, type StartedJob, type StartJobDeps, startJob } from './service';

const metrics = createJobMetrics();
const dynamodb = new DynamoDBClient({});
const tableName = requireEnv(EnvVar.TableName);
// The bus carries `Job Queued`: only a stack with limits queues, and passes it.
const busName = process.env[EnvVar.EventBusName];

const deps: StartJobDeps = {
  store: new JobStore(dynamodb, tableName, slotStoreFromEnv(dynamodb, tableName)),
  ...(busName
    ? {
        // `Job Queued` is informational: it must never hold the caller's answer long.
        putEvent: jobEventPutter(
          new EventBridgeClient({
            requestHandler: { requestTimeout: 2000, throwOnRequestTimeout: true },
          }),
          busName,
        ),
      }
    : {}),
  // One attempt may take 5 s (the SDK sets no limit), so an Invoke that hangs is retried,
  // and a start that cannot reach the worker answers 503 well before API Gateway's 30 s.
  lambda: new LambdaClient({
    requestHandler: { requestTimeout: 5000, throwOnRequestTimeout: true },
  }),
  workerFunctionName: requireEnv(EnvVar.WorkerFunctionName),
  maxInputBytes: intEnv(EnvVar.MaxInputBytes, Defaults.maxInputBytes),
  allowHttpLocalhost: process.env[EnvVar.LocalCloud] === 'true',
  now: () => new Date(),
  metrics,
};

/** The batch route's key; every request to this function other than these two is `POST /jobs`. */
export const BATCH_ROUTE_KEY = 'POST /jobs/batch';
/** The replay route's key. */
export const REPLAY_ROUTE_KEY = 'POST /jobs/{name}/replay';

/** The Lambda timeout the stack gives API functions, for a call without a context (tests). */
const DEFAULT_REMAINING_MS = 29_000;

export const handler = withLogContext(
  'start-job',
  withMetrics(
    metrics,
    apiHandler(async (event, context) => {
      if (event.routeKey === BATCH_ROUTE_KEY) {
        return startMany(event, context?.getRemainingTimeInMillis() ?? DEFAULT_REMAINING_MS);
      }
      if (event.routeKey === REPLAY_ROUTE_KEY) return replay(event);
      const owner = ownerOf(event);
      const body = readJsonBody(event, deps.maxInputBytes + BODY_OVERHEAD_BYTES);
      return startedResponse(event, await startJob(owner, body, deps));
    }),
  ),
);

/** `POST /jobs/{name}/replay`: the body is optional (none is `{}`: a generated name). */
async function replay(event: ApiEvent): Promise<ApiResult> {
  const owner = ownerOf(event);
  const jobName = jobNameParam(event);
  const empty = event.body === undefined || event.body === null || event.body === '';
  const body = empty ? {} : readJsonBody(event, MAX_REPLAY_BODY_BYTES);
  return startedResponse(event, await replayJob(owner, jobName, body, deps));
}

/** The answer of a start: 202 for a new run, 200 for a repeat of one still running. */
function startedResponse(event: ApiEvent, job: StartedJob): ApiResult {
  const location = statusUrl(event, job.jobName);
  return jsonResponse(
    job.created ? 202 : 200,
    {
      jobName: job.jobName,
      runId: job.runId,
      status: job.status,
      ...(job.position !== undefined ? { queue: { position: job.position } } : {}),
      statusUrl: location.url,
    },
    { location: location.path },
  );
}

/** `POST /jobs/batch`: 200 with every entry's result, whether it started or not. */
async function startMany(event: ApiEvent, remainingMs: number): Promise<ApiResult> {
  const owner = ownerOf(event);
  let body: unknown;
  try {
    body = readJsonBody(event, MAX_BATCH_BODY_BYTES);
  } catch (error) {
    if (!(error instanceof PayloadTooLargeError)) throw error;
    throw new PayloadTooLargeError(
      `The batch is larger than ${MAX_BATCH_BODY_BYTES} bytes, the most a batch may be: the body travels to the function inside Lambda's 6 MB request, where its JSON escaping may double it; send fewer entries per batch`,
      { cause: error },
    );
  }
  const startBy = batchStartDeadline(deps.now().getTime(), remainingMs);
  const outcome = await startBatch(owner, body, deps, { startBy });
  return jsonResponse(200, {
    successful: outcome.successful.map((entry) => startedView(event, entry)),
    failed: outcome.failed,
  });
}

function startedView(event: ApiEvent, entry: BatchEntryStarted) {
  return {
    id: entry.id,
    jobName: entry.jobName,
    runId: entry.runId,
    status: entry.status,
    created: entry.created,
    ...(entry.position !== undefined ? { queue: { position: entry.position } } : {}),
    statusUrl: statusUrl(event, entry.jobName).url,
  };
}
