/** The benchmark's printed table: every figure next to its target (issue 6). */
import { BATCH_CLI_MAX_ATTEMPTS, type BatchBenchFigures } from './batch';
import type { BundleFigures } from './bundles';
import type { CostBreakdown, OpsPerJob } from './cost';
import type { LatencyFigures, ObserverFigures } from './latency';
import type { MemoryFigures3 } from './memory';
import type { Distribution } from './stats';
import type { MarginalFigures, StepsFigures } from './steps';
import type { ThroughputFigures } from './throughput';

export const TARGETS = {
  eventP50Ms: 20,
  eventP99Ms: 100,
  jobsPerSecond: 150,
  shareOfCeiling: 0.7,
  bytesPerJob: 20 * 1024,
  // Issue 17's targets (infra/bundling.ts).
  bundleBytes: 500 * 1024,
  initMs: 150,
  dollarsPerMillion: 6,
} as const;

export interface Report {
  readonly machine: {
    readonly node: string;
    readonly platform: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
  };
  readonly seconds: number;
  readonly latency?: LatencyFigures;
  readonly throughput?: ThroughputFigures;
  readonly memory?: MemoryFigures3;
  readonly bundles?: { readonly target: object; readonly functions: readonly BundleFigures[] };
  readonly cost?: {
    readonly eventPath: { readonly ops: OpsPerJob; readonly dollarsPerMillion: CostBreakdown };
    readonly eventPathSaturated: {
      readonly ops: OpsPerJob;
      readonly dollarsPerMillion: CostBreakdown;
    };
    readonly pollingPath: { readonly ops: OpsPerJob; readonly dollarsPerMillion: CostBreakdown };
    readonly stepFunctionsStandard: {
      readonly ops: OpsPerJob;
      readonly transitions: number;
      readonly dollarsPerMillion: CostBreakdown;
    };
  };
  readonly steps?: StepsFigures;
  readonly batch?: BatchBenchFigures;
}

const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)}` : '-');
const pct = (d: Distribution) => `${ms(d.p50)} / ${ms(d.p95)} / ${ms(d.p99)}`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const dollars = (value: number) => `$${value.toFixed(2)}`;
const n2 = (value: number) => value.toFixed(2);
const ms1 = (value: number) => `${value.toFixed(1)} ms`;

function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Where the timed run's CPU went, per job: the main thread against everything else. */
function cpuRow(cpu: ThroughputFigures['cpuMsPerJob']): string[] {
  const split =
    cpu.mainThread === null
      ? 'no per-thread counters here'
      : `main thread ${ms(cpu.mainThread)} ms (API, bus, Lambda service, DynamoDB), function threads and V8's helpers ${ms(cpu.total - cpu.mainThread)} ms`;
  return ['CPU per job', `${ms(cpu.total)} ms of the local cloud's CPU: ${split}`, ''];
}

export function formatReport(report: Report): string {
  const out: string[] = [];
  const { latency, throughput, memory, bundles, cost, steps, batch } = report;
  if (latency) out.push(...latencyLines(latency));
  if (throughput) out.push(...throughputLines(throughput));
  if (memory) out.push(...memoryLines(memory));
  if (bundles) out.push(...bundleLines(bundles));
  if (cost) out.push(...costLines(cost, throughput?.paced));
  if (steps) out.push(...stepsLines(steps));
  if (batch) out.push(...batchLines(batch));
  out.push(`Took ${report.seconds.toFixed(0)} s.`);
  return out.join('\n');
}

/** Part 1: each observer's latency from the work's end, and what it cost in calls and reads. */
function latencyLines(latency: LatencyFigures): string[] {
  const eventOk = (d: Distribution) => d.p50 <= TARGETS.eventP50Ms && d.p99 <= TARGETS.eventP99Ms;
  const eventTarget = (observer: ObserverFigures) =>
    `p50 <= 20, p99 <= 100: ${met(eventOk(observer.latencyMs))}`;
  const reads = latency.dynamodbReadsPerJob;
  return [
    `1. Event-driven against polling: ${latency.jobs} sleep jobs of 1-3 s, ${latency.rate}/s; latency from the work's end`,
    table([
      ['observer', 'p50 / p95 / p99 ms', 'missed', 'API calls/job', 'DynamoDB reads/job', 'target'],
      observerRow('stream (SSE)', latency.stream, reads.eventPath, eventTarget(latency.stream)),
      observerRow('webhook', latency.webhook, reads.eventPath, eventTarget(latency.webhook)),
      observerRow(
        `polling every ${latency.polling.pollIntervalMs / 1000} s`,
        latency.polling,
        reads.eventPath + reads.polling,
        '(the approach replaced)',
      ),
    ]),
    '',
  ];
}

