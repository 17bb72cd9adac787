/**
 * Part 2: end-to-end throughput of no-op (`echo`) jobs, from the first POST to
 * the last active record deleted by the completion, with where the time goes
 * stage by stage, and the embedded DynamoDB's own ceiling for the same
 * operations measured in the same run (bench/replay.ts).
 */
import type { BenchClient } from './client';
import type { BenchHost } from './host-client';
import {
  benchJobName,
  type CaptureSummary,
  type CeilingFigures,
  type CpuFigures,
  type JobTimeline,
  type LambdaFigures,
} from './protocol';
import { type Distribution, distribution, pool } from './stats';
import { type Counters, diffCounters } from './usage';

export interface ThroughputOptions {
  readonly jobs: number;
  /** POSTs in flight at once. */
  readonly concurrency: number;
  readonly warmupJobs: number;
  /** Jobs of the paced sample, started `pacedRate` per second after the timed run. */
  readonly pacedJobs: number;
  readonly pacedRate: number;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

/**
 * The same echo jobs started at a steady, modest rate: what each function does
 * per job when it does not wait for the machine's two cores, as a Lambda
 * environment on AWS does not. The cost model takes its durations from here.
 */
export interface PacedSample {
  readonly jobs: number;
  readonly rate: number;
  readonly unfinished: number;
  readonly usage: Counters;
}

export interface ThroughputFigures {
  readonly jobs: number;
  readonly concurrency: number;
  /** Jobs whose record was not deleted in time, or that did not start. */
  readonly unfinished: number;
  readonly startRetries: number;
  /** Lambda's throttled attempts during the timed run, per function (async ones back off 1 s to 5 min). */
  readonly throttles: Readonly<Record<string, number>>;
  /** First POST sent to last active record deleted. */
  readonly seconds: number;
  readonly jobsPerSecond: number;
  /** Milliseconds per job spent in each stage. */
  readonly stages: {
    /** POST sent → 202 received: the API, start-job's write and its async Invoke. */
    readonly accept: Distribution;
    /** 202 → the worker began the run: Lambda's event queue, a thread, the lease write. */
    readonly queue: Distribution;
    /** The work itself (`echo`). */
    readonly run: Distribution;
    /** Work ended → terminal event on the bus: the worker's outcome write and PutEvents. */
    readonly publish: Distribution;
    /** Event on the bus → active record deleted: the rule's delivery and the completion function. */
    readonly complete: Distribution;
    /** POST sent → active record deleted. */
    readonly total: Distribution;
  };
  /**
   * The local cloud's CPU time over the timed run per finished job, in ms: all
   * its threads, and the main thread alone (null where Linux's per-thread
   * counters are missing). The rest is the function threads and V8's helpers.
   */
  readonly cpuMsPerJob: { readonly total: number; readonly mainThread: number | null };
  /** What the jobs used, over the timed run (the local cloud's usage counters). */
  readonly usage: Counters;
  /** DynamoDB requests per job by operation, captured during the warm-up. */
  readonly dynamodbPerJob: CaptureSummary;
  /** DynamoDB requests per job over the timed run, by calling function and operation. */
  readonly dynamodbCallsPerJob: Readonly<Record<string, number>>;
  readonly ceiling: CeilingFigures;
  /** jobsPerSecond as a share of the ceiling's jobs per second. */
  readonly shareOfCeiling: number;
  readonly paced: PacedSample;
}

export interface Started {
  readonly name: string;
  readonly sentAt: number;
  readonly acceptedAt: number;
  readonly runId: string;
}

/** POSTs one job; undefined when it was not accepted (after the client's retries). */
export async function startJob(
  client: BenchClient,
  name: string,
  type: string,
  input: unknown,
): Promise<Started | undefined> {
  const sentAt = Date.now();
  const { status, text } = await client.send({
    method: 'POST',
    path: '/jobs',
    body: { type, name, input },
  });
  const acceptedAt = Date.now();
  if (status !== 202) return undefined;
  const runId = (JSON.parse(text) as { runId?: string }).runId ?? '';
  return { name, sentAt, acceptedAt, runId };
}

function startEcho(client: BenchClient, name: string, n: number): Promise<Started | undefined> {
  return startJob(client, name, 'echo', { value: n });
}

async function runBatch(
  host: BenchHost,
  client: BenchClient,
  names: readonly string[],
  concurrency: number,
  timeoutMs: number,
): Promise<{ started: Started[]; missing: number; timelines: Record<string, JobTimeline> }> {
  const started: Started[] = [];
  await pool(names.length, concurrency, async (n) => {
    const job = await startEcho(client, names[n] as string, n);
    if (job) started.push(job);
  });
  const missing = await host.ask<number>({
    kind: 'waitDeleted',
    names: started.map((job) => job.name),
    timeoutMs,
  });
  const timelines = await host.ask<Record<string, JobTimeline>>({
    kind: 'timelines',
    names: started.map((job) => job.name),
  });
  return { started, missing, timelines };
}

export async function benchThroughput(
  host: BenchHost,
  client: BenchClient,
  options: ThroughputOptions,
): Promise<ThroughputFigures> {
  const tag = Date.now().toString(36);

  // Warm-up: function threads started, then the DynamoDB requests of real jobs captured for the ceiling.
  options.log(`  warm-up: ${options.warmupJobs} echo jobs, then 10 captured one at a time`);
  const warmNames = Array.from({ length: options.warmupJobs }, (_, n) =>
    benchJobName('warm', tag, n),
  );
  const warm: Started[] = [];
  await pool(warmNames.length, options.concurrency, async (n) => {
    const job = await startEcho(client, warmNames[n] as string, n);
    if (job) warm.push(job);
  });
  await host.ask({
    kind: 'waitDeleted',
    names: warm.map((job) => job.name),
    timeoutMs: options.timeoutMs,
  });
  // Captured pass: a few jobs one at a time, so each request is tied to its job and run id.
  const captureNames = Array.from({ length: 10 }, (_, n) => benchJobName('capt', tag, n));
  for (const [n, name] of captureNames.entries()) {
    // The run id is made by start-job; capture by name and learn the id from the 202.
    await host.ask({ kind: 'capture', runIds: { [name]: '' } });
    const job = await startEcho(client, name, n);
    if (!job) continue;
    await host.ask({ kind: 'capture', runIds: { [name]: job.runId } });
    await host.ask({ kind: 'waitDeleted', names: [name], timeoutMs: options.timeoutMs });
  }
  const dynamodbPerJob = await host.ask<CaptureSummary>({ kind: 'endCapture' });

  options.log(`  timed run: ${options.jobs} echo jobs, ${options.concurrency} POSTs in flight`);
  const names = Array.from({ length: options.jobs }, (_, n) => benchJobName('thru', tag, n));
  const retriesBefore = client.counts.retries;
  const usageBefore = await host.ask<Counters>({ kind: 'usage' });
  const lambdaBefore = await host.ask<LambdaFigures>({ kind: 'lambda' });
  const cpuBefore = await host.ask<CpuFigures>({ kind: 'cpu' });
  const callsBefore = await host.ask<Record<string, number>>({ kind: 'calls' });
  const runStart = Date.now();
  const { started, missing, timelines } = await runBatch(
    host,
    client,
    names,
    options.concurrency,
    options.timeoutMs,
  );
  const cpuAfter = await host.ask<CpuFigures>({ kind: 'cpu' });
  const usageAfter = await host.ask<Counters>({ kind: 'usage' });
  const lambdaAfter = await host.ask<LambdaFigures>({ kind: 'lambda' });
  const throttles: Record<string, number> = {};
  for (const [name, count] of Object.entries(lambdaAfter.throttles)) {
    const added = count - (lambdaBefore.throttles[name] ?? 0);
    if (added > 0) throttles[name] = added;
  }
  const callsAfter = await host.ask<Record<string, number>>({ kind: 'calls' });
  const dynamodbCallsPerJob: Record<string, number> = {};
  for (const [key, after] of Object.entries(callsAfter)) {
    const count = after - (callsBefore[key] ?? 0);
    if (count > 0) dynamodbCallsPerJob[key] = count / Math.max(1, started.length);
  }
  const deleted = started
    .map((job) => timelines[job.name]?.deletedAt)
    .filter((at): at is number => at !== undefined);
  const runEnd = Math.max(...deleted, runStart);
  const seconds = (runEnd - runStart) / 1000;
  const finished = deleted.length;
  const perJobMs = (micros: number) => micros / 1000 / Math.max(1, finished);
  const cpuMsPerJob = {
    total: perJobMs(cpuAfter.processMicros - cpuBefore.processMicros),
    mainThread:
      cpuAfter.mainThreadMicros === null || cpuBefore.mainThreadMicros === null
        ? null
        : perJobMs(cpuAfter.mainThreadMicros - cpuBefore.mainThreadMicros),
  };
  await host.ask({ kind: 'forget', names: [...names, ...warmNames, ...captureNames] });

  const stage = (pick: (job: Started, timeline: JobTimeline) => number | undefined) =>
    distribution(
      started
        .map((job) => {
          const timeline = timelines[job.name];
          return timeline ? pick(job, timeline) : undefined;
        })
        .filter((value): value is number => value !== undefined && Number.isFinite(value)),
    );
  const stages = {
    accept: stage((job) => job.acceptedAt - job.sentAt),
    queue: stage((job, t) =>
      t.startedAt === undefined ? undefined : t.startedAt - job.acceptedAt,
    ),
    run: stage((_, t) =>
      t.startedAt === undefined || t.finishedAt === undefined
        ? undefined
        : t.finishedAt - t.startedAt,
    ),
    publish: stage((_, t) =>
      t.finishedAt === undefined || t.terminalObservedAt === undefined
        ? undefined
        : t.terminalObservedAt - t.finishedAt,
    ),
    complete: stage((_, t) =>
      t.terminalObservedAt === undefined || t.deletedAt === undefined
        ? undefined
        : t.deletedAt - t.terminalObservedAt,
    ),
    total: stage((job, t) => (t.deletedAt === undefined ? undefined : t.deletedAt - job.sentAt)),
  };

  options.log(
    `  ${finished} of ${options.jobs} done in ${seconds.toFixed(1)} s; measuring the DynamoDB ceiling`,
  );
  const ceiling = await host.ask<CeilingFigures>({
    kind: 'ceiling',
    jobs: options.jobs,
    concurrency: options.concurrency,
  });
  const jobsPerSecond = seconds > 0 ? finished / seconds : 0;

  options.log(`  paced sample: ${options.pacedJobs} echo jobs, ${options.pacedRate} per second`);
  const pacedNames = Array.from({ length: options.pacedJobs }, (_, n) =>
    benchJobName('paced', tag, n),
  );
  const pacedBefore = await host.ask<Counters>({ kind: 'usage' });
  const pacedStarted: Started[] = [];
  const pacedStart = Date.now();
  await Promise.all(
    pacedNames.map(async (name, n) => {
      const wait = pacedStart + (n * 1000) / options.pacedRate - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const job = await startEcho(client, name, n);
      if (job) pacedStarted.push(job);
    }),
  );
  const pacedMissing = await host.ask<number>({
    kind: 'waitDeleted',
    names: pacedStarted.map((job) => job.name),
    timeoutMs: options.timeoutMs,
  });
  const pacedAfter = await host.ask<Counters>({ kind: 'usage' });
  await host.ask({ kind: 'forget', names: pacedNames });
  const paced: PacedSample = {
    jobs: pacedStarted.length,
    rate: options.pacedRate,
    unfinished: options.pacedJobs - pacedStarted.length + pacedMissing,
    usage: diffCounters(pacedBefore, pacedAfter),
  };

  return {
    jobs: options.jobs,
    concurrency: options.concurrency,
    unfinished: Math.max(options.jobs - finished, missing),
    startRetries: client.counts.retries - retriesBefore,
    throttles,
    seconds,
    jobsPerSecond,
    stages,
    cpuMsPerJob,
    usage: diffCounters(usageBefore, usageAfter),
    dynamodbPerJob,
    dynamodbCallsPerJob,
    ceiling,
    shareOfCeiling: ceiling.jobsPerSecond > 0 ? jobsPerSecond / ceiling.jobsPerSecond : 0,
    paced,
  };
}
