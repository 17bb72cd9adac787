/** POST /jobs: starts a named job and answers 202 with where to watch it. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Defaults, EnvVar, intEnv, requireEnv } from '../shared/config';
import { apiHandler, jsonResponse, readJsonBody, statusUrl } from '../shared/http';
import { ownerOf } from '../shared/identity';
import { createLambdaInvoker } from '../shared/lambda-invoke';
import { JobStore } from '../shared/store';
import {
  BODY_OVERHEAD_BYTES,
  DEFAULT_MAX_TIMEOUT_SECONDS,
  type StartJobDeps,
  startJob,
} from './service';

const deps: StartJobDeps = {
  store: new JobStore(new DynamoDBClient({}), requireEnv(EnvVar.TableName)),
  lambda: createLambdaInvoker({ region: requireEnv('AWS_REGION') }),
  workerFunctionName: requireEnv(EnvVar.WorkerFunctionName),
  maxInputBytes: intEnv(EnvVar.MaxInputBytes, Defaults.maxInputBytes),
  maxTimeoutSeconds: intEnv(EnvVar.WorkerTimeoutSeconds, DEFAULT_MAX_TIMEOUT_SECONDS),
  allowHttpLocalhost: process.env[EnvVar.LocalCloud] === 'true',
  now: () => new Date(),
};

export const handler = apiHandler(async (event) => {
  const owner = ownerOf(event);
  const body = readJsonBody(event, deps.maxInputBytes + BODY_OVERHEAD_BYTES);
  const job = await startJob(owner, body, deps);
  const location = statusUrl(event, job.jobName);
  return jsonResponse(
    job.created ? 202 : 200,
    { jobName: job.jobName, runId: job.runId, status: job.status, statusUrl: location.url },
    { location: location.path },
  );
});
