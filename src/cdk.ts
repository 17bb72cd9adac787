/** `eventjobs/cdk`: the `AsyncJobs` construct and its props. */
export {
  AsyncJobs,
  type AsyncJobsJobTypes,
  type AsyncJobsProps,
  type AsyncJobsThrottling,
  type OnOutcomeOptions,
} from '../infra/async-jobs';
