/** GET /jobs: the caller's jobs, newest first; `?status=`, `?limit=`, `?cursor=`. */
import { jsonResponse } from '../shared/http';
import { appendJobKeys } from '../shared/log';
import { ownerApiHandler } from '../shared/owner-api';
import { listJobs, parseListQuery } from './service';

export const handler = ownerApiHandler('list-jobs', async (owner, event, deps) => {
  appendJobKeys({ owner });
  const options = parseListQuery(event.queryStringParameters);
  return jsonResponse(200, await listJobs(owner, options, deps));
});
