/** GET /jobs/{name}: the caller's job of that name, running or finished. */
import { jobApiHandler } from '../shared/owner-api';
import { getJob } from './service';

export const handler = jobApiHandler('get-job', 200, getJob);
