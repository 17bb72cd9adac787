/** DELETE /jobs/{name}: asks the caller's running job of that name to stop. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EnvVar, requireEnv } from '../../core/config';
import { apiHandler, jobNameParam, jsonResponse } from '../shared/http';
import { ownerOf } from '../shared/identity';
import { appendJobKeys, withLogContext } from '../shared/log';
import { JobStore } from '../shared/store';
import { type CancelJobDeps, cancelJob } from './service';

const deps: CancelJobDeps = {
  store: new JobStore(new DynamoDBClient({}), requireEnv(EnvVar.TableName)),
  now: () => new Date(),
};

export const handler = withLogContext(
  'cancel-job',
  apiHandler(async (event) => {
    const owner = ownerOf(event);
    const jobName = jobNameParam(event);
    appendJobKeys({ owner, jobName });
    return jsonResponse(202, await cancelJob(owner, jobName, deps));
  }),
);
