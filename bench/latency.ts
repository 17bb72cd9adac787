/**
 * Part 1: event-driven against polling. The same `sleep` jobs (1 to 3 s) are
 * observed three ways at once: the live event stream (SSE), a webhook, and a
 * client polling `GET /jobs/{name}` once a second, the timer approach eventjobs
 * replaces. Latency is measured from the moment the work ended (`finishedAt`
 * of the terminal event) to the moment each observer learnt of it.
 */

import { setMaxListeners } from 'node:events';
import { jobPath } from '../client/http';
import { sseSource } from '../client/sse';
import { startWebhookReceiver } from '../demo/webhook-receiver';
import type { BenchClient } from './client';
import type { BenchHost } from './host-client';
import { benchJobName, type JobTimeline } from './protocol';
import { type Distribution, distribution } from './stats';
import { type Counters, diffCounters } from './usage';

export interface LatencyOptions {
  readonly jobs: number;
  /** Jobs started per second (spread out, as real traffic is). */
  readonly rate: number;
  readonly pollIntervalMs: number;
  /**
   * Jobs run first in the same way and not measured, so that the measured jobs
   * meet the functions' environments already started, as in steady traffic.
   */
  readonly warmupJobs: number;
  readonly timeoutMs: number;
  readonly webhookSecret: string | undefined;
  readonly log: (line: string) => void;
}

export interface ObserverFigures {
  /** Milliseconds from the work's end to the observer knowing the outcome. */
  readonly latencyMs: Distribution;
  /** Jobs this observer never learnt the end of. */
  readonly missed: number;
  /** API requests per job this observer made (the POST not included). */
  readonly apiCallsPerJob: number;
}

export interface LatencyFigures {
  readonly jobs: number;
  readonly warmupJobs: number;
  readonly rate: number;
  readonly stream: ObserverFigures;
  readonly webhook: ObserverFigures & { readonly verified: number };
  readonly polling: ObserverFigures & { readonly pollIntervalMs: number };
  /** DynamoDB read requests per job: by the get-job function (polling) and by everything else (the event path). */
  readonly dynamodbReadsPerJob: { readonly polling: number; readonly eventPath: number };
  /** get-job invocations: polls plus one authorization per stream connection. */
  readonly getJobInvocations: number;
  /** DynamoDB read requests per get-job invocation. */
  readonly readsPerGet: number;
  readonly usage: Counters;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);
const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

/** 1 to 3 seconds, spread evenly over the jobs. */
function sleepSeconds(n: number, jobs: number): number {
  return jobs <= 1 ? 2 : 1 + Math.round((2000 * ((n * 37) % jobs)) / (jobs - 1)) / 1000;
}

