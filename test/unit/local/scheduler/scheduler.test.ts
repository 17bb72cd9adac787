/**
 * The local EventBridge Scheduler through the real SDK client: the API
 * (create, get, update, list, delete and their errors) and the firing of
 * one-time schedules on their timers. Firing tests use times one or two
 * seconds ahead (`at()` has whole seconds) and check lower bounds only.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  GetScheduleCommand,
  GetScheduleGroupCommand,
  ListSchedulesCommand,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalLambda } from '../../../../local/lambda';
import { eventually, fixtureSpec, TEST_ENV } from '../../../fixtures/lambda/harness';
import {
  atSecond,
  eventuallyAsync,
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
const lambdas: LocalLambda[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((harness) => harness.close()));
  await Promise.all(lambdas.splice(0).map((lambda) => lambda.close()));
});

async function start(options: Parameters<typeof startScheduler>[0] = {}) {
  const lambda = options.lambda ?? new RecordingLambda();
  const harness = await startScheduler({ ...options, lambda });
  running.push(harness);
  return { ...harness, lambda: lambda as RecordingLambda };
}

const FAR_FUTURE = 'at(2099-12-07T03:40:05)';

describe('the API', () => {
  it('creates a schedule and returns it as GetSchedule, with the defaults filled in', async () => {
    // prepare
    const { client } = await start();

    // act
    const created = await client.send(
      new CreateScheduleCommand({
        Name: 'plain',
        ScheduleExpression: FAR_FUTURE,
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: WORKER_ARN, RoleArn: ROLE_ARN, Input: '{"a":1}' },
      }),
    );
    const got = await client.send(new GetScheduleCommand({ Name: 'plain' }));

    // assess
    expect(created.ScheduleArn).toBe(
      `arn:aws:scheduler:${TEST_ENV.region}:${TEST_ENV.accountId}:schedule/default/plain`,
    );
    expect(got).toMatchObject({
      Arn: created.ScheduleArn,
      Name: 'plain',
      GroupName: 'default',
      ScheduleExpression: FAR_FUTURE,
      State: 'ENABLED',
      ActionAfterCompletion: 'NONE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: WORKER_ARN, RoleArn: ROLE_ARN, Input: '{"a":1}' },
    });
    expect(got.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs((got.CreationDate?.getTime() ?? 0) - Date.now())).toBeLessThan(5000);
  });

  it('keeps schedules per group: a group of the template, and the default group', async () => {
    const { client } = await start();
    await client.send(new CreateScheduleCommand(sleepSchedule('same', FAR_FUTURE)));
    await client.send(
      new CreateScheduleCommand(sleepSchedule('same', FAR_FUTURE, { GroupName: undefined })),
    );

    const inJobs = await client.send(new GetScheduleCommand({ Name: 'same', GroupName: 'jobs' }));
    const group = await client.send(new GetScheduleGroupCommand({ Name: 'jobs' }));

    expect(inJobs.Arn).toMatch(/:schedule\/jobs\/same$/);
    expect(inJobs.ActionAfterCompletion).toBe('DELETE');
    expect((await client.send(new GetScheduleCommand({ Name: 'same' }))).GroupName).toBe('default');
    expect(group).toMatchObject({ Arn: JOBS_GROUP.arn, Name: 'jobs', State: 'ACTIVE' });
  });

  it('refuses a second schedule of the same name in a group with ConflictException (409)', async () => {
    const { client } = await start();
    await client.send(new CreateScheduleCommand(sleepSchedule('twice', FAR_FUTURE)));

    const second = client.send(new CreateScheduleCommand(sleepSchedule('twice', FAR_FUTURE)));

    await expect(second).rejects.toMatchObject({
      name: 'ConflictException',
      message: 'Schedule twice already exists.',
      $metadata: { httpStatusCode: 409 },
    });
  });

  it('answers the same create retried with its client token with the first answer', async () => {
    const { client } = await start();
    const input = { ...sleepSchedule('retried', FAR_FUTURE), ClientToken: 'token-1' };
    const first = await client.send(new CreateScheduleCommand(input));

    const again = await client.send(new CreateScheduleCommand(input));

    expect(again.ScheduleArn).toBe(first.ScheduleArn);
  });

  it('answers ResourceNotFoundException (404) for a missing schedule or group', async () => {
    const { client } = await start();

    const missing = client.send(new GetScheduleCommand({ Name: 'nope', GroupName: 'jobs' }));
    const deleteMissing = client.send(new DeleteScheduleCommand({ Name: 'nope' }));
    const noGroup = client.send(
      new CreateScheduleCommand(sleepSchedule('x', FAR_FUTURE, { GroupName: 'no-such-group' })),
    );

    await expect(missing).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Schedule nope does not exist.',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(deleteMissing).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(noGroup).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Schedule group no-such-group does not exist.',
    });
  });

  it.each([
    ['a name with a space', sleepSchedule('bad name', FAR_FUTURE), /regular expression pattern/],
    [
      'a name of 65 characters',
      sleepSchedule('n'.repeat(65), FAR_FUTURE),
      /length between 1 and 64/,
    ],
    [
      'an at() with month 13',
      sleepSchedule('x', 'at(2026-13-01T00:00:00)'),
      /Invalid Schedule Expression/,
    ],
    [
      'an at() without seconds',
      sleepSchedule('x', 'at(2026-12-07T03:40)'),
      /Invalid Schedule Expression/,
    ],
    ['a rate of 0 minutes', sleepSchedule('x', 'rate(0 minutes)'), /Invalid Schedule Expression/],
    [
      'an unknown time zone',
      sleepSchedule('x', FAR_FUTURE, { ScheduleExpressionTimezone: 'Mars/Olympus' }),
      /time zone/,
    ],
    [
      'an unknown window mode',
      sleepSchedule('x', FAR_FUTURE, { FlexibleTimeWindow: { Mode: 'SOMETIMES' } }),
      /enum value set: \[OFF, FLEXIBLE\]/,
    ],
    [
      'a flexible window without its size',
      sleepSchedule('x', FAR_FUTURE, { FlexibleTimeWindow: { Mode: 'FLEXIBLE' } }),
      /MaximumWindowInMinutes/,
    ],
    [
      'a window of 1441 minutes',
      sleepSchedule('x', FAR_FUTURE, {
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 1441 },
      }),
      /between 1 and 1440/,
    ],
    [
      'no target',
      sleepSchedule('x', FAR_FUTURE, { Target: undefined }),
      /'target' failed to satisfy constraint: Member must not be null/,
    ],
    [
      'a role that is not a role ARN',
      sleepSchedule('x', FAR_FUTURE, { Target: { Arn: WORKER_ARN, RoleArn: 'admin' } }),
      /target.roleArn/,
    ],
    [
      'an unknown ActionAfterCompletion',
      sleepSchedule('x', FAR_FUTURE, { ActionAfterCompletion: 'ARCHIVE' }),
      /\[NONE, DELETE\]/,
    ],
    [
      'a retry policy of 186 attempts',
      sleepSchedule('x', FAR_FUTURE, {
        Target: { Arn: WORKER_ARN, RoleArn: ROLE_ARN, RetryPolicy: { MaximumRetryAttempts: 186 } },
      }),
      /between 0 and 185/,
    ],
  ])('refuses %s with ValidationException (400)', async (_case, input, message) => {
    const { client, scheduler } = await start();

    // Invalid on purpose: past the SDK's types, as a caller without them could send it.
    const created = client.send(new CreateScheduleCommand(input as CreateScheduleCommandInput));

    await expect(created).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(message),
      $metadata: { httpStatusCode: 400 },
    });
    expect(scheduler.list()).toEqual([]);
  });

  it('lists schedules by group, name prefix and state, a page at a time', async () => {
    const { client } = await start();
    for (const name of ['sleep-b', 'sleep-a', 'other', 'sleep-c']) {
      await client.send(new CreateScheduleCommand(sleepSchedule(name, FAR_FUTURE)));
    }
    await client.send(
      new CreateScheduleCommand(sleepSchedule('sleep-d', FAR_FUTURE, { State: 'DISABLED' })),
    );
    await client.send(
      new CreateScheduleCommand(sleepSchedule('sleep-z', FAR_FUTURE, { GroupName: undefined })),
    );

    const first = await client.send(
      new ListSchedulesCommand({ GroupName: 'jobs', NamePrefix: 'sleep-', MaxResults: 2 }),
    );
    const second = await client.send(
      new ListSchedulesCommand({
        GroupName: 'jobs',
        NamePrefix: 'sleep-',
        MaxResults: 2,
        NextToken: first.NextToken,
      }),
    );
    const disabled = await client.send(new ListSchedulesCommand({ State: 'DISABLED' }));

    expect(first.Schedules?.map((s) => s.Name)).toEqual(['sleep-a', 'sleep-b']);
    expect(first.NextToken).toBeDefined();
    expect(second.Schedules?.map((s) => s.Name)).toEqual(['sleep-c', 'sleep-d']);
    expect(second.NextToken).toBeUndefined();
    expect(first.Schedules?.[0]).toMatchObject({ GroupName: 'jobs', Target: { Arn: WORKER_ARN } });
    expect(disabled.Schedules?.map((s) => s.Name)).toEqual(['sleep-d']);
  });
});

describe('firing', () => {
  it('fires a rate() schedule at once when it is created, on the real clock, and a cron() at its minute only', async () => {
    // prepare: at the test's scale a virtual minute would last 60 ms; API schedules ignore it
    const { client, lambda, scheduler } = await start();

    // act
    await client.send(new CreateScheduleCommand(sleepSchedule('every-minute', 'rate(1 minute)')));
    await client.send(new CreateScheduleCommand(sleepSchedule('nightly', 'cron(0 3 * * ? *)')));
    await sleep(300);

    // assess
    expect(lambda.invocations.map((i) => i.payload)).toEqual(['{"wake":"every-minute"}']);
    const next = scheduler.nextFireTime('every-minute', 'jobs')?.getTime() ?? 0;
    expect(next - Date.now()).toBeGreaterThan(50_000);
    const nightly = scheduler.nextFireTime('nightly', 'jobs');
    expect(nightly?.toISOString()).toMatch(/T03:00:00\.000Z$/);
    const got = await client.send(new GetScheduleCommand({ Name: 'nightly', GroupName: 'jobs' }));
    expect(got.ScheduleExpression).toBe('cron(0 3 * * ? *)');
  });

  it('replaces the context attributes of the Input, for a one-time schedule too', async () => {
    const { client, lambda } = await start();
    const input = JSON.stringify({
      arn: '<aws.scheduler.schedule-arn>',
      at: '<aws.scheduler.scheduled-time>',
      id: '<aws.scheduler.execution-id>',
      attempt: '<aws.scheduler.attempt-number>',
    });

    await client.send(
      new CreateScheduleCommand(
        sleepSchedule('with-context', 'at(2020-01-02T03:04:05)', {
          Target: { Arn: WORKER_ARN, RoleArn: ROLE_ARN, Input: input },
        }),
      ),
    );

    await eventually(() => expect(lambda.invocations).toHaveLength(1), 1000);
    expect(JSON.parse(lambda.invocations[0]?.payload ?? '')).toEqual({
      arn: `arn:aws:scheduler:${TEST_ENV.region}:${TEST_ENV.accountId}:schedule/jobs/with-context`,
      at: '2020-01-02T03:04:05Z',
      id: expect.stringMatching(/^[0-9a-z]{16}$/),
      attempt: '1',
    });
  });

  it('delays a schedule with a flexible time window by a draw within it, keeping its scheduled time', async () => {
    // prepare: a one-minute window and a draw of 0.01: 600 ms after the time
    const { client, lambda } = await start({ random: () => 0.01 });
    const { expression, at } = atSecond(Date.now() + 1000);

    // act
    await client.send(
      new CreateScheduleCommand(
        sleepSchedule('flexible', expression, {
          FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 1 },
          Target: { Arn: WORKER_ARN, RoleArn: ROLE_ARN, Input: '"<aws.scheduler.scheduled-time>"' },
        }),
      ),
    );

    // assess
    await eventually(() => expect(lambda.invocations).toHaveLength(1), 4000);
    expect(lambda.invocations[0]?.at).toBeGreaterThanOrEqual(at + 600);
    expect(lambda.invocations[0]?.payload).toBe(`"${new Date(at).toISOString().slice(0, 19)}Z"`);
  });

  it('invokes the target asynchronously with the Input at the time, then deletes the schedule', async () => {
    // prepare
    const { client, lambda } = await start();
    const { expression, at } = atSecond(Date.now() + 1000);

    // act
    await client.send(new CreateScheduleCommand(sleepSchedule('wake', expression)));
    await client.send(new CreateScheduleCommand(sleepSchedule('cancelled', expression)));
    await client.send(new DeleteScheduleCommand({ Name: 'cancelled', GroupName: 'jobs' }));
    const before = lambda.invocations.length;

    // assess
    await eventually(() => expect(lambda.invocations).toHaveLength(1), 4000);
    expect(before).toBe(0);
    expect(lambda.invocations[0]).toMatchObject({
      functionRef: WORKER_ARN,
      payload: '{"wake":"wake"}',
      type: 'Event',
    });
    expect(lambda.invocations[0]?.at).toBeGreaterThanOrEqual(at);
    await eventuallyAsync(async () => {
      await expect(
        client.send(new GetScheduleCommand({ Name: 'wake', GroupName: 'jobs' })),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    }, 1000);
    await sleep(200);
    expect(lambda.invocations).toHaveLength(1); // not the deleted one
  });

  it('fires a schedule whose time is past at once, and keeps it ENABLED with ActionAfterCompletion NONE', async () => {
    const { client, lambda, scheduler } = await start();

    await client.send(
      new CreateScheduleCommand(
        sleepSchedule('late', 'at(2020-01-01T00:00:00)', { ActionAfterCompletion: 'NONE' }),
      ),
    );
    await eventually(() => expect(lambda.invocations).toHaveLength(1), 1000);
    await scheduler.whenIdle();

    const kept = await client.send(new GetScheduleCommand({ Name: 'late', GroupName: 'jobs' }));
    expect(kept).toMatchObject({ State: 'ENABLED', ActionAfterCompletion: 'NONE' });
    await sleep(100);
    expect(lambda.invocations).toHaveLength(1);
  });

  it('does not fire a DISABLED schedule, and fires it once it is updated to ENABLED', async () => {
    const { client, lambda } = await start();
    const disabled = sleepSchedule('paused', 'at(2020-01-01T00:00:00)', { State: 'DISABLED' });

    await client.send(new CreateScheduleCommand(disabled));
    await sleep(300);
    const whileDisabled = lambda.invocations.length;
    await client.send(new UpdateScheduleCommand({ ...disabled, State: 'ENABLED' }));

    expect(whileDisabled).toBe(0);
    await eventually(() => expect(lambda.invocations).toHaveLength(1), 1000);
  });

  it('reads the time in ScheduleExpressionTimezone', async () => {
    const { client, lambda } = await start();
    // Ten hours ahead of UTC all year (no daylight saving in Brisbane).
    const brisbane = new Date(Date.now() + 10 * 3_600_000 + 1000);
    const { at } = atSecond(Date.now() + 1000);
    const expression = `at(${new Date(Math.ceil(brisbane.getTime() / 1000) * 1000).toISOString().slice(0, 19)})`;

    await client.send(
      new CreateScheduleCommand(
        sleepSchedule('zoned', expression, { ScheduleExpressionTimezone: 'Australia/Brisbane' }),
      ),
    );
    await sleep(Math.max(0, at - Date.now() - 300));
    const early = lambda.invocations.length;

    expect(early).toBe(0);
    await eventually(() => expect(lambda.invocations).toHaveLength(1), 2000);
    expect(lambda.invocations[0]?.at).toBeGreaterThanOrEqual(at);
  });

  it('logs a target it does not emulate, invokes nothing, and completes the schedule', async () => {
    const { client, lambda, log } = await start();
    const queue = `arn:aws:sqs:${TEST_ENV.region}:${TEST_ENV.accountId}:wake-ups`;

    await client.send(
      new CreateScheduleCommand(
        sleepSchedule('to-sqs', 'at(2020-01-01T00:00:00)', {
          Target: { Arn: queue, RoleArn: ROLE_ARN, Input: 'hello' },
        }),
      ),
    );

    await eventually(() =>
      expect(log.textOf('scheduler').join('\n')).toContain(`target ${queue} is not emulated`),
    );
    expect(lambda.invocations).toEqual([]);
    await eventuallyAsync(async () => {
      await expect(
        client.send(new GetScheduleCommand({ Name: 'to-sqs', GroupName: 'jobs' })),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    }, 1000);
  });

  it('runs the function through the local Lambda with the Input as its event', async () => {
    const lambda = new LocalLambda({
      env: TEST_ENV,
      functions: [fixtureSpec('echo', { name: 'Worker' })],
      log: { line: (source, text) => logged.push(`${source}: ${text}`) },
    });
    lambdas.push(lambda);
    const logged: string[] = [];
    const { client } = await start({ lambda: lambda as unknown as RecordingLambda });

    await client.send(new CreateScheduleCommand(sleepSchedule('real', 'at(2020-01-01T00:00:00)')));

    await eventually(() => expect(logged.join('\n')).toContain('echo {"wake":"real"}'), 10_000);
  });
});

describe('the data directory', () => {
  function stateFile(): string {
    return join(mkdtempSync(join(tmpdir(), 'scheduler-test-')), 'data', 'scheduler.json');
  }

  it('fires a schedule that came due while the local cloud was down as soon as it starts again', async () => {
    // prepare: created, then the cloud stops before its time
    const file = stateFile();
    const first = await start({ stateFile: file });
    const { expression, at } = atSecond(Date.now() + 500);
    await first.client.send(new CreateScheduleCommand(sleepSchedule('across', expression)));
    await first.close();
    running.splice(running.indexOf(first), 1);
    await sleep(Math.max(0, at - Date.now() + 100));

    // act
    const second = await start({ stateFile: file });

    // assess
    expect(first.lambda.invocations).toEqual([]);
    await eventually(() => expect(second.lambda.invocations).toHaveLength(1), 1000);
    expect(second.lambda.invocations[0]?.payload).toBe('{"wake":"across"}');
    await second.scheduler.whenIdle();
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { schedules: unknown[] };
    expect(saved.schedules).toEqual([]);
    expect(readdirSync(join(file, '..'))).toEqual(['scheduler.json']); // no temporary file left
  });

  it('does not fire again, after a restart, a one-time schedule kept with NONE', async () => {
    const file = stateFile();
    const first = await start({ stateFile: file });
    await first.client.send(
      new CreateScheduleCommand(
        sleepSchedule('once', 'at(2020-01-01T00:00:00)', { ActionAfterCompletion: 'NONE' }),
      ),
    );
    await eventually(() => expect(first.lambda.invocations).toHaveLength(1), 1000);
    await first.scheduler.whenIdle();

    const second = await start({ stateFile: file });
    await sleep(200);

    expect(second.lambda.invocations).toEqual([]);
    const kept = await second.client.send(
      new GetScheduleCommand({ Name: 'once', GroupName: 'jobs' }),
    );
    expect(kept.State).toBe('ENABLED');
  });

  it('keeps schedules in memory only without a data directory', async () => {
    const first = await start();
    await first.client.send(new CreateScheduleCommand(sleepSchedule('gone', FAR_FUTURE)));

    const second = await start();

    expect(first.scheduler.list()).toHaveLength(1);
    expect(second.scheduler.list()).toEqual([]);
  });
});
