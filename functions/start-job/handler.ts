/** POST /jobs: starts a named job and answers 202 with where to watch it. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Defaults, EnvVar, intEnv, requireEnv } from '../../core/config';
import { jobEventPutter } from '../shared/bus';
import { apiHandler, jsonResponse, readJsonBody, statusUrl } from '../shared/http';
import { ownerOf } from '../shared/identity';
import { slotStoreFromEnv } from '../shared/limits-env';
import { withLogContext } from '../shared/log';
import { createJobMetrics, withMetrics } from '../shared/metrics';
import { JobStore } from '../shared/store';
import { BODY_OVERHEAD_BYTES, type StartJobDeps, startJob } from './service';

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

export const handler = withLogContext(
  'start-job',
  withMetrics(
    metrics,
    apiHandler(async (event) => {
      const owner = ownerOf(event);
      const body = readJsonBody(event, deps.maxInputBytes + BODY_OVERHEAD_BYTES);
      const job = await startJob(owner, body, deps);
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
    }),
  ),
);
