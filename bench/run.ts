/**
 * `npm run bench`: every benchmark of issue 6 in one run on the local cloud,
 * a table on stdout and everything in bench/results.json.
 *
 * 1. event-driven against polling (bench/latency.ts)
 * 2. end-to-end throughput and the DynamoDB ceiling (bench/throughput.ts)
 * 3. memory per in-flight job, and a client's memory (bench/memory.ts)
 * 4. function bundles against a naive build (bench/bundles.ts)
 * 5. cost per million jobs (bench/cost.ts)
 * 6. what a checkpointed step and a durable sleep cost (bench/steps.ts)
 * 7. batch starts through the CLI, `eventjobs start --from` (bench/batch.ts)
 *
 * The local cloud runs in a child process (bench/host.ts), so the client load
 * and the cloud do not share an event loop and its memory is its own.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseCommandLine, parseFlags, runMain } from '../cli/run-main';
import { synthesize } from '../local/freshness';
import { type BatchBenchFigures, benchBatch } from './batch';
import { BENCH_CONTEXT, type BundleFigures, benchBundles } from './bundles';
import { benchClient } from './client';
import { costSection } from './cost-section';
import { BenchHost } from './host-client';
import { benchLatency, type LatencyFigures } from './latency';
import { benchMemory, type MemoryFigures3 } from './memory';
import type { HostInfo } from './protocol';
import { formatReport, type Report, TARGETS } from './report';
import { benchSteps, type StepsFigures } from './steps';
import { benchThroughput, type ThroughputFigures } from './throughput';

const ROOT = resolve(import.meta.dirname, '..');
const PARTS = ['latency', 'throughput', 'memory', 'bundles', 'cost', 'steps', 'batch'] as const;
type Part = (typeof PARTS)[number];

const USAGE = `Usage: npm run bench -- [options]

  --only LIST             run only these parts: ${PARTS.join(',')} (cost needs latency and throughput)
  --latency-jobs N        sleep jobs observed by stream, webhook and polling (default 200)
  --latency-rate N        of those, started per second (default 5: the pollers' load stays within
                          what the local cloud serves on 2 cores)
  --latency-warmup N      jobs run the same way before those, not measured (default 40)
  --throughput-jobs N     echo jobs pushed end to end (default 2000)
  --concurrency N         POSTs in flight in the throughput and memory parts (default 10: at 32
                          the functions' slowed durations on 2 cores use up the account's
                          100 concurrent executions, and throttled events back off for minutes)
  --memory-jobs N         jobs in flight for the memory figure (default 10000)
  --memory-concurrency N  the worker's reserved concurrency in the memory part: how many of those
                          run at once, the rest wait in Lambda's event queue (default 10)
  --runs N                fresh imports per bundle for its median init (default 10)
  --steps-runs N          pipeline runs of each shape in the steps part (default 20)
  --batch-jobs N          start requests in the file the batch part starts with the CLI
                          (default 100000)
  --batch-concurrency N   the CLI's --concurrency in the batch part: batches in flight (default 4)
  --help                  show this`;

function wholeNumber(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

function parse(argv: string[]) {
  const values = parseFlags(argv, {
    only: { type: 'string' },
    'latency-jobs': { type: 'string', default: '200' },
    'latency-rate': { type: 'string', default: '5' },
    'latency-warmup': { type: 'string', default: '40' },
    'throughput-jobs': { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '10' },
    'memory-jobs': { type: 'string', default: '10000' },
    'memory-concurrency': { type: 'string', default: '10' },
    runs: { type: 'string', default: '10' },
    'steps-runs': { type: 'string', default: '20' },
    'batch-jobs': { type: 'string', default: '100000' },
    'batch-concurrency': { type: 'string', default: '4' },
    help: { type: 'boolean', default: false },
  });
  const only = values.only?.split(',').map((part) => part.trim()) ?? [...PARTS];
  for (const part of only) {
    if (!(PARTS as readonly string[]).includes(part)) {
      throw new Error(`--only: unknown part "${part}"; the parts are ${PARTS.join(', ')}`);
    }
  }
  return {
    help: values.help,
    parts: new Set(only as Part[]),
    latencyJobs: wholeNumber('latency-jobs', values['latency-jobs'], 1, 100_000),
    latencyRate: wholeNumber('latency-rate', values['latency-rate'], 1, 10_000),
    latencyWarmup: wholeNumber('latency-warmup', values['latency-warmup'], 0, 100_000),
    throughputJobs: wholeNumber('throughput-jobs', values['throughput-jobs'], 1, 1_000_000),
    concurrency: wholeNumber('concurrency', values.concurrency, 1, 1024),
    memoryJobs: wholeNumber('memory-jobs', values['memory-jobs'], 10, 1_000_000),
    // At most 900: AWS (and the local cloud) keeps 100 of the account's 1,000 unreserved.
    memoryConcurrency: wholeNumber('memory-concurrency', values['memory-concurrency'], 1, 900),
    runs: wholeNumber('runs', values.runs, 1, 100),
    stepsRuns: wholeNumber('steps-runs', values['steps-runs'], 1, 1000),
    batchJobs: wholeNumber('batch-jobs', values['batch-jobs'], 1, 10_000_000),
    batchConcurrency: wholeNumber('batch-concurrency', values['batch-concurrency'], 1, 64),
  };
}

async function main(argv: string[]): Promise<number> {
  const args = parseCommandLine(argv, parse, USAGE);
  if (typeof args === 'number') return args;
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const resultsFile = join(ROOT, 'bench/results.json');
  const partial: Record<string, unknown> = { measuredAt: new Date().toISOString() };
  // Each part's figures are written as soon as it ends, so a long run that is stopped keeps them.
  const save = (section: string, value: unknown) => {
    partial[section] = value;
    writeFileSync(resultsFile, `${JSON.stringify(partial, null, 2)}\n`);
  };
  const machine = {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
  log(
    `eventjobs benchmark on ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`,
  );
  const began = performance.now();
  const assemblyDir = join(ROOT, '.bench/cdk.out');

  // Part 4 first: it synthesizes the assembly every other part runs.
  log('\n[4/7] Function bundles');
  const functions: BundleFigures[] = await benchBundles({
    runs: args.parts.has('bundles') ? args.runs : 1,
    log,
  });
  const bundles = args.parts.has('bundles')
    ? { target: { maxBytes: TARGETS.bundleBytes, maxInitMs: TARGETS.initMs }, functions }
    : undefined;
  if (bundles) save('bundles', bundles);

  const { latency, throughput, steps } = await runCloudParts(args, assemblyDir, log, save);
  const memory = args.parts.has('memory') ? await runMemoryPart(args, log, save) : undefined;
  const batch = args.parts.has('batch') ? await runBatchPart(args, log, save) : undefined;

  const cost = throughput && latency ? costSection(latency, throughput) : undefined;

  const report: Report = {
    machine,
    seconds: (performance.now() - began) / 1000,
    ...(latency ? { latency } : {}),
    ...(throughput ? { throughput } : {}),
    ...(memory ? { memory } : {}),
    ...(bundles ? { bundles } : {}),
    ...(cost ? { cost } : {}),
    ...(steps ? { steps } : {}),
    ...(batch ? { batch } : {}),
  };
  log(`\n${formatReport(report)}`);
  writeFileSync(
    resultsFile,
    `${JSON.stringify({ measuredAt: new Date().toISOString(), ...report }, null, 2)}\n`,
  );
  log(`Written to ${resultsFile}`);
  return 0;
}

type Args = ReturnType<typeof parse>;
type Log = (line: string) => void;
type Save = (section: string, value: unknown) => void;

/** Parts 1, 2 and 6 (and the figures part 5 needs), on one local cloud. */
async function runCloudParts(
  args: Args,
  assemblyDir: string,
  log: Log,
  save: Save,
): Promise<{ latency?: LatencyFigures; throughput?: ThroughputFigures; steps?: StepsFigures }> {
  let latency: LatencyFigures | undefined;
  let throughput: ThroughputFigures | undefined;
  let steps: StepsFigures | undefined;
  if ((['latency', 'throughput', 'cost', 'steps'] as const).some((part) => args.parts.has(part))) {
    const host = await BenchHost.start(assemblyDir);
    try {
      const info = await host.ask<HostInfo>({ kind: 'info' });
      const client = benchClient(info);
      if (args.parts.has('latency') || args.parts.has('cost')) {
        log('\n[1/7] Event-driven against polling');
        latency = await benchLatency(host, client, {
          jobs: args.latencyJobs,
          rate: args.latencyRate,
          warmupJobs: args.latencyWarmup,
          pollIntervalMs: 1000,
          timeoutMs: 10 * 60_000,
          webhookSecret: info.webhookSecret,
          log,
        });
        save('latency', latency);
      }
      if (args.parts.has('throughput') || args.parts.has('cost')) {
        log('\n[2/7] End-to-end throughput');
        throughput = await benchThroughput(host, client, {
          jobs: args.throughputJobs,
          concurrency: args.concurrency,
          warmupJobs: 100,
          pacedJobs: 200,
          pacedRate: 5,
          timeoutMs: 20 * 60_000,
          log,
        });
        save('throughput', throughput);
      }
      if (args.parts.has('steps')) {
        log('\n[6/7] Steps and sleeps');
        steps = await benchSteps(host, client, {
          runs: args.stepsRuns,
          lanes: 2,
          steps: 11,
          sleepSeconds: 1,
          warmupRuns: 4,
          timeoutMs: 2 * 60_000,
          log,
        });
        save('steps', steps);
      }
    } finally {
      await host.stop();
    }
  }
  return { latency, throughput, steps };
}

