/** POST /jobs: starts a named job and answers 202 with where to watch it. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Defaults, EnvVar, intEnv, requireEnv } from '../../core/config';
import { apiHandler, jsonResponse, readJsonBody, statusUrl } from '../shared/http';
import { ownerOf } from '../shared/identity';
import { withLogContext } from '../shared/log';
import { createJobMetrics, withMetrics } from '../shared/metrics';
import { JobStore } from '../shared/store';
import {
  BODY_OVERHEAD_BYTES,
  DEFAULT_MAX_TIMEOUT_SECONDS,
  type StartJobDeps,
  startJob,
} from './service';

const metrics = createJobMetrics();

const deps: StartJobDeps = {
  store: new JobStore(new DynamoDBClient({}), requireEnv(EnvVar.TableName)),
  // One attempt may take 5 s (the SDK sets no limit), so an Invoke that hangs is retried,
  // and a start that cannot reach the worker answers 503 well before API Gateway's 30 s.
  lambda: new LambdaClient({
    requestHandler: { requestTimeout: 5000, throwOnRequestTimeout: true },
  }),
  workerFunctionName: requireEnv(EnvVar.WorkerFunctionName),
  maxInputBytes: intEnv(EnvVar.MaxInputBytes, Defaults.maxInputBytes),
  maxTimeoutSeconds: intEnv(EnvVar.WorkerTimeoutSeconds, DEFAULT_MAX_TIMEOUT_SECONDS),
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
        { jobName: job.jobName, runId: job.runId, status: job.status, statusUrl: location.url },
        { location: location.path },
      );
    }),
  ),
);
