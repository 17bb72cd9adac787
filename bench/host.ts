/**
 * The benchmark's local cloud, in a child process of its own: the client load
 * and the cloud do not share one event loop, and the cloud's resident set is
 * the child's alone. The parent drives it over the IPC channel (bench/host-client.ts).
 *
 * Instrumentation, all outside the cloud's own code paths:
 * - an observer on the bus notes when each bench job's lifecycle events were put;
 * - a wrapper around the DynamoDB service notes when each job's active record
 *   was deleted (the completion's TransactWriteItems with a Delete), counts
 *   calls per calling function, and can capture request bodies to replay;
 * - a wrapper around the Scheduler's create and delete counts the one-time
 *   schedules made and fired (durable sleeps' timers), which the local cloud's
 *   `usage()` does not count: the host adds them to each usage snapshot.
 */
import { readFileSync } from 'node:fs';
import type { AwsRequest, AwsResponse } from '../local/contracts';
import { type RunningLocalCloud, startLocalCloud } from '../src/local';
import type {
  CpuFigures,
  HostInfo,
  HostRequest,
  JobTimeline,
  LambdaFigures,
  MemoryFigures,
} from './protocol';
import { BENCH_NAME_PATTERN } from './protocol';
import { type CapturedJob, replayCeiling, summarizeCapture } from './replay';

interface Options {
  readonly assemblyDir: string;
  /** Lambda's concurrent executions across all functions. @default the local cloud's (1,000, as AWS's) */
  readonly accountConcurrency?: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;

const timelines = new Map<string, MutableTimeline>();
const callsByCaller = new Map<string, number>();
let capture: Map<string, CapturedJob> | undefined;
let captured: CapturedJob[] = [];
/** Scheduler: API calls by operation, schedules created, and created ones deleted by the API before they fired. */
const schedulerCalls: Record<string, number> = {};
let schedulesCreated = 0;
let schedulesDeletedUnfired = 0;

interface MutableTimeline {
  startedObservedAt?: number;
  terminalObservedAt?: number;
  terminalType?: string;
  startedAt?: number;
  finishedAt?: number;
  deletedAt?: number;
}

function timelineOf(name: string): MutableTimeline {
  let timeline = timelines.get(name);
  if (!timeline) {
    timeline = {};
    timelines.set(name, timeline);
  }
  return timeline;
}

/** The function name in a role session ARN (`assumed-role/Role/fn`), or the ARN. */
function callerName(request: AwsRequest): string {
  const arn = request.caller?.arn ?? 'anonymous';
  return arn.split('/').at(-1) ?? arn;
}

/** Instruments the cloud; answers the DynamoDB service's own entry point, uninstrumented. */
function instrument(cloud: RunningLocalCloud): (request: AwsRequest) => Promise<AwsResponse> {
  cloud.services.events.observe((_bus, event) => {
    const detail = (event.detail ?? {}) as Record<string, unknown>;
    const name = typeof detail.jobName === 'string' ? detail.jobName : undefined;
    if (!name || !BENCH_NAME_PATTERN.test(name)) return;
    const timeline = timelineOf(name);
    const now = Date.now();
    const type = event['detail-type'];
    if (type === 'Job Started') {
      timeline.startedObservedAt ??= now;
      if (typeof detail.startedAt === 'string') timeline.startedAt = Date.parse(detail.startedAt);
    } else if (type !== 'Job Progress' && timeline.terminalObservedAt === undefined) {
      timeline.terminalObservedAt = now;
      timeline.terminalType = type;
      if (typeof detail.finishedAt === 'string')
        timeline.finishedAt = Date.parse(detail.finishedAt);
      if (typeof detail.startedAt === 'string') timeline.startedAt = Date.parse(detail.startedAt);
    }
  });

  const dynamodb = cloud.services.dynamodb;
  const handle = dynamodb.handle.bind(dynamodb);
  dynamodb.handle = async (request: AwsRequest): Promise<AwsResponse> => {
    const response = await handle(request);
    const caller = callerName(request);
    const operation =
      request.operation ?? request.headers['x-amz-target']?.split('.').at(-1) ?? '?';
    const key = `${caller} ${operation}`;
    callsByCaller.set(key, (callsByCaller.get(key) ?? 0) + 1);
    if (response.status === 200) {
      const text = request.body.toString('utf8');
      const names = text.match(new RegExp(BENCH_NAME_PATTERN.source, 'g')) ?? [];
      if (operation === 'TransactWriteItems' && text.includes('"Delete"')) {
        const now = Date.now();
        for (const name of names) timelineOf(name).deletedAt ??= now;
      }
      const job = capture && names.map((name) => capture?.get(name)).find(Boolean);
      if (job)
        job.requests.push({ operation, target: request.headers['x-amz-target'] ?? '', body: text });
    }
    return response;
  };
  instrumentScheduler(cloud);
  return handle;
}

/** Counts CreateSchedule and DeleteSchedule as the Scheduler's API serves them. */
function instrumentScheduler(cloud: RunningLocalCloud): void {
  const scheduler = cloud.services.scheduler;
  const create = scheduler.create.bind(scheduler);
  const remove = scheduler.delete.bind(scheduler);
  const count = (operation: string) => {
    schedulerCalls[operation] = (schedulerCalls[operation] ?? 0) + 1;
  };
  scheduler.create = (definition) => {
    count('CreateSchedule');
    const existing = scheduler.list({ groupName: definition.groupName }).length;
    const created = create(definition);
    // A retried request with the same client token answers the first schedule and makes none.
    if (scheduler.list({ groupName: definition.groupName }).length > existing)
      schedulesCreated += 1;
    return created;
  };
  scheduler.delete = (name, groupName = 'default') => {
    count('DeleteSchedule');
    const unfired = scheduler
      .list({ groupName, namePrefix: name })
      .some((schedule) => schedule.name === name && schedule.completedAt === undefined);
    remove(name, groupName);
    if (unfired) schedulesDeletedUnfired += 1;
  };
}

/**
 * Scheduler's usage so far, as counters: API calls, and invocations, the
 * one-time schedules that fired (created, less those deleted unfired and
 * those still waiting; a fired schedule is deleted or marked completed).
 */
function schedulerUsage(): Record<string, number | Record<string, number>> {
  const waiting = cloud.services.scheduler
    .list()
    .filter((schedule) => schedule.completedAt === undefined).length;
  return {
    calls: { ...schedulerCalls },
    schedulesCreated,
    invocations: schedulesCreated - schedulesDeletedUnfired - waiting,
  };
}

/** The resident set of this process, threads included, from /proc (Linux) or Node. */
function residentBytes(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    if (match) return Number(match[1]) * 1024;
  } catch {
    // Not Linux: Node's figure is the same measure.
  }
  return process.memoryUsage.rss();
}

