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
import { benchJobName, type MemoryFigures } from './protocol';
import { pool } from './stats';

export interface MemoryOptions {
  readonly jobs: number;
  readonly concurrency: number;
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
  /** (RSS with every job in flight - idle RSS) / jobs. */
  readonly bytesPerJob: number;
  /** The slope of RSS over jobs in flight between the first and the last sample. */
  readonly marginalBytesPerJob: number;
  /** The client's heap growth per job started, first sample to last. */
  readonly clientHeapBytesPerJob: number;
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
  // Warm-up: the start-job and worker threads exist before the idle figure is taken.
  await pool(20, 10, async (n) => {
    await client.send({
      method: 'POST',
      path: '/jobs',
      body: { type: 'echo', name: benchJobName('memwarm', tag, n), input: { value: n } },
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const idle = await host.ask<MemoryFigures>({ kind: 'memory' });
  options.log(
    `  idle: ${(idle.rssBytes / 2 ** 20).toFixed(0)} MiB resident; starting ${options.jobs} sleep jobs of 15 minutes`,
  );

  const samples: MemorySample[] = [];
  const every = Math.max(1, Math.floor(options.jobs / options.samples));
  let started = 0;
  let startFailures = 0;
  let nextSample = every;
  const begin = Date.now();
  // The loop keeps nothing per job: its memory must not grow with the count.
  let sampling: Promise<void> = Promise.resolve();
  await pool(options.jobs, options.concurrency, async (n) => {
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
        collect();
        const usage = process.memoryUsage();
        const hostFigures = await host.ask<MemoryFigures>({ kind: 'memory' });
        options.log(
          `  ${at} started: local cloud ${(hostFigures.rssBytes / 2 ** 20).toFixed(0)} MiB (${hostFigures.inFlight} running, ${hostFigures.queued} queued)`,
        );
        samples.push({
          started: at,
          host: hostFigures,
          clientHeapUsedBytes: usage.heapUsed,
          clientRssBytes: usage.rss,
        });
      });
    }
  });
  await sampling;
  const seconds = (Date.now() - begin) / 1000;
  // Every job accepted; wait until Lambda holds them all (queued or running).
  await new Promise((resolve) => setTimeout(resolve, 2000));
  collect();
  const last = await host.ask<MemoryFigures>({ kind: 'memory' });
  const clientUsage = process.memoryUsage();
  samples.push({
    started,
    host: last,
    clientHeapUsedBytes: clientUsage.heapUsed,
    clientRssBytes: clientUsage.rss,
  });
  const first = samples[0] as MemorySample;
  const span = Math.max(1, last.queued + last.inFlight - (first.host.queued + first.host.inFlight));
  return {
    jobs: options.jobs,
    startFailures,
    seconds,
    idle,
    samples,
    bytesPerJob: (last.rssBytes - idle.rssBytes) / Math.max(1, started),
    marginalBytesPerJob: (last.rssBytes - first.host.rssBytes) / span,
    clientHeapBytesPerJob:
      (clientUsage.heapUsed - first.clientHeapUsedBytes) / Math.max(1, started - first.started),
  };
}