export async function benchLatency(
  host: BenchHost,
  client: BenchClient,
  options: LatencyOptions,
): Promise<LatencyFigures> {
  const tag = Date.now().toString(36);
  const names = Array.from({ length: options.jobs }, (_, n) => benchJobName('lat', tag, n));
  const streamAt = new Map<string, number>();
  const webhookAt = new Map<string, number>();
  const polledAt = new Map<string, number>();
  let polls = 0;
  let verified = 0;
  let delivered = 0;
  const receiver = options.webhookSecret
    ? await startWebhookReceiver(options.webhookSecret, (delivery) => {
        delivered += 1;
        if (!webhookAt.has(delivery.jobName)) webhookAt.set(delivery.jobName, Date.now());
        if (delivery.verified) verified += 1;
      })
    : undefined;
  const controller = new AbortController();
  // Every stream and poller listens on this one signal: hundreds of listeners are expected.
  setMaxListeners(0, controller.signal);
  const deadline = setTimeout(() => controller.abort(), options.timeoutMs);
  const stream = sseSource(client.api);

  const follow = async (name: string) => {
    try {
      for await (const item of stream(name, controller.signal)) {
        const type = item.event['detail-type'];
        if (type !== 'Job Started' && type !== 'Job Progress') {
          streamAt.set(name, Date.now());
          return;
        }
      }
    } catch {
      // A stream that broke is a miss, counted below.
    }
  };
  const poll = async (name: string) => {
    while (!controller.signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs));
      polls += 1;
      const { status, text } = await client
        .send({ method: 'GET', path: jobPath(name), signal: controller.signal })
        .catch(() => ({ status: 0, text: '' }));
      if (status !== 200) continue;
      const view = JSON.parse(text) as { status?: string };
      if (view.status && TERMINAL.has(view.status)) {
        polledAt.set(name, Date.now());
        return;
      }
    }
  };

  /** Starts the jobs at the rate, each followed three ways; resolves with the POSTs that failed. */
  const run = async (batch: readonly string[]): Promise<number> => {
    const observers: Promise<void>[] = [];
    const deliveredBefore = delivered;
    const startedAt = Date.now();
    let startFailures = 0;
    for (const [n, name] of batch.entries()) {
      const due = startedAt + (n * 1000) / options.rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      observers.push(
        (async () => {
          const { status } = await client.send({
            method: 'POST',
            path: '/jobs',
            body: {
              type: 'sleep',
              name,
              input: { seconds: sleepSeconds(n, batch.length) },
              ...(receiver ? { callback: { url: `${receiver.url}/hooks/${name}` } } : {}),
            },
          });
          if (status !== 202) {
            startFailures += 1;
            return;
          }
          await Promise.all([follow(name), poll(name)]);
        })(),
      );
    }
    await Promise.all(observers);
    if (receiver) {
      await receiver.waitFor(
        deliveredBefore + batch.length - startFailures,
        30_000,
        controller.signal,
      );
    }
    return startFailures;
  };

  if (options.warmupJobs > 0) {
    options.log(`  warm-up: ${options.warmupJobs} jobs observed the same way, not measured`);
    const warmNames = Array.from({ length: options.warmupJobs }, (_, n) =>
      benchJobName('latwarm', tag, n),
    );
    await run(warmNames);
    await host.ask({ kind: 'forget', names: warmNames });
  }
  polls = 0;
  verified = 0;

  const usageBefore = await host.ask<Counters>({ kind: 'usage' });
  const callsBefore = await host.ask<Record<string, number>>({ kind: 'calls' });
  options.log(
    `  ${options.jobs} sleep jobs of 1-3 s, ${options.rate} started per second, each followed by SSE, a webhook and a 1 s poller`,
  );
  await run(names);
  clearTimeout(deadline);
  await receiver?.close();
  const usageAfter = await host.ask<Counters>({ kind: 'usage' });
  const callsAfter = await host.ask<Record<string, number>>({ kind: 'calls' });
  const timelines = await host.ask<Record<string, JobTimeline>>({ kind: 'timelines', names });
  await host.ask({ kind: 'forget', names });

  const latencies = (seen: Map<string, number>) => {
    const values: number[] = [];
    for (const name of names) {
      const at = seen.get(name);
      const finishedAt = timelines[name]?.finishedAt;
      if (at !== undefined && finishedAt !== undefined) values.push(at - finishedAt);
    }
    return { latencyMs: distribution(values), missed: names.length - values.length };
  };

  let getJobReads = 0;
  let otherReads = 0;
  for (const [key, after] of Object.entries(callsAfter)) {
    const [caller = '', operation = ''] = key.split(' ');
    if (!READS.has(operation)) continue;
    const count = after - (callsBefore[key] ?? 0);
    if (/get-?job/i.test(caller)) getJobReads += count;
    else otherReads += count;
  }
  const usage = diffCounters(usageBefore, usageAfter);
  const getJobInvocations = polls + options.jobs;
  const readsPerGet = getJobReads / Math.max(1, getJobInvocations);
  const jobs = options.jobs;
  return {
    jobs,
    warmupJobs: options.warmupJobs,
    rate: options.rate,
    stream: { ...latencies(streamAt), apiCallsPerJob: 1 },
    webhook: { ...latencies(webhookAt), apiCallsPerJob: 0, verified },
    polling: {
      ...latencies(polledAt),
      apiCallsPerJob: polls / jobs,
      pollIntervalMs: options.pollIntervalMs,
    },
    dynamodbReadsPerJob: {
      polling: (polls * readsPerGet) / jobs,
      eventPath: otherReads / jobs,
    },
    getJobInvocations,
    readsPerGet,
    usage,
  };
}
