/**
 * The template's schedules in the local Scheduler: created at start, on the
 * virtual clock of the schedule scale (a small scale makes virtual minutes
 * and hours pass in milliseconds of real time), with StartDate, EndDate,
 * State and the context attributes of their Input; never written to the data
 * directory; and what of them does not run, said as notes. Timing is checked
 * through the scheduled times the invocations carry and their order, with
 * lower bounds only on real time.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
} from '@aws-sdk/client-scheduler';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalEnv, ScheduleSpec } from '../../../../local/contracts';
import { templateScheduleNotes } from '../../../../local/scheduler/template';
import { ACCOUNT, eventually, REGION, TEST_ENV } from '../../../fixtures/lambda/harness';
import {
  type Harness,
  JOBS_GROUP,
  RecordingLambda,
  ROLE_ARN,
  sleep,
  sleepSchedule,
  startScheduler,
  WORKER_ARN,
} from './harness';

const running: Harness[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((harness) => harness.close()));
});

/** A virtual minute in 60 ms of real time, an hour in 3.6 s. */
const FAST: LocalEnv = { ...TEST_ENV, timeScale: 1, scheduleScale: 0.001 };
/** A virtual hour in 0.36 s of real time. */
const FASTER: LocalEnv = { ...TEST_ENV, timeScale: 1, scheduleScale: 0.0001 };

const CONTEXT_INPUT = JSON.stringify({
  arn: '<aws.scheduler.schedule-arn>',
  at: '<aws.scheduler.scheduled-time>',
  id: '<aws.scheduler.execution-id>',
  attempt: '<aws.scheduler.attempt-number>',
});

