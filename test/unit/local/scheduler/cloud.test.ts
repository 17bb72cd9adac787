/**
 * The Scheduler inside a running local cloud: routed by its signing name on
 * the AWS endpoint with SigV4 checked, its groups read from the template, and
 * a schedule's target run by the cloud's own Lambda; the template's own
 * schedules created at start.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateScheduleCommand,
  GetScheduleGroupCommand,
  ListSchedulesCommand,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningLocalCloud, startLocalCloud } from '../../../../local/cloud';
import { eventually, RecordingLog } from '../../../fixtures/lambda/harness';
import { ROLE_ARN } from './harness';

const SMALL = join(import.meta.dirname, '../../../fixtures/assembly/small');

let cloud: RunningLocalCloud | undefined;
afterEach(async () => {
  await cloud?.stop();
  cloud = undefined;
});

/** The small fixture stack plus two schedule groups (one named, one not) and a recurring schedule. */
function assemblyWithSchedulerResources(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scheduler-assembly-'));
  cpSync(SMALL, dir, { recursive: true });
  const path = join(dir, 'Small.template.json');
  const template = JSON.parse(readFileSync(path, 'utf8')) as {
    Resources: Record<string, unknown>;
  };
  template.Resources.JobsGroup = {
    Type: 'AWS::Scheduler::ScheduleGroup',
    Properties: { Name: 'jobs' },
  };
  template.Resources.UnnamedGroup = { Type: 'AWS::Scheduler::ScheduleGroup' };
  template.Resources.Nightly = {
    Type: 'AWS::Scheduler::Schedule',
    Properties: {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: { 'Fn::GetAtt': ['Worker', 'Arn'] }, RoleArn: ROLE_ARN },
    },
  };
  writeFileSync(path, JSON.stringify(template));
  return dir;
}

describe('the Scheduler in the local cloud', () => {
  it("fires a function's schedule through the cloud's Lambda, in a group of the template", async () => {
    // prepare
    const log = new RecordingLog();
    cloud = await startLocalCloud({
      assemblyDir: assemblyWithSchedulerResources(),
      apiPort: 0,
      awsPort: 0,
      ttlSweepIntervalMs: 0,
      dataDir: mkdtempSync(join(tmpdir(), 'scheduler-data-')),
      log,
    });
    const user = cloud.users[0];
    if (!user) throw new Error('no local user');
    const client = new SchedulerClient({
      endpoint: cloud.awsEndpoint,
      region: cloud.region,
      credentials: user,
      maxAttempts: 1,
    });
    const worker = cloud.services.lambda.functionList().find((fn) => fn.logicalId === 'Worker');
    if (!worker) throw new Error('no worker');

    // act
    await client.send(
      new CreateScheduleCommand({
        Name: 'wake-up',
        GroupName: 'jobs',
        ScheduleExpression: 'at(2020-01-01T00:00:00)',
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        State: 'ENABLED',
        Target: { Arn: worker.arn, RoleArn: ROLE_ARN, Input: '{"wake":"up"}' },
      }),
    );
    const unnamed = await client.send(
      new GetScheduleGroupCommand({ Name: `${cloud.stackName}-UnnamedGroup` }),
    );

    // assess: the worker's OnSuccess destination (a queue) gets the record of the run
    await eventually(() => {
      const records = cloud?.services.sqs.contents().flatMap((queue) => queue.messages) ?? [];
      expect(records.map((m) => JSON.parse(m.body).requestPayload)).toContainEqual({
        wake: 'up',
      });
    }, 10_000);
    expect(unnamed.State).toBe('ACTIVE');
    expect(cloud.notes.join('\n')).not.toContain('AWS::Scheduler::Schedule');
    expect(cloud.notes.join('\n')).toContain(`Schedules default/${cloud.stackName}-Nightly-`);
    const inDefault = await client.send(new ListSchedulesCommand({ GroupName: 'default' }));
    expect(inDefault.Schedules?.map((s) => s.Name)).toEqual([
      expect.stringMatching(new RegExp(`^${cloud.stackName}-Nightly-[A-Z0-9]{12}$`)),
    ]);
    expect(
      cloud.services.scheduler.nextFireTime(inDefault.Schedules?.[0]?.Name ?? '')?.toISOString(),
    ).toMatch(/T03:00:00\.000Z$/);
    client.destroy();
  });
});
