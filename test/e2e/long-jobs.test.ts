/**
 * Long jobs end to end (issue 14), with the e2e assembly's 6 s worker timeout:
 * a checkpointed run that lasts many invocations, a cancel and a deadline that
 * reach a run in a durable sleep, and a duplicate step name.
 */
import { describe, expect, inject, it } from 'vitest';
import { type ApiResponse, callApi, eventually, uniqueName } from './client';

const target = inject('e2e');

interface StepBody {
  name: string;
  kind: string;
  status: string;
  startedAt: string;
  endedAt?: string;
  attempts: number;
  wakeAt?: string;
}

interface JobBody {
  jobName: string;
  status: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  deadlineAt?: string;
  cancelRequestedAt?: string;
  attempt?: number;
  invocations?: number;
  sleep?: { name: string; wakeAt: string };
  waiting?: { signal: string; timeoutAt?: string };
  steps?: StepBody[];
  result?: unknown;
  error?: { name: string; message: string };
}

const asJob = (response: ApiResponse) => response.body as JobBody;

async function start(name: string, input: unknown, timeoutSeconds: number): Promise<void> {
  const response = await callApi(target, target.alice, 'POST', '/jobs', {
    type: 'pipeline',
    name,
    input,
    timeoutSeconds,
  });
  expect(response.status, response.text).toBe(202);
}

async function job(name: string): Promise<JobBody> {
  const response = await callApi(target, target.alice, 'GET', `/jobs/${name}`);
  expect(response.status, response.text).toBe(200);
  return asJob(response);
}

async function waitFor(
  name: string,
  done: (job: JobBody) => boolean,
  what: string,
  timeoutMs: number,
): Promise<JobBody> {
  return eventually(
    `${name} ${what}`,
    async () => {
      const body = await job(name);
      return done(body) ? body : undefined;
    },
    timeoutMs,
  );
}

const ended = (body: JobBody) => body.status !== 'RUNNING' && body.status !== 'QUEUED';