/** One observer's row of the latency table. */
function observerRow(
  label: string,
  observer: ObserverFigures,
  readsPerJob: number,
  target: string,
): string[] {
  return [
    label,
    pct(observer.latencyMs),
    String(observer.missed),
    n2(observer.apiCallsPerJob),
    n2(readsPerJob),
    target,
  ];
}

/** Part 2: jobs per second against the DynamoDB ceiling, and where a job's time goes. */
function throughputLines(throughput: ThroughputFigures): string[] {
  const s = throughput.stages;
  const ok =
    throughput.jobsPerSecond >= TARGETS.jobsPerSecond ||
    throughput.shareOfCeiling >= TARGETS.shareOfCeiling;
  return [
    `2. Throughput: ${throughput.jobs} echo jobs, ${throughput.concurrency} POSTs in flight, first POST to last record deleted`,
    table([
      ['figure', 'value', 'target'],
      [
        'jobs per second',
        `${throughput.jobsPerSecond.toFixed(1)} (${throughput.seconds.toFixed(1)} s, ${throughput.unfinished} unfinished, ${throughput.startRetries} retried POSTs, ${Object.values(throughput.throttles ?? {}).reduce((sum, n) => sum + n, 0)} Lambda throttles)`,
        `>= 150 or >= 70% of ceiling: ${met(ok)}`,
      ],
      [
        'DynamoDB ceiling',
        `${throughput.ceiling.jobsPerSecond.toFixed(1)} jobs/s (${throughput.ceiling.requestsPerSecond.toFixed(0)} requests/s; ${Object.entries(
          throughput.dynamodbPerJob.perJob,
        )
          .map(([op, count]) => `${n2(count)} ${op}`)
          .join(', ')} per job)`,
        `share ${(throughput.shareOfCeiling * 100).toFixed(0)}%`,
      ],
      cpuRow(throughput.cpuMsPerJob),
    ]),
    table([
      ['stage (ms per job)', 'p50 / p95 / p99', 'mean'],
      ['accept: POST to 202', pct(s.accept), ms(s.accept.mean)],
      ['queue: 202 to run start', pct(s.queue), ms(s.queue.mean)],
      ['run: the work', pct(s.run), ms(s.run.mean)],
      ['publish: work end to event', pct(s.publish), ms(s.publish.mean)],
      ['complete: event to record deleted', pct(s.complete), ms(s.complete.mean)],
      ['total: POST to record deleted', pct(s.total), ms(s.total.mean)],
    ]),
    '',
  ];
}

/** Part 3: the local cloud's memory per in-flight job, and the client's. */
function memoryLines(memory: MemoryFigures3): string[] {
  const last = memory.samples.at(-1);
  const first = memory.samples[0];
  return [
    `3. Memory: ${memory.jobs} sleep jobs in flight (${last?.host.inFlight ?? 0} running, ${last?.host.queued ?? 0} in Lambda's queue, the rest QUEUED by eventjobs)`,
    table([
      ['figure', 'value', 'target'],
      ['local cloud, idle (warm)', mib(memory.idle.rssBytes), ''],
      [
        `local cloud, ${memory.baseStarted ?? memory.base.queued + memory.base.inFlight} in flight, settled`,
        mib(memory.base.rssBytes),
        '',
      ],
      [`local cloud, ${memory.jobs} in flight, settled`, mib(last?.host.rssBytes ?? 0), ''],
      [
        'per in-flight job',
        `${kib(memory.bytesPerJob)} between the two settled figures (${kib(memory.fromIdleBytesPerJob)} from idle, with the environments the load started)`,
        `<= 20 KB: ${met(memory.bytesPerJob <= TARGETS.bytesPerJob)}`,
      ],
      ['  of which the main heap', kib(memory.heapBytesPerJob), ''],
      [
        'client heap while starting',
        `${mib(first?.clientHeapUsedBytes ?? 0)} at ${first?.started ?? 0} jobs, ${mib(last?.clientHeapUsedBytes ?? 0)} at ${last?.started ?? 0} (${memory.clientHeapBytesPerJob.toFixed(1)} B/job)`,
        'flat',
      ],
    ]),
    '',
  ];
}

