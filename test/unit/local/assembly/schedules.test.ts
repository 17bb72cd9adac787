/**
 * loadStack on schedules made with aws-cdk-lib's `aws-scheduler` L2 (what the
 * construct synthesizes): a cron() in a time zone with a context attribute
 * and a function name joined into its Input, a disabled rate() with a
 * flexible window, dates, a retry policy and a dead-letter queue, and an
 * at() in the default group. The app is synthesized once into a temporary
 * directory and read back as the local cloud reads `cdk.out`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedStack, loadStack, readAssembly } from '../../../../local/assembly/stack';
import type { ScheduleSpec } from '../../../../local/contracts';
import { LocalScheduler } from '../../../../local/scheduler';
import { RecordingLog } from '../../../fixtures/lambda/harness';
import { RecordingLambda } from '../scheduler/harness';

const CONTEXT = {
  region: 'eu-west-1',
  accountId: '123456789012',
  partition: 'aws',
  apiEndpoint: (apiId: string) => `http://127.0.0.1:3000/apis/${apiId}`,
  sqsEndpoint: 'http://127.0.0.1:4566',
};
const STACK = 'Scheduled';

let assemblyDir = '';
let loaded: LoadedStack;
const ids: Record<'fn' | 'nightly' | 'every' | 'once' | 'dlq', string> = {
  fn: '',
  nightly: '',
  every: '',
  once: '',
  dlq: '',
};
let groupName = '';

function logicalIdOf(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return element.stack.getLogicalId(element);
}

beforeAll(() => {
  assemblyDir = mkdtempSync(join(tmpdir(), 'eventjobs-schedules-'));
  const app = new App({ outdir: assemblyDir });
  const stack = new Stack(app, STACK);
  const fn = new lambda.Function(stack, 'Report', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
  });
  const dlq = new sqs.Queue(stack, 'ScheduleDlq');
  const group = new scheduler.ScheduleGroup(stack, 'Reports');
  const nightly = new scheduler.Schedule(stack, 'Nightly', {
    scheduleGroup: group,
    schedule: scheduler.ScheduleExpression.cron({
      minute: '0',
      hour: '6',
      timeZone: TimeZone.EUROPE_LONDON,
    }),
    target: new targets.LambdaInvoke(fn, {
      input: scheduler.ScheduleTargetInput.fromObject({
        job: 'report',
        at: scheduler.ContextAttribute.scheduledTime,
        fn: fn.functionName,
      }),
    }),
  });
  const every = new scheduler.Schedule(stack, 'Every', {
    scheduleGroup: group,
    scheduleName: 'every-five',
    schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
    enabled: false,
    start: new Date('2026-01-01T00:00:00Z'),
    end: new Date('2027-01-01T00:00:00Z'),
    timeWindow: scheduler.TimeWindow.flexible(Duration.minutes(10)),
    target: new targets.LambdaInvoke(fn, {
      input: scheduler.ScheduleTargetInput.fromText('hi'),
      retryAttempts: 3,
      maxEventAge: Duration.hours(1),
      deadLetterQueue: dlq,
    }),
  });
  const once = new scheduler.Schedule(stack, 'Once', {
    // CDK writes the Date's UTC fields as the wall clock of the zone: 06:00 in New York.
    schedule: scheduler.ScheduleExpression.at(
      new Date('2099-12-07T06:00:00Z'),
      TimeZone.AMERICA_NEW_YORK,
    ),
    target: new targets.LambdaInvoke(fn, {}),
  });
  groupName = stack.resolve(group.scheduleGroupName) as string;
  Object.assign(ids, {
    fn: logicalIdOf(fn),
    nightly: logicalIdOf(nightly),
    every: logicalIdOf(every),
    once: logicalIdOf(once),
    dlq: logicalIdOf(dlq),
  });
  app.synth();
  loaded = loadStack(readAssembly(assemblyDir), CONTEXT);
}, 120_000);

afterAll(() => {
  if (assemblyDir) rmSync(assemblyDir, { recursive: true, force: true });
});

function schedule(logicalId: string): ScheduleSpec {
  const found = loaded.schedules.find((s) => s.logicalId === logicalId);
  if (!found) throw new Error(`no schedule ${logicalId}`);
  return found;
}

describe('loadStack on aws-scheduler L2 schedules', () => {
  it('reads each AWS::Scheduler::Schedule into the schedules, and none is left as not emulated', () => {
    expect(loaded.schedules.map((s) => s.logicalId).sort()).toEqual(
      [ids.nightly, ids.every, ids.once].sort(),
    );
    expect([...loaded.notEmulated.keys()]).not.toContain('AWS::Scheduler::Schedule');
    expect(loaded.scheduleGroups.map((g) => g.name)).toEqual([groupName]);
  });

  it('reads a cron() in its time zone with a generated name, its group, and its Input joined to JSON', () => {
    // prepare
    const fn = loaded.functions.find((f) => f.logicalId === ids.fn);

    // act
    const nightly = schedule(ids.nightly);

    // assess
    expect(nightly.name).toMatch(new RegExp(`^${STACK}-${ids.nightly}-[A-Z0-9]{12}$`));
    expect(nightly).toMatchObject({
      groupName,
      arn: `arn:aws:scheduler:eu-west-1:123456789012:schedule/${groupName}/${nightly.name}`,
      expression: 'cron(0 6 * * ? *)',
      timezone: 'Europe/London',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: fn?.arn,
        roleArn: expect.stringMatching(/^arn:aws:iam::123456789012:role\//),
        retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 },
      },
    });
    expect(nightly.startDate).toBeUndefined();
    expect(nightly.target.deadLetterArn).toBeUndefined();
    expect(JSON.parse(nightly.target.input ?? '')).toEqual({
      job: 'report',
      at: '<aws.scheduler.scheduled-time>',
      fn: fn?.name,
    });
  });

  it('reads a named, disabled rate() with its window, dates, retry policy and dead-letter queue', () => {
    const dlq = loaded.queues.find((q) => q.logicalId === ids.dlq);

    const every = schedule(ids.every);

    expect(every).toMatchObject({
      name: 'every-five',
      groupName,
      expression: 'rate(5 minutes)',
      state: 'DISABLED',
      startDate: Date.parse('2026-01-01T00:00:00Z'),
      endDate: Date.parse('2027-01-01T00:00:00Z'),
      flexibleTimeWindow: { mode: 'FLEXIBLE', maximumWindowInMinutes: 10 },
      target: {
        input: 'hi',
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeSeconds: 3600 },
        deadLetterArn: dlq?.arn,
      },
    });
  });

  it('reads an at() in the default group, without Input', () => {
    const once = schedule(ids.once);

    expect(once).toMatchObject({
      groupName: 'default',
      expression: 'at(2099-12-07T06:00:00)',
      timezone: 'America/New_York',
    });
    expect(once.target.input).toBeUndefined();
  });

  it('gives the local Scheduler schedules it creates as they are, in their groups', async () => {
    // prepare
    const local = new LocalScheduler({
      env: { ...CONTEXT, timeScale: 1 },
      lambda: new RecordingLambda(),
      log: new RecordingLog(),
      groups: loaded.scheduleGroups,
      schedules: loaded.schedules,
    });

    // act
    local.start();

    // assess: London is on UTC in winter, an hour ahead in summer
    const nightly = schedule(ids.nightly);
    expect(
      local
        .list()
        .map((s) => s.name)
        .sort(),
    ).toEqual([nightly.name, 'every-five', schedule(ids.once).name].sort());
    expect(local.nextFireTime(nightly.name, groupName)?.toISOString()).toMatch(
      /T0[56]:00:00\.000Z$/,
    );
    expect(local.nextFireTime('every-five', groupName)).toBeUndefined(); // DISABLED
    expect(local.nextFireTime(schedule(ids.once).name)?.toISOString()).toBe(
      '2099-12-07T11:00:00.000Z', // 06:00 EST
    );
    await local.close();
  });
});