function templateSchedule(name: string, overrides: Partial<ScheduleSpec> = {}): ScheduleSpec {
  return {
    logicalId: `${name}Schedule`,
    name,
    groupName: JOBS_GROUP.name,
    arn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/jobs/${name}`,
    expression: 'rate(1 minute)',
    timezone: 'UTC',
    flexibleTimeWindow: { mode: 'OFF' },
    state: 'ENABLED',
    target: {
      arn: WORKER_ARN,
      roleArn: ROLE_ARN,
      input: CONTEXT_INPUT,
      retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 },
    },
    ...overrides,
  };
}

async function start(options: Parameters<typeof startScheduler>[0] = {}) {
  const lambda = new RecordingLambda();
  const harness = await startScheduler({ env: FAST, ...options, lambda });
  running.push(harness);
  return { ...harness, lambda };
}

interface Fired {
  readonly arn: string;
  readonly at: string;
  readonly id: string;
  readonly attempt: string;
}

/** What each invocation of `lambda` was sent, for the schedules sending CONTEXT_INPUT. */
function fired(lambda: RecordingLambda, name?: string): Fired[] {
  return lambda.invocations
    .map((invocation) => JSON.parse(invocation.payload) as Fired)
    .filter((payload) => name === undefined || payload.arn.endsWith(`/${name}`));
}

const times = (firings: readonly Fired[]) => firings.map((f) => Date.parse(f.at));

describe('template schedules on the virtual clock', () => {
  it('fires a rate() at once, then every virtual period, with the context attributes of each invocation', async () => {
    // prepare
    const before = Date.now();

    // act
    const { lambda } = await start({ schedules: [templateSchedule('minutely')] });

    // assess: virtual minutes apart (some may be skipped if the process stalls, never doubled)
    await eventually(() => expect(fired(lambda).length).toBeGreaterThanOrEqual(4), 5000);
    const firings = fired(lambda);
    const at = times(firings);
    expect(at[0]).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(at[0]).toBeLessThanOrEqual(Date.now());
    for (let i = 1; i < at.length; i++) {
      const gap = (at[i] ?? 0) - (at[i - 1] ?? 0);
      expect(gap).toBeGreaterThan(0);
      expect(gap % 60_000).toBe(0);
    }
    expect(firings[0]).toMatchObject({
      arn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/jobs/minutely`,
      attempt: '1',
    });
    expect(firings[0]?.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(new Set(firings.map((f) => f.id)).size).toBe(firings.length);
    expect(
      lambda.invocations.every((i) => i.type === 'Event' && i.functionRef === WORKER_ARN),
    ).toBe(true);
  });

  it('fires a cron() at whole virtual hours, in order', async () => {
    const { lambda, scheduler } = await start({
      env: FASTER,
      schedules: [templateSchedule('hourly', { expression: 'cron(0 * * * ? *)' })],
    });

    await eventually(() => expect(fired(lambda).length).toBeGreaterThanOrEqual(2), 10_000);

    const firings = fired(lambda);
    for (const firing of firings) expect(firing.at).toMatch(/T\d\d:00:00Z$/);
    const at = times(firings);
    for (let i = 1; i < at.length; i++) {
      expect((at[i] ?? 0) - (at[i - 1] ?? 0)).toBeGreaterThan(0);
      expect(((at[i] ?? 0) - (at[i - 1] ?? 0)) % 3_600_000).toBe(0);
    }
    // The virtual clock is hours ahead of the real one by now.
    expect(scheduler.templateClockTime().getTime()).toBeGreaterThan(Date.now() + 3_600_000);
  });

  it('keeps schedules created through the API on the real clock', async () => {
    const { client, lambda } = await start({ schedules: [templateSchedule('minutely')] });

    await client.send(
      new CreateScheduleCommand(
        sleepSchedule('api-minutely', 'rate(1 minute)', {
          Target: { Arn: WORKER_ARN, RoleArn: ROLE_ARN, Input: CONTEXT_INPUT },
        }),
      ),
    );
    await eventually(
      () => expect(fired(lambda, 'minutely').length).toBeGreaterThanOrEqual(4),
      5000,
    );

    // Four virtual minutes went by for the template's; the API's fired once, when created.
    expect(fired(lambda, 'api-minutely')).toHaveLength(1);
  });

  it('never fires a DISABLED template schedule', async () => {
    const { lambda, client } = await start({
      schedules: [templateSchedule('minutely'), templateSchedule('paused', { state: 'DISABLED' })],
    });

    await eventually(
      () => expect(fired(lambda, 'minutely').length).toBeGreaterThanOrEqual(3),
      5000,
    );

    expect(fired(lambda, 'paused')).toEqual([]);
    const paused = await client.send(new GetScheduleCommand({ Name: 'paused', GroupName: 'jobs' }));
    expect(paused.State).toBe('DISABLED');
  });

  it('first fires a rate() at its StartDate', async () => {
    const now = Date.now();
    const startDate = Math.ceil(now / 1000) * 1000 + 10 * 60_000; // 10 virtual minutes: ~0.6 s

    const { lambda } = await start({ schedules: [templateSchedule('later', { startDate })] });
    await sleep(200);
    const early = fired(lambda).length;

    expect(early).toBe(0);
    await eventually(() => expect(fired(lambda).length).toBeGreaterThanOrEqual(1), 5000);
    expect(fired(lambda)[0]?.at).toBe(`${new Date(startDate).toISOString().slice(0, 19)}Z`);
  });

  it('stops firing before its EndDate, and says so once', async () => {
    // prepare: occurrences at 0, 1, 2 and 3 virtual minutes, then the end (0.6 s each)
    const env: LocalEnv = { ...TEST_ENV, timeScale: 1, scheduleScale: 0.01 };
    const endDate = Date.now() + 3.5 * 60_000;

    // act
    const { lambda, log, scheduler } = await start({
      env,
      schedules: [templateSchedule('bounded', { endDate })],
    });

    // assess
    await eventually(
      () => expect(log.textOf('scheduler').join('\n')).toContain('has no occurrence left'),
      10_000,
    );
    const at = times(fired(lambda));
    expect(at.length).toBeGreaterThanOrEqual(2);
    expect(at.length).toBeLessThanOrEqual(4);
    for (const time of at) expect(time).toBeLessThan(endDate);
    expect(scheduler.nextFireTime('bounded', 'jobs')).toBeUndefined();
    await sleep(700);
    expect(times(fired(lambda))).toEqual(at);
  });

  it('fires a one-time template schedule at its virtual time, and not one whose time is before the start', async () => {
    const inTwoMinutes = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2 * 60_000);
    const expression = (date: Date) => `at(${date.toISOString().slice(0, 19)})`;

    const { lambda, log } = await start({
      schedules: [
        templateSchedule('soon', { expression: expression(inTwoMinutes) }),
        templateSchedule('bygone', { expression: 'at(2020-01-01T00:00:00)' }),
      ],
    });

    await eventually(() => expect(fired(lambda, 'soon')).toHaveLength(1), 5000);
    expect(fired(lambda, 'soon')[0]?.at).toBe(`${inTwoMinutes.toISOString().slice(0, 19)}Z`);
    expect(fired(lambda, 'bygone')).toEqual([]);
    expect(log.textOf('scheduler').join('\n')).toContain("is before the local cloud's start");
  });

  it('fires within a flexible time window, the scheduled time unchanged', async () => {
    // A 10-minute window and a draw of 0.5: each firing 5 virtual minutes (300 ms) late.
    const before = Date.now();
    const { lambda } = await start({
      random: () => 0.5,
      schedules: [
        templateSchedule('flexible', {
          expression: 'rate(1 hour)',
          flexibleTimeWindow: { mode: 'FLEXIBLE', maximumWindowInMinutes: 10 },
        }),
      ],
    });

    await eventually(() => expect(lambda.invocations).toHaveLength(1), 5000);

    expect(lambda.invocations[0]?.at).toBeGreaterThanOrEqual(before + 290);
    // The occurrence (the creation, to the second), not the 5 virtual minutes later it ran at.
    const scheduled = Date.parse(fired(lambda)[0]?.at ?? '');
    expect(scheduled).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(scheduled).toBeLessThan(before + 60_000);
  });
});

