/**
 * Part 5 from parts 1 and 2: the event path, the polling path and Step Functions
 * Standard per million jobs. Durations come from the paced sample of part 2,
 * where no function waits for the machine's cores; the same path priced with the
 * timed run's durations (every function sharing two cores) is shown beside it.
 */
import {
  addOps,
  costPerMillion,
  opsPerJob,
  STEP_FUNCTIONS_TRANSITIONS,
  stepFunctionsOps,
} from './cost';
import type { LatencyFigures } from './latency';
import type { Report } from './report';
import type { ThroughputFigures } from './throughput';

export function costSection(
  latency: LatencyFigures,
  throughput: ThroughputFigures,
): NonNullable<Report['cost']> {
  const eventPath = opsPerJob(throughput.paced.usage, throughput.paced.jobs);
  const saturated = opsPerJob(throughput.usage, throughput.jobs);
  // One poll: an API request, a get-job invocation and its reads, from the latency run.
  const getJob = opsPerJob(latency.usage, latency.getJobInvocations);
  const perPoll = {
    ...getJob,
    httpRequests: 1,
    lambda: Object.fromEntries(
      Object.entries(getJob.lambda).filter(([name]) => /get-?job/i.test(name)),
    ),
    dynamodbWriteUnits: 0,
    eventChunks: 0,
    sqsRequests: 0,
    schedulerInvocations: 0,
  };
  const pollingPath = addOps(eventPath, perPoll, latency.polling.apiCallsPerJob);
  const workerName = Object.keys(eventPath.lambda).find((name) => /worker/i.test(name)) ?? '';
  return {
    eventPath: { ops: eventPath, dollarsPerMillion: costPerMillion(eventPath) },
    eventPathSaturated: { ops: saturated, dollarsPerMillion: costPerMillion(saturated) },
    pollingPath: { ops: pollingPath, dollarsPerMillion: costPerMillion(pollingPath) },
    stepFunctionsStandard: {
      ops: stepFunctionsOps(eventPath, workerName),
      transitions: STEP_FUNCTIONS_TRANSITIONS,
      dollarsPerMillion: costPerMillion(
        stepFunctionsOps(eventPath, workerName),
        STEP_FUNCTIONS_TRANSITIONS,
      ),
    },
  };
}
