/**
 * Part 3: memory. The local cloud's resident set (its whole process, function
 * threads included) with many jobs in flight, per in-flight job; and the
 * client's own memory while it starts them in a loop, which must stay flat.
 *
 * The jobs are long `sleep`s, so none ends during the measurement: a few run
 * (as many as Lambda's concurrency allows), the rest wait in Lambda's event
 * queue, every one with its active record in DynamoDB.
 */
import type { BenchClient } from './client';
import type { BenchHost } from './host-client';
import { benchJobName, type LambdaFigures, type MemoryFigures } from './protocol';
import { pool } from './stats';

export interface MemoryOptions {
  readonly jobs: number;
  /** POSTs in flight. */
  readonly concurrency: number;
  /** The worker's reserved concurrency in the assembly: jobs that run at once. */
  readonly workers: number;
  /** Host samples are taken at these many jobs started (the last is `jobs`). */
  readonly samples: number;
  readonly log: (line: string) => void;
}

export interface MemorySample {
  readonly started: number;
  readonly host: MemoryFigures;
  /** The client's heap after a full collection, and its resident set. */
  readonly clientHeapUsedBytes: number;
  readonly clientRssBytes: number;
}

export interface MemoryFigures3 {
  readonly jobs: number;
  readonly startFailures: number;
  readonly seconds: number;
  /** The host before the jobs, after a warm-up. */
  readonly idle: MemoryFigures;
  readonly samples: readonly MemorySample[];
  /** The host, settled, with the first tenth of the jobs in flight. */
  readonly base: MemoryFigures;
  /** Jobs started when `base` was taken. */
  readonly baseStarted?: number;
  /**
   * Bytes per in-flight job: (settled RSS with every job in flight - settled RSS
   * with the first tenth) / the jobs in flight between the two.
   */
  readonly bytesPerJob: number;
  /**
   * The same for the main thread's heap after a full collection: what the local
   * cloud holds per job (its DynamoDB items, Lambda's queued event).
   */
  readonly heapBytesPerJob: number;
  /**
   * (settled RSS with every job in flight - idle RSS) / jobs: also counts the
   * environments the load started beyond the warm-up's.
   */
  readonly fromIdleBytesPerJob: number;
  /** The client's heap growth per job started, first sample to last. */
  readonly clientHeapBytesPerJob: number;
}

/** How long the host is left alone before a settled figure: its threads collect their garbage. */
const SETTLE_MS = 45_000;

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** The host's figures with the client's own, its heap after a full collection. */
function sampleOf(started: number, host: MemoryFigures): MemorySample {
  collect();
  const usage = process.memoryUsage();
  return { started, host, clientHeapUsedBytes: usage.heapUsed, clientRssBytes: usage.rss };
}

/** The host's figures after SETTLE_MS with no new requests (the running sleeps go on). */
async function settled(host: BenchHost, options: MemoryOptions): Promise<MemoryFigures> {
  options.log(`  letting the local cloud settle for ${SETTLE_MS / 1000} s`);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return host.ask<MemoryFigures>({ kind: 'memory' });
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

export async function benchMemory(
  host: BenchHost,
  client: BenchClient,
  options: MemoryOptions,
): Promise<MemoryFigures3> {
  const tag = Date.now().toString(36);
  // Warm-up: every environment the run will use exists before the idle figure is
  // taken (start-job as many as POSTs in flight, the worker up to its concurrency,
  // completion, the recorder), so that the figure per job holds only what jobs hold.
  // Sleeps fill the worker's slots; then echoes keep the concurrency's POSTs in flight for a while.
  const warmJobs = options.workers + 4 * options.concurrency;
  await pool(warmJobs, options.concurrency, async (n) => {
    await client.send({
      method: 'POST',
      path: '/jobs',
      body:
        n < options.workers
          ? { type: 'sleep', name: benchJobName('memwarm', tag, n), input: { seconds: 3 } }
          : { type: 'echo', name: benchJobName('memwarm', tag, n), input: { value: n } },
    });
  });
  const settleBy = Date.now() + 180_000;
  for (;;) {
    const figures = await host.ask<LambdaFigures>({ kind: 'lambda' });
    if (figures.queued + figures.inFlight === 0) break;
    if (Date.now() > settleBy) {
      throw new Error(
        `The warm-up jobs did not finish within 3 minutes (${figures.queued} queued, ${figures.inFlight} running)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const idle = await host.ask<MemoryFigures>({ kind: 'memory' });
  options.log(
    `  idle: ${mib(idle.rssBytes)} resident; starting ${options.jobs} sleep jobs of 15 minutes`,
  );

  const samples: MemorySample[] = [];
  const every = Math.max(1, Math.floor(options.jobs / options.samples));
  let started = 0;
  let startFailures = 0;
  let nextSample = every;
  const begin = Date.now();
  // The loop keeps nothing per job: its memory must not grow with the count.
  let sampling: Promise<void> = Promise.resolve();
  const post = async (n: number) => {
    const { status } = await client.send({
      method: 'POST',
      path: '/jobs',
      body: { type: 'sleep', name: benchJobName('mem', tag, n), input: { seconds: 900 } },
    });
    if (status === 202) started += 1;
    else startFailures += 1;
    if (started + startFailures >= nextSample) {
      nextSample += every;
      const at = started;
      sampling = sampling.then(async () => {
        const sample = sampleOf(at, await host.ask<MemoryFigures>({ kind: 'memory' }));
        options.log(
          `  ${at} started: local cloud ${mib(sample.host.rssBytes)} (${sample.host.inFlight} running, ${sample.host.queued} queued)`,
        );
        samples.push(sample);
      });
    }
  };

  // The first tenth, then a settled figure: the load has started every environment
  // it needs (start-job as many as POSTs in flight), and they have collected
  // their garbage. The same after the rest: the growth between the two is what
  // the added jobs hold.
  const firstPart = Math.max(1, Math.floor(options.jobs / 10));
  await pool(firstPart, options.concurrency, post);
  await sampling;
  const base = await settled(host, options);
  const startedAtBase = started;
  options.log(`  settled at ${started} started: ${mib(base.rssBytes)}`);
  await pool(options.jobs - firstPart, options.concurrency, (n) => post(firstPart + n));
  await sampling;
  const seconds = (Date.now() - begin) / 1000;
  const last = await settled(host, options);
  options.log(`  settled at ${started} started: ${mib(last.rssBytes)}`);
  const final = sampleOf(started, last);
  samples.push(final);
  const first = samples[0] as MemorySample;
  // Every started job is held until its 15 minutes are up: running, in Lambda's queue, or
  // (with fair share) QUEUED in eventjobs' own queue, which the host's counts do not see.
  const heldMore = Math.max(1, started - startedAtBase);
  return {
    jobs: options.jobs,
    startFailures,
    seconds,
    idle,
    base,
    samples,
    baseStarted: startedAtBase,
    bytesPerJob: (last.rssBytes - base.rssBytes) / heldMore,
    heapBytesPerJob: (last.heapUsedBytes - base.heapUsedBytes) / heldMore,
    fromIdleBytesPerJob: (last.rssBytes - idle.rssBytes) / Math.max(1, started),
    clientHeapBytesPerJob:
      (final.clientHeapUsedBytes - first.clientHeapUsedBytes) /
      Math.max(1, started - first.started),
  };
}