/** Part 3, on a local cloud of its own: the app with the worker's reserved concurrency set. */
async function runMemoryPart(args: Args, log: Log, save: Save): Promise<MemoryFigures3> {
  log('\n[3/7] Memory');
  // The same app with the worker's reserved concurrency set, so most jobs wait in Lambda's queue.
  const memoryAssembly = join(ROOT, '.bench/cdk.out.memory');
  const synth = synthesize(ROOT, memoryAssembly, {
    context: { ...BENCH_CONTEXT, workerReservedConcurrency: String(args.memoryConcurrency) },
  });
  if (synth.status !== 0) throw new Error(`cdk synth failed:\n${synth.output}`);
  const host = await BenchHost.start(memoryAssembly);
  try {
    const info = await host.ask<HostInfo>({ kind: 'info' });
    const memory = await benchMemory(host, benchClient(info), {
      jobs: args.memoryJobs,
      concurrency: args.concurrency,
      workers: args.memoryConcurrency,
      samples: 10,
      log,
    });
    save('memory', memory);
    return memory;
  } finally {
    await host.stop();
  }
}

/**
 * Part 7, on a local cloud of its own: the app with a queue cap above the file's
 * jobs, so that one identity's starts are never refused as QueueFull (they may
 * wait as QUEUED), and the real CLI, built from this checkout. The account's
 * concurrency is lowered so the execution environments the cloud keeps warm
 * (each a thread or process of its own, tens of MB) stay bounded on this
 * machine; invocations beyond it are throttled (a start answers 429 and the
 * CLI sends it again) or wait in Lambda's event queue, as in AWS.
 */