/**
 * The process's CPU time, and the main thread's share of it from Linux's
 * per-thread counters (`/proc/self/task/<pid>/stat` against `/proc/self/stat`,
 * both in clock ticks), since Node 20 has no per-thread CPU clock.
 */
function cpu(): CpuFigures {
  const usage = process.cpuUsage();
  const processMicros = usage.user + usage.system;
  try {
    const main = cpuTicks(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8'));
    const all = cpuTicks(readFileSync('/proc/self/stat', 'utf8'));
    return { processMicros, mainThreadMicros: all > 0 ? (processMicros * main) / all : 0 };
  } catch {
    return { processMicros, mainThreadMicros: null };
  }
}

/** utime + stime of a `stat` line: fields 14 and 15, counted after the parenthesised name. */
function cpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Per-function figures keyed by the function's short name (`StartJob6FB19366`). */
function shortNames(byFunction: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(byFunction).map(([name, count]) => [name.replace(/^.*-AsyncJobs/, ''), count]),
  );
}

function lambdaFigures(): LambdaFigures {
  const stats = cloud.services.lambda.stats();
  return {
    workerThreads: stats.workers,
    coldStarts: shortNames(stats.coldStarts),
    throttles: shortNames(stats.throttles),
    queued: stats.queued,
    inFlight: stats.inFlight,
  };
}

function memory(): MemoryFigures {
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  collect?.();
  const usage = process.memoryUsage();
  return {
    rssBytes: residentBytes(),
    heapUsedBytes: usage.heapUsed,
    externalBytes: usage.external,
    ...lambdaFigures(),
  };
}

async function waitDeleted(names: readonly string[], timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = names.filter((name) => timelines.get(name)?.deletedAt === undefined);
    if (missing.length === 0) return 0;
    if (Date.now() > deadline) return missing.length;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function answer(request: HostRequest): Promise<unknown> {
  switch (request.kind) {
    case 'info': {
      const user = cloud.users[0];
      if (!user) throw new Error('the local cloud has no identity to sign with');
      const info: HostInfo = {
        apiUrl: cloud.apiUrl,
        region: cloud.region,
        accessKeyId: user.accessKeyId,
        secretAccessKey: user.secretAccessKey,
        webhookSecret: Object.values(cloud.services.secretsManager.values())[0],
        startupMs: cloud.startupMs,
        pid: process.pid,
      };
      return info;
    }
    case 'usage':
      return { ...cloud.usage(), scheduler: schedulerUsage() };
    case 'calls':
      return Object.fromEntries(callsByCaller);
    case 'memory':
      return memory();
    case 'lambda':
      return lambdaFigures();
    case 'cpu':
      return cpu();
    case 'timelines': {
      const out: Record<string, JobTimeline> = {};
      for (const name of request.names) out[name] = { ...timelines.get(name) };
      return out;
    }
    case 'waitDeleted':
      return waitDeleted(request.names, request.timeoutMs);
    case 'capture': {
      // Merges: a job is named before its first request, and its run id is learnt from the 202.
      const jobs = capture ?? new Map<string, CapturedJob>();
      for (const [jobName, runId] of Object.entries(request.runIds)) {
        const known = jobs.get(jobName);
        jobs.set(jobName, { jobName, runId, requests: known?.requests ?? [] });
      }
      capture = jobs;
      return null;
    }
    case 'endCapture':
      captured = [...(capture?.values() ?? [])].filter((job) => job.requests.length > 0);
      capture = undefined;
      return summarizeCapture(captured);
    case 'ceiling':
      return replayCeiling(rawDynamoDb, captured, request);
    case 'forget':
      for (const name of request.names) timelines.delete(name);
      return null;
    case 'stop':
      return cloud.stop();
  }
}

const cloud = await startLocalCloud({
  assemblyDir: options.assemblyDir,
  apiPort: 0,
  awsPort: 0,
  quiet: true,
  ...(options.accountConcurrency ? { accountConcurrency: options.accountConcurrency } : {}),
  // For looking into a run: one log file per function.
  ...(process.env.BENCH_LOGS_DIR ? { logsDir: process.env.BENCH_LOGS_DIR } : {}),
});
const rawDynamoDb = instrument(cloud);

process.on('message', (message: { id: number; request: HostRequest }) => {
  answer(message.request).then(
    (result) => process.send?.({ id: message.id, result }),
    (error: unknown) =>
      process.send?.({
        id: message.id,
        error: error instanceof Error ? error.stack : String(error),
      }),
  );
});
process.on('disconnect', () => {
  void cloud.stop().finally(() => process.exit(0));
});
process.send?.({ ready: true });
