/** DELETE /jobs/{name}: asks the caller's running job of that name to stop. */
import { jobApiHandler } from '../shared/owner-api';
import { cancelJob } from './service';

export const handler = jobApiHandler('cancel-job', 202, cancelJob);