describe('template schedules and the API', () => {
  it('lists and gets them like any other, and never writes them to the data directory', async () => {
    // prepare
    const file = join(mkdtempSync(join(tmpdir(), 'scheduler-template-')), 'scheduler.json');
    const nightly = templateSchedule('nightly', {
      expression: 'cron(0 6 * * ? *)',
      timezone: 'Europe/London',
    });

    // act
    const { client } = await start({ schedules: [nightly], stateFile: file });
    await client.send(
      new CreateScheduleCommand(sleepSchedule('api-made', 'at(2099-01-01T00:00:00)')),
    );
    const listed = await client.send(new ListSchedulesCommand({ GroupName: 'jobs' }));
    const got = await client.send(new GetScheduleCommand({ Name: 'nightly', GroupName: 'jobs' }));

    // assess
    expect(listed.Schedules?.map((s) => s.Name)).toEqual(['api-made', 'nightly']);
    expect(got).toMatchObject({
      ScheduleExpression: 'cron(0 6 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/London',
      Target: { Arn: WORKER_ARN, Input: CONTEXT_INPUT, RetryPolicy: { MaximumRetryAttempts: 185 } },
    });
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { schedules: { name: string }[] };
    expect(saved.schedules.map((s) => s.name)).toEqual(['api-made']);
  });

  it('recreates them at the next start from the template', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'scheduler-template-')), 'scheduler.json');
    const nightly = templateSchedule('nightly', { expression: 'cron(0 6 * * ? *)' });
    const first = await start({ schedules: [nightly], stateFile: file });
    await first.client.send(
      new CreateScheduleCommand(sleepSchedule('kept', 'at(2099-01-01T00:00:00)')),
    );
    await first.close();
    running.splice(running.indexOf(first), 1);

    const second = await start({ schedules: [nightly], stateFile: file });

    expect(second.scheduler.list().map((s) => s.name)).toEqual(['kept', 'nightly']);
    expect(second.scheduler.nextFireTime('nightly', 'jobs')?.toISOString()).toMatch(
      /T06:00:00\.000Z$/,
    );
  });

  it('logs a template schedule AWS would refuse and leaves it out', async () => {
    const { scheduler, log } = await start({
      schedules: [
        templateSchedule('bad', { expression: 'rate(0 minutes)' }),
        templateSchedule('lost', { groupName: 'no-such-group' }),
      ],
    });

    expect(scheduler.list()).toEqual([]);
    const text = log.textOf('scheduler').join('\n');
    expect(text).toContain('template schedule badSchedule (jobs/bad) is not created');
    expect(text).toContain('Schedule group no-such-group does not exist.');
  });
});

describe('templateScheduleNotes', () => {
  it('names what of each schedule does not run: other targets, retries, dead-letter queues, KMS', () => {
    const queue = `arn:aws:sqs:${REGION}:${ACCOUNT}:wake-ups`;
    const schedules = [
      templateSchedule('plain', {
        target: {
          arn: WORKER_ARN,
          roleArn: ROLE_ARN,
          retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeSeconds: 60 },
        },
      }),
      templateSchedule('retried'),
      templateSchedule('to-queue', {
        kmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1`,
        target: {
          arn: queue,
          roleArn: ROLE_ARN,
          retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeSeconds: 60 },
          deadLetterArn: `${queue}-dlq`,
        },
      }),
    ];

    const notes = templateScheduleNotes(schedules, (arn) => arn === WORKER_ARN);

    expect(notes).toEqual([
      `Schedule jobs/to-queue: its target ${queue} is not emulated (only the template's Lambda functions are invoked); it fires without invoking anything`,
      "Schedules jobs/retried: the target's retry policy is not applied (one attempt to hand the event to Lambda, whose own async retries apply)",
      'Schedules jobs/to-queue: the dead-letter queue is not emulated',
      'Schedules jobs/to-queue: KmsKeyArn is ignored (nothing is encrypted locally)',
    ]);
  });
});