/** The worker's reserved concurrency, and the account's: AWS keeps 100 unreserved. */
const BATCH_WORKER_CONCURRENCY = 20;
const BATCH_ACCOUNT_CONCURRENCY = BATCH_WORKER_CONCURRENCY + 100;

async function runBatchPart(args: Args, log: Log, save: Save): Promise<BatchBenchFigures> {
  log('\n[7/7] Batch start');
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stderr}`);
  const batchAssembly = join(ROOT, '.bench/cdk.out.batch');
  const synth = synthesize(ROOT, batchAssembly, {
    context: {
      ...BENCH_CONTEXT,
      maxQueuedPerOwner: String(Math.max(args.batchJobs, Number(BENCH_CONTEXT.maxQueuedPerOwner))),
      workerReservedConcurrency: String(BATCH_WORKER_CONCURRENCY),
    },
  });
  if (synth.status !== 0) throw new Error(`cdk synth failed:\n${synth.output}`);
  const host = await BenchHost.start(batchAssembly, {
    accountConcurrency: BATCH_ACCOUNT_CONCURRENCY,
  });
  try {
    const info = await host.ask<HostInfo>({ kind: 'info' });
    const batch = await benchBatch(info, {
      jobs: args.batchJobs,
      concurrency: args.batchConcurrency,
      sampleMs: 250,
      timeoutMs: 4 * 60 * 60_000,
      log,
    });
    save('batch', batch);
    return batch;
  } finally {
    await host.stop();
  }
}

void runMain(main);