describe('long jobs', () => {
  const workerMs = target.workerTimeoutSeconds * 1000;

  it('a checkpointed run lasts more than 5 worker timeouts, continuing in fresh invocations', async () => {
    const name = uniqueName('long');
    // 8 steps of 4 s: one step fits in an invocation of the 6 s worker, two do not.
    await start(name, { steps: 8, stepSeconds: 4 }, 300);

    const midway = await waitFor(
      name,
      (body) => (body.invocations ?? 0) >= 2 || ended(body),
      'to continue into a second invocation',
      60_000,
    );
    expect(midway.status).toBe('RUNNING');
    expect(midway.steps?.some((step) => step.status === 'SUCCEEDED')).toBe(true);

    const done = await waitFor(name, ended, 'to end', 180_000);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    expect(done.result).toEqual({ stepsRun: 8 });
    expect(done.durationMs).toBeGreaterThanOrEqual(5 * workerMs);
    expect(done.invocations).toBeGreaterThanOrEqual(6);
    expect(done.steps?.map((step) => step.name)).toEqual(
      Array.from({ length: 8 }, (_, i) => `step-${i + 1}`),
    );
    expect(done.steps?.every((step) => step.status === 'SUCCEEDED')).toBe(true);
    // A continuation goes on with the same attempt: no crash, no retry.
    expect(done.attempt).toBe(1);
  }, 240_000);

  it('a cancel reaches a run in a durable sleep at once: CANCELLED, without waiting for its timer', async () => {
    const name = uniqueName('sleep-cancel');
    await start(name, { steps: 2, stepSeconds: 0, sleepSeconds: 600 }, 1200);
    const sleeping = await waitFor(name, (body) => body.sleep !== undefined, 'to sleep', 30_000);
    expect(sleeping.sleep?.name).toBe('sleep-1');
    expect(sleeping.steps?.find((step) => step.name === 'sleep-1')?.status).toBe('SLEEPING');

    const cancel = await callApi(target, target.alice, 'DELETE', `/jobs/${name}`);
    expect(cancel.status, cancel.text).toBe(202);
    const done = await waitFor(name, ended, 'to end', 15_000);
    expect(done.status).toBe('CANCELLED');
    const finished = Date.parse(done.finishedAt ?? '');
    expect(finished - Date.parse(done.cancelRequestedAt ?? '')).toBeLessThan(15_000);
    expect(finished).toBeLessThan(Date.parse(sleeping.sleep?.wakeAt ?? ''));
  }, 60_000);

  it('the deadline reaches a run in a durable sleep: TIMED_OUT at its deadline, naming the sleep', async () => {
    const name = uniqueName('sleep-deadline');
    await start(name, { steps: 2, stepSeconds: 0, sleepSeconds: 600 }, 8);
    const sleeping = await waitFor(name, (body) => body.sleep !== undefined, 'to sleep', 30_000);
    const deadline = Date.parse(sleeping.deadlineAt ?? '');
    expect(Date.parse(sleeping.sleep?.wakeAt ?? '')).toBeGreaterThan(deadline);

    const done = await waitFor(name, ended, 'to end', 60_000);
    expect(done.status).toBe('TIMED_OUT');
    expect(done.error?.message).toContain('"sleep-1"');
    expect(Date.parse(done.finishedAt ?? '')).toBeGreaterThanOrEqual(deadline);
  }, 90_000);

  it('a duplicate step name fails the run at once, without retries', async () => {
    const name = uniqueName('dup-step');
    await start(name, { steps: 2, stepSeconds: 0, names: ['load', 'load'] }, 60);
    const done = await waitFor(name, ended, 'to end', 30_000);
    expect(done.status).toBe('FAILED');
    expect(done.error?.name).toBe('DuplicateStepNameError');
    expect(done.error?.message).toContain('"load"');
    // The type retries up to 5 times; a duplicate name is not worth a retry.
    expect(done.attempt).toBe(1);
    expect(done.steps?.map((step) => [step.name, step.status])).toEqual([['load', 'SUCCEEDED']]);
  }, 60_000);

  it('a run waits for a signal with no Lambda running; the owner sends it once, idempotently', async () => {
    const name = uniqueName('signal');
    await start(name, { steps: 2, stepSeconds: 0, signal: { name: 'approve' } }, 600);
    const waiting = await waitFor(name, (body) => body.waiting !== undefined, 'to wait', 30_000);
    expect(waiting.waiting).toEqual({ signal: 'approve' });
    expect(waiting.steps?.find((step) => step.name === 'approve')?.status).toBe('WAITING');

    // Another owner cannot see the job, so cannot signal it.
    const bob = await callApi(target, target.bob, 'POST', `/jobs/${name}/signals/approve`, {
      by: 'bob',
    });
    expect(bob.status, bob.text).toBe(404);

    const sent = await callApi(target, target.alice, 'POST', `/jobs/${name}/signals/approve`, {
      by: 'alice',
    });
    expect(sent.status, sent.text).toBe(202);
    const again = await callApi(target, target.alice, 'POST', `/jobs/${name}/signals/approve`, {
      by: 'alice',
    });
    expect(again.status, again.text).toBe(202);
    expect((again.body as { duplicate?: boolean }).duplicate).toBe(true);
    const other = await callApi(target, target.alice, 'POST', `/jobs/${name}/signals/approve`, {
      by: 'mallory',
    });
    expect(other.status, other.text).toBe(409);

    const done = await waitFor(name, ended, 'to end', 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
    expect(done.result).toEqual({ stepsRun: 2, signal: { by: 'alice' } });
    const late = await callApi(target, target.alice, 'POST', `/jobs/${name}/signals/approve`, {});
    expect(late.status, late.text).toBe(409);
  }, 60_000);

  it('a wait for a signal that never comes times out: FAILED with SignalTimeoutError', async () => {
    const name = uniqueName('signal-timeout');
    await start(
      name,
      { steps: 2, stepSeconds: 0, signal: { name: 'approve', timeoutSeconds: 3 } },
      600,
    );
    const done = await waitFor(name, ended, 'to end', 60_000);
    expect(done.status).toBe('FAILED');
    expect(done.error?.name).toBe('SignalTimeoutError');
    expect(done.error?.message).toContain('"approve"');
  }, 90_000);
});
