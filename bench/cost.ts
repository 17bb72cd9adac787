/**
 * Part 5: cost per million jobs on AWS, from the operations the local cloud
 * counted per job in this run and the price table in ../shared/AWS-FACTS.md
 * (us-east-1, first tier). Functions are arm64 (the stack's default).
 */
import type { Counters } from './usage';

export const PRICES = {
  lambdaPerRequest: 0.2 / 1e6,
  /** arm64 (AsyncJobs' default architecture); x86 is $0.0000166667. */
  lambdaPerGbSecond: 0.0000133334,
  httpApiPerRequest: 1 / 1e6,
  eventBridgePerEvent: 1 / 1e6,
  dynamodbPerWriteUnit: 0.625 / 1e6,
  dynamodbPerReadUnit: 0.125 / 1e6,
  sqsPerRequest: 0.4 / 1e6,
  stepFunctionsStandardPerTransition: 25 / 1e6,
  /** EventBridge Scheduler, per invocation (a schedule firing its target); the API calls are not billed. */
  schedulerPerInvocation: 1 / 1e6,
} as const;

/** What one job used, on average. */
export interface OpsPerJob {
  readonly httpRequests: number;
  /** Per function: invocations and milliseconds of handler time per job, and its memory. */
  readonly lambda: Readonly<
    Record<string, { readonly invocations: number; readonly ms: number; readonly memoryMb: number }>
  >;
  readonly dynamodbReadUnits: number;
  /** Table and secondary-index write units. */
  readonly dynamodbWriteUnits: number;
  /** EventBridge events in 64 KB chunks. */
  readonly eventChunks: number;
  readonly sqsRequests: number;
  /** EventBridge Scheduler invocations: one-time schedules fired (a durable sleep's timer). */
  readonly schedulerInvocations: number;
}

export interface CostBreakdown {
  /** Dollars per million jobs. */
  readonly total: number;
  readonly httpApi: number;
  readonly lambdaRequests: number;
  readonly lambdaDuration: number;
  readonly dynamodb: number;
  readonly eventBridge: number;
  readonly sqs: number;
  readonly stepFunctions: number;
  readonly scheduler: number;
}

const MILLION = 1e6;

export function costPerMillion(ops: OpsPerJob, transitions = 0): CostBreakdown {
  let invocations = 0;
  let gbSeconds = 0;
  for (const fn of Object.values(ops.lambda)) {
    invocations += fn.invocations;
    // Lambda bills each invocation's duration rounded up to the millisecond: half a ms on average.
    gbSeconds += ((fn.ms + fn.invocations * 0.5) / 1000) * (fn.memoryMb / 1024);
  }
  const parts = {
    httpApi: ops.httpRequests * PRICES.httpApiPerRequest * MILLION,
    lambdaRequests: invocations * PRICES.lambdaPerRequest * MILLION,
    lambdaDuration: gbSeconds * PRICES.lambdaPerGbSecond * MILLION,
    dynamodb:
      (ops.dynamodbReadUnits * PRICES.dynamodbPerReadUnit +
        ops.dynamodbWriteUnits * PRICES.dynamodbPerWriteUnit) *
      MILLION,
    eventBridge: ops.eventChunks * PRICES.eventBridgePerEvent * MILLION,
    sqs: ops.sqsRequests * PRICES.sqsPerRequest * MILLION,
    stepFunctions: transitions * PRICES.stepFunctionsStandardPerTransition * MILLION,
    scheduler: ops.schedulerInvocations * PRICES.schedulerPerInvocation * MILLION,
  };
  const total = Object.values(parts).reduce((sum, value) => sum + value, 0);
  return { total, ...parts };
}

/**
 * Adds `times` × `extra` to `base` (the polling path: the event path plus its
 * polls); `times` -1 subtracts, and a `base` of NO_OPS scales `extra`.
 */
