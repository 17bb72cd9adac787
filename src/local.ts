/**
 * `eventjobs/local`: the local cloud, started from code, for an app's own
 * end-to-end tests: `await startLocalCloud({ assembly: 'cdk.out' })` answers
 * the API's URL, local credentials and `stop()`.
 */
export {
  type LocalCloudOptions,
  type LocalCloudUsage,
  type RunningLocalCloud,
  startLocalCloud,
} from '../local/cloud';
