/** `eventjobs/cdk`: the `AsyncJobs` construct and its props. */

export type { EventPath, InputMapping, OverlapPolicy, StartedBy } from '../core/triggers';
export {
  AsyncJobs,
  type AsyncJobsJobTypes,
  type AsyncJobsProps,
  type AsyncJobsThrottling,
  eventPath,
  type OnOutcomeOptions,
  type ScheduleOptions,
  type StartOnOptions,
  type StartOnPattern,
} from '../infra/async-jobs';