export function addOps(base: OpsPerJob, extra: OpsPerJob, times: number): OpsPerJob {
  const lambda: Record<string, { invocations: number; ms: number; memoryMb: number }> = {};
  for (const [name, fn] of Object.entries(base.lambda)) lambda[name] = { ...fn };
  for (const [name, fn] of Object.entries(extra.lambda)) {
    const into = lambda[name] ?? { invocations: 0, ms: 0, memoryMb: fn.memoryMb };
    into.invocations += fn.invocations * times;
    into.ms += fn.ms * times;
    lambda[name] = into;
  }
  return {
    httpRequests: base.httpRequests + extra.httpRequests * times,
    lambda,
    dynamodbReadUnits: base.dynamodbReadUnits + extra.dynamodbReadUnits * times,
    dynamodbWriteUnits: base.dynamodbWriteUnits + extra.dynamodbWriteUnits * times,
    eventChunks: base.eventChunks + extra.eventChunks * times,
    sqsRequests: base.sqsRequests + extra.sqsRequests * times,
    schedulerInvocations: base.schedulerInvocations + extra.schedulerInvocations * times,
  };
}

/** Nothing used: the start of a sum. */
export const NO_OPS: OpsPerJob = {
  httpRequests: 0,
  lambda: {},
  dynamodbReadUnits: 0,
  dynamodbWriteUnits: 0,
  eventChunks: 0,
  sqsRequests: 0,
  schedulerInvocations: 0,
};

/**
 * Step Functions Standard doing the same job: the HTTP API starts an execution
 * directly (no start function), the workflow runs the same worker function as
 * a Task and ends. Transitions: the Task, a Choice on its outcome, a DynamoDB
 * task recording the outcome, and the final Succeed/Fail — four. Its history is
 * the job record, so no table writes beyond the outcome, and no events.
 */
export const STEP_FUNCTIONS_TRANSITIONS = 4;

export function stepFunctionsOps(eventPath: OpsPerJob, workerName: string): OpsPerJob {
  const worker = eventPath.lambda[workerName];
  return {
    httpRequests: 1,
    lambda: worker ? { [workerName]: { ...worker } } : {},
    dynamodbReadUnits: 0,
    dynamodbWriteUnits: 1,
    eventChunks: 0,
    sqsRequests: 0,
    schedulerInvocations: 0,
  };
}

/** Reads a usage difference (RunningLocalCloud.usage()) as operations per job. */
export function opsPerJob(usage: Counters, jobs: number): OpsPerJob {
  const num = (value: number | Counters | undefined) => (typeof value === 'number' ? value : 0);
  const group = (value: number | Counters | undefined): Counters =>
    typeof value === 'object' ? value : {};
  let readUnits = 0;
  let writeUnits = 0;
  // Only what functions did: the benchmark's own reads and the local cloud's TTL sweeps are not the jobs'.
  for (const op of Object.values(group(group(usage.dynamodb).functions))) {
    readUnits += num(group(op).readUnits);
    // Table writes and the index writes they caused: on-demand bills both as write units.
    writeUnits += num(group(op).writeUnits) + num(group(op).indexWriteUnits);
  }
  const lambda: Record<string, { invocations: number; ms: number; memoryMb: number }> = {};
  for (const [name, fn] of Object.entries(group(usage.lambda))) {
    const figures = group(fn);
    if (num(figures.invocations) === 0) continue;
    lambda[name] = {
      invocations: num(figures.invocations) / jobs,
      ms: num(figures.durationMs) / jobs,
      memoryMb: num(figures.memoryMb),
    };
  }
  let httpRequests = 0;
  for (const api of Object.values(group(usage.httpApis))) httpRequests += num(group(api).requests);
  const events = group(usage.eventbridge);
  return {
    httpRequests: httpRequests / jobs,
    lambda,
    dynamodbReadUnits: readUnits / jobs,
    dynamodbWriteUnits: writeUnits / jobs,
    // Lambda's destination records are the service's own events, not PutEvents the stack pays for.
    eventChunks: num(events.billedEvents) / jobs,
    sqsRequests: 0,
    // Not in the local cloud's usage(): the bench host counts the schedules that fired (bench/host.ts).
    schedulerInvocations: num(group(usage.scheduler).invocations) / jobs,
  };
}