/** Part 4: each function's bundle against a naive build. */
function bundleLines(bundles: NonNullable<Report['bundles']>): string[] {
  return [
    '4. Function bundles: size and median of 10 fresh-process imports, against a naive build (CJS, not minified, SDK from node_modules)',
    table([
      ['function', 'bundle', 'init ms', 'naive', 'naive init ms', 'target <= 500 KB, <= 150 ms'],
      ...bundles.functions.map((f) => [
        f.name,
        kib(f.shippedBytes),
        f.shippedInitMs.toFixed(1),
        kib(f.naiveBytes),
        f.naiveInitMs.toFixed(1),
        met(f.shippedBytes <= TARGETS.bundleBytes && f.shippedInitMs <= TARGETS.initMs),
      ]),
    ]),
    '',
  ];
}

/** Part 5: dollars per million jobs, by path. */
function costLines(
  cost: NonNullable<Report['cost']>,
  paced: ThroughputFigures['paced'] | undefined,
): string[] {
  const row = (name: string, c: CostBreakdown, target: string) => [
    name,
    dollars(c.total),
    dollars(c.httpApi),
    dollars(c.lambdaRequests + c.lambdaDuration),
    dollars(c.dynamodb),
    dollars(c.eventBridge),
    dollars(c.stepFunctions),
    target,
  ];
  return [
    '5. Cost per million jobs on AWS (us-east-1 prices from AWS-FACTS.md, arm64, counted per job in this run;',
    `   durations from part 2's paced sample of ${paced?.jobs ?? 0} jobs at ${paced?.rate ?? 0}/s)`,
    table([
      [
        'path',
        'total',
        'HTTP API',
        'Lambda',
        'DynamoDB',
        'EventBridge',
        'Step Functions',
        'target',
      ],
      row(
        'event path',
        cost.eventPath.dollarsPerMillion,
        `<= $6: ${met(cost.eventPath.dollarsPerMillion.total <= TARGETS.dollarsPerMillion)}`,
      ),
      row(
        'event path, timed-run durations',
        cost.eventPathSaturated.dollarsPerMillion,
        '(2 cores shared)',
      ),
      row('polling every 1 s', cost.pollingPath.dollarsPerMillion, ''),
      row(
        `Step Functions Standard (${cost.stepFunctionsStandard.transitions} transitions)`,
        cost.stepFunctionsStandard.dollarsPerMillion,
        'reference',
      ),
    ]),
    '',
  ];
}

/** A function's short name: `EventJobs-AsyncJobsWorkerCD585522` is `Worker`. */
const shortName = (name: string) => name.replace(/^.*-AsyncJobs/, '').replace(/[0-9A-F]{8}$/, '');

