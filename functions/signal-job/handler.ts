/** POST /jobs/{name}/signals/{signal}: sends a signal, with a JSON payload, to the caller's job. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Defaults, EnvVar, intEnv, requireEnv } from '../../core/config';
import {
  type ApiEvent,
  apiHandler,
  jobNameParam,
  jsonResponse,
  readJsonBody,
} from '../shared/http';
import { ownerOf } from '../shared/identity';
import { appendJobKeys, withLogContext } from '../shared/log';
import { StepStore } from '../shared/step-store';
import { JobStore } from '../shared/store';
import {
  MAX_SIGNAL_PAYLOAD_BYTES,
  parseSignalName,
  SIGNAL_BODY_OVERHEAD_BYTES,
  type SignalJobDeps,
  signalJob,
} from './service';

const dynamodb = new DynamoDBClient({});
const tableName = requireEnv(EnvVar.TableName);

const deps: SignalJobDeps = {
  store: new JobStore(dynamodb, tableName),
  steps: new StepStore(dynamodb, tableName),
  // As start-job's: an Invoke that hangs is cut short; a lost resume is re-driven later.
  lambda: new LambdaClient({
    requestHandler: { requestTimeout: 5000, throwOnRequestTimeout: true },
  }),
  workerFunctionName: requireEnv(EnvVar.WorkerFunctionName),
  retentionSeconds: intEnv(EnvVar.OutcomeRetentionSeconds, Defaults.outcomeRetentionSeconds),
  now: () => new Date(),
};

export const handler = withLogContext(
  'signal-job',
  apiHandler(async (event) => {
    const owner = ownerOf(event);
    const jobName = jobNameParam(event);
    const signal = parseSignalName(event.pathParameters?.signal);
    appendJobKeys({ owner, jobName });
    const payload = readSignalBody(event);
    return jsonResponse(202, await signalJob(owner, jobName, signal, payload, deps));
  }),
);

/** The body is optional: none is the payload `null`. */
function readSignalBody(event: ApiEvent): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return null;
  return readJsonBody(event, MAX_SIGNAL_PAYLOAD_BYTES + SIGNAL_BODY_OVERHEAD_BYTES);
}
