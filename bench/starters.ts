/**
 * Triggers and schedules on the local cloud, in real time (no scaling, no
 * chaos): the reference app with its example schedule (`rate(1 minute)`, a
 * 1-second `sleep`).
 *
 * - Trigger latency: N `Job Requested` events put one after another on the
 *   default bus; for each, from the PutEvents call to the run's `startedAt`
 *   (the worker's Job Started), and to its `createdAt` (the starter's write).
 * - Schedule lateness: for each firing seen within the wait, its run's
 *   `createdAt` and `startedAt` against its scheduled time.
 *
 *   npm run bench:starters -- [--events N] [--firings N]   (defaults 50 and 3)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { signRequest } from '../functions/shared/signer';
import { startLocalCloud } from '../local/cloud';
import { ensureAssembly } from '../test/e2e/assembly';
import { percentile } from './stats';

const ROOT = resolve(import.meta.dirname, '..');
const ALICE = 'arn:aws:iam::000000000000:user/alice';
const CONTEXT = {
  exampleScheduleOwner: ALICE,
  exampleScheduleExpression: 'rate(1 minute)',
  exampleScheduleSeconds: '1',
  apiRateLimit: '500',
  apiBurstLimit: '1000',
};

interface Job {
  jobName: string;
  status: string;
  createdAt: string;
  startedAt?: string;
  startedBy?: { kind: string; scheduledTime?: string };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '50' },
      firings: { type: 'string', default: '3' },
    },
  });
  const events = Number(values.events);
  const firings = Number(values.firings);
  if (!Number.isInteger(events) || events < 1 || !Number.isInteger(firings) || firings < 1) {
    throw new Error('--events and --firings are whole numbers, at least 1');
  }
  const assembly = await ensureAssembly(resolve(ROOT, '.vitest/cdk.out.bench-starters'), CONTEXT);
  const logs = mkdtempSync(join(tmpdir(), 'eventjobs-bench-starters-'));
  const cloud = await startLocalCloud({
    assemblyDir: assembly,
    apiPort: 0,
    awsPort: 0,
    quiet: true,
    logsDir: logs,
  });
  const [alice] = cloud.users;
  if (!alice) throw new Error('no local identity');
  const eventBridge = new EventBridgeClient({
    region: cloud.region,
    endpoint: cloud.awsEndpoint,
    credentials: alice,
  });
  const get = async (path: string): Promise<{ status: number; body: unknown }> => {
    const url = `${cloud.apiUrl}${path}`;
    const headers = await signRequest({
      method: 'GET',
      url,
      headers: {},
      body: '',
      credentials: alice,
      region: cloud.region,
      service: 'execute-api',
    });
    const response = await fetch(url, { headers });
    return { status: response.status, body: await response.json() };
  };
  const until = async (name: string): Promise<Job> => {
    for (;;) {
      const answer = await get(`/jobs/${name}`);
      const job = answer.body as Job;
      if (answer.status === 200 && job.startedAt) return job;
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  try {
    console.log(`Trigger latency: ${events} Job Requested events, one after another`);
    const toStarted: number[] = [];
    const toCreated: number[] = [];
    for (let i = 0; i < events; i += 1) {
      const requestId = `bench-trigger-${Date.now()}-${i}`;
      const putAt = Date.now();
      const answer = await eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'eventjobs.example',
              DetailType: 'Job Requested',
              Detail: JSON.stringify({
                type: 'echo',
                requestId,
                input: { value: i },
                owner: ALICE,
              }),
            },
          ],
        }),
      );
      if (answer.FailedEntryCount) throw new Error('PutEvents refused the event');
      const job = await until(requestId);
      toStarted.push(Date.parse(job.startedAt ?? '') - putAt);
      toCreated.push(Date.parse(job.createdAt) - putAt);
    }
    const line = (label: string, values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      console.log(
        `  ${label}: p50 ${percentile(sorted, 50)} ms, p95 ${percentile(sorted, 95)} ms, max ${sorted.at(-1)} ms`,
      );
    };
    line('PutEvents -> run created (starter)', toCreated);
    line('PutEvents -> Job Started (worker)', toStarted);

    console.log(`Schedule lateness: waiting for ${firings} firings of rate(1 minute) (real time)`);
    const seen = new Map<string, Job>();
    const deadline = Date.now() + (firings + 1) * 60_000 + 30_000;
    while (seen.size < firings && Date.now() < deadline) {
      const answer = await get('/jobs?limit=100');
      for (const job of (answer.body as { jobs: Job[] }).jobs) {
        if (job.startedBy?.kind !== 'schedule' || seen.has(job.jobName)) continue;
        const full = (await get(`/jobs/${job.jobName}`)).body as Job;
        if (full.startedAt) seen.set(job.jobName, full);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const job of seen.values()) {
      const scheduled = Date.parse(job.startedBy?.scheduledTime ?? '');
      console.log(
        `  ${job.jobName}: scheduled ${job.startedBy?.scheduledTime}, run created +${Date.parse(job.createdAt) - scheduled} ms, Job Started +${Date.parse(job.startedAt ?? '') - scheduled} ms`,
      );
    }
    if (seen.size < firings) console.log(`  only ${seen.size} firings seen before the deadline`);
  } finally {
    eventBridge.destroy();
    await cloud.stop();
    rmSync(logs, { recursive: true, force: true });
  }
}

await main();