/** Part 6: what a step, a sleep and a checkpointed run add, with DynamoDB by operation. */
function stepsLines(steps: StepsFigures): string[] {
  const noise = (value: number) => Math.abs(value) < 0.005;
  const row = (name: string, m: MarginalFigures) => {
    const lambda = Object.entries(m.ops.lambda).filter(
      ([, fn]) => !noise(fn.invocations) || Math.abs(fn.ms) >= 0.05,
    );
    const invocations = lambda.reduce((sum, [, fn]) => sum + fn.invocations, 0);
    const c = m.dollarsPerMillion;
    return [
      name,
      n2(m.ops.dynamodbWriteUnits),
      n2(m.ops.dynamodbReadUnits),
      n2(invocations),
      lambda
        .map(([fn, figures]) => `${shortName(fn)} ${n2(figures.invocations)} / ${ms1(figures.ms)}`)
        .join(', ') || '-',
      n2(m.ops.eventChunks),
      n2(m.ops.schedulerInvocations),
      `${dollars(c.total)} (DynamoDB ${dollars(c.dynamodb)}, Lambda ${dollars(c.lambdaRequests + c.lambdaDuration)}, events ${dollars(c.eventBridge)}, Scheduler ${dollars(c.scheduler)})`,
    ];
  };
  const byOperation = (name: string, m: MarginalFigures) =>
    `   ${name}: ${
      Object.entries(m.dynamodbByOperation)
        .filter(([, op]) => !noise(op.calls) || !noise(op.writeUnits) || !noise(op.readUnits))
        .map(
          ([op, f]) =>
            `${op} ${n2(f.calls)} calls, ${n2(f.writeUnits)} write / ${n2(f.readUnits)} read units`,
        )
        .join('; ') || 'none'
    }`;
  const byFunction = (name: string, m: MarginalFigures) =>
    `   ${name}: ${
      Object.entries(m.callsByFunction)
        .map(([key, calls]) => {
          const [fn = '', operation = ''] = key.split(' ');
          return `${shortName(fn)} ${operation} ${n2(calls)}`;
        })
        .join(', ') || 'none'
    }`;
  const batches = Object.values(steps.batches);
  const unfinished = batches.reduce((sum, batch) => sum + batch.unfinished, 0);
  const retried = batches.reduce((sum, batch) => sum + batch.tries - 1, 0);
  const { perStep, perSleep, perCheckpointedRun } = steps;
  return [
    `6. Steps and sleeps: the pipeline type, ${steps.runs} runs of each shape, ${steps.lanes} at a time, by difference`,
    `   (${unfinished} unfinished, ${retried} batches run again because the sweeper ran; us-east-1 prices from AWS-FACTS.md, arm64)`,
    table([
      [
        'what',
        'DynamoDB write units',
        'read units',
        'Lambda invocations',
        'Lambda: invocations / ms by function',
        'events',
        'Scheduler invocations',
        '$ per million',
      ],
      row(`a step: (${steps.steps} steps - 1 step) / ${steps.steps - 1}`, perStep),
      row(`a sleep: 2 steps with a ${steps.sleepSeconds} s sleep - without`, perSleep),
      row('a checkpointed run: 1 step - a step - echo', perCheckpointedRun),
    ]),
    '   DynamoDB by operation (calls, and units; writes include index writes):',
    byOperation('a step', perStep),
    byOperation('a sleep', perSleep),
    byOperation('a checkpointed run', perCheckpointedRun),
    '   DynamoDB calls by function:',
    byFunction('a step', perStep),
    byFunction('a sleep', perSleep),
    byFunction('a checkpointed run', perCheckpointedRun),
    `   Scheduler: ${steps.scheduler.createScheduleCalls} CreateSchedule calls and ${steps.scheduler.invocations} invocations in the measured batches, ${steps.schedulerSource}`,
    '',
  ];
}

/** Part 7: the CLI's batch start rate, and its memory as it reads the file. */
function batchLines(batch: BatchBenchFigures): string[] {
  const count = (value: number) => value.toLocaleString('en-US');
  const rss = batch.rssBytes;
  return [
    `7. Batch start: ${count(batch.jobs)} echo start requests (${mib(batch.fileBytes)} of NDJSON), eventjobs start --from, batches of 100, ${batch.concurrency} in flight`,
    table([
      ['figure', 'value'],
      [
        'batch start rate',
        `${count(Math.round(batch.jobsPerSecond))} jobs/s accepted (${count(batch.started)} in ${batch.seconds.toFixed(1)} s)`,
      ],
      [
        'started / failed',
        `${count(batch.started)} / ${count(batch.failed)} (${count(batch.queued)} of the started QUEUED, ${count(batch.retried)} entries sent again; exit ${batch.exitCode})`,
      ],
      [
        'requests retried after throttling',
        `${count(batch.throttledRetries ?? 0)} (--max-attempts ${BATCH_CLI_MAX_ATTEMPTS})`,
      ],
      [
        'CLI RSS at 10 / 50 / 90 / 100 % of the file',
        `${mib(rss.at10)} / ${mib(rss.at50)} / ${mib(rss.at90)} / ${mib(rss.at100)}`,
      ],
      ['CLI RSS, most', `${mib(rss.max)} (${count(batch.samples)} samples, every 250 ms)`],
    ]),
    '',
  ];
}
