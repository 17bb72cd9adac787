/** GET /jobs: the caller's jobs, newest first; `?status=`, `?limit=`, `?cursor=`. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EnvVar, requireEnv } from '../../core/config';
import { apiHandler, jsonResponse } from '../shared/http';
import { ownerOf } from '../shared/identity';
import { appendJobKeys, withLogContext } from '../shared/log';
import { JobStore } from '../shared/store';
import { type ListJobsDeps, listJobs, parseListQuery } from './service';

const deps: ListJobsDeps = {
  store: new JobStore(new DynamoDBClient({}), requireEnv(EnvVar.TableName)),
  now: () => new Date(),
};

export const handler = withLogContext(
  'list-jobs',
  apiHandler(async (event) => {
    const owner = ownerOf(event);
    appendJobKeys({ owner });
    const options = parseListQuery(event.queryStringParameters);
    return jsonResponse(200, await listJobs(owner, options, deps));
  }),
);
