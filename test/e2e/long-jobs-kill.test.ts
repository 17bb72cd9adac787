/**
 * Resume after a crash (issue 14): a local cloud in a process of its own is
 * killed with SIGKILL while a checkpointed run is in the middle of a step, and
 * started again on the same `--data`. The run resumes from its checkpoints and
 * succeeds, and each step's side effect (the pipeline's "Pipeline step done"
 * log line) happened exactly once. Local only: a deployed stack cannot be killed.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PIPELINE_STEP_DONE } from '../../functions/jobs/pipeline';
import { startCloudProcess } from '../chaos/cloud-process';
import { type Api, call } from '../chaos/http';
import { E2E_ASSEMBLY, ensureE2eAssembly } from './assembly';
import { uniqueName } from './client';

interface StepBody {
  name: string;
  status: string;
  attempts: number;
}

interface JobBody {
  runId: string;
  status: string;
  attempt?: number;
  invocations?: number;
  steps?: StepBody[];
  result?: unknown;
  error?: { name: string; message: string };
}

const work = mkdtempSync(join(tmpdir(), 'eventjobs-kill-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  // A cloud still running writes its logs into `work`: wait for it to exit before removing them.
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
      child.kill('SIGTERM');
      await exited;
    }),
  );
  rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}, 60_000);

async function get(api: Api, name: string): Promise<JobBody> {
  const answer = await call(api, 'GET', `/jobs/${name}`);
  expect(answer.status).toBe(200);
  return answer.body as JobBody;
}

async function until(
  api: Api,
  name: string,
  done: (job: JobBody) => boolean,
  timeoutMs: number,
): Promise<JobBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await get(api, name);
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** How many times each step's side effect ran, from every function log the two processes wrote. */
function sideEffects(logsDir: string, runId: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const file of readdirSync(logsDir)) {
    for (const line of readFileSync(join(logsDir, file), 'utf8').split('\n')) {
      if (!line.includes(PIPELINE_STEP_DONE) || !line.includes(runId)) continue;
      const step = Number(/"step":(\d+)/.exec(line)?.[1]);
      counts.set(step, (counts.get(step) ?? 0) + 1);
    }
  }
  return counts;
}

describe('resume after a crash', () => {
  it('a SIGKILL mid-step, then a restart on the same --data: the run resumes and each step runs once', async () => {
    await ensureE2eAssembly();
    const logsDir = join(work, 'logs');
    const args = [
      '--no-synth',
      '--quiet',
      '--port',
      '0',
      '--aws-port',
      '0',
      '--data',
      join(work, 'data'),
      '--logs',
      logsDir,
      '--assembly',
      E2E_ASSEMBLY,
      '--time-scale',
      '0.01',
      '--schedule-scale',
      '0.05',
    ];
    const first = await startCloudProcess(args, work);
    children.push(first.child);
    const name = uniqueName('kill');
    const started = await call(first.api, 'POST', '/jobs', {
      type: 'pipeline',
      name,
      input: { steps: 6, stepSeconds: 2 },
      timeoutSeconds: 600,
    });
    expect(started.status).toBe(202);

    // Two steps done and the third under way: kill while its function runs.
    const before = await until(
      first.api,
      name,
      (job) =>
        (job.steps?.filter((step) => step.status === 'SUCCEEDED').length ?? 0) >= 2 &&
        (job.steps?.some((step) => step.status === 'RUNNING') ?? false),
      60_000,
    );
    first.child.kill('SIGKILL');
    await new Promise((resolveExit) => first.child.once('exit', resolveExit));
    const doneBefore = before.steps?.filter((step) => step.status === 'SUCCEEDED').length ?? 0;

    const second = await startCloudProcess(args, work);
    children.push(second.child);
    // The sweeper finds the run silent (one worker timeout plus a minute) and re-drives it.
    const done = await until(second.api, name, (job) => job.status !== 'RUNNING', 240_000);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    expect(done.result).toEqual({ stepsRun: 6 });
    // A crash of a running invocation counts as an attempt of the type's retry policy (2);
    // a kill that lands while the run passes to its next invocation (no lease, the
    // continuation's invoke lost) is re-driven without counting one (1).
    expect([1, 2]).toContain(done.attempt);
    expect(done.invocations).toBeGreaterThanOrEqual(3);

    const effects = sideEffects(logsDir, done.runId);
    expect([...effects.entries()].sort(([a], [b]) => a - b)).toEqual(
      Array.from({ length: 6 }, (_, i) => [i + 1, 1]),
    );
    // The steps finished before the kill were not run again.
    for (const step of done.steps?.slice(0, doneBefore) ?? []) expect(step.attempts).toBe(1);
  }, 420_000);
});
