/** GET /jobs/{name}: the caller's job of that name, running or finished. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EnvVar, requireEnv } from '../../core/config';
import { apiHandler, jobNameParam, jsonResponse } from '../shared/http';
import { ownerOf } from '../shared/identity';
import { appendJobKeys, withLogContext } from '../shared/log';
import { JobStore } from '../shared/store';
import { type GetJobDeps, getJob } from './service';

const deps: GetJobDeps = {
  store: new JobStore(new DynamoDBClient({}), requireEnv(EnvVar.TableName)),
  now: () => new Date(),
};

export const handler = withLogContext(
  'get-job',
  apiHandler(async (event) => {
    const owner = ownerOf(event);
    const jobName = jobNameParam(event);
    appendJobKeys({ owner, jobName });
    return jsonResponse(200, await getJob(owner, jobName, deps));
  }),
);
