/**
 * The timers of durable sleeps (`ctx.sleep`): an EventBridge Scheduler
 * schedule group that holds the stack's one-time wake-up schedules, the role
 * Scheduler assumes to invoke the worker, and the worker's own rights to make
 * schedules in that group and to hand a run to a fresh invocation of itself
 * (a continuation). Built in the construct's own scope, so the IDs are its.
 */
import { Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type { Construct } from 'constructs';
import { EnvVar } from '../core/config';
import { acknowledge, allow } from './lambda-function';

export interface SleepTimers {
  readonly group: scheduler.CfnScheduleGroup;
  readonly role: iam.Role;
  /** What the worker needs in its environment. */
  readonly environment: Record<string, string>;
}

/** The group and the role; made before the worker, whose environment names them. */
export function createSleepTimers(scope: Construct): SleepTimers {
  const group = new scheduler.CfnScheduleGroup(scope, 'TimerGroup', {});
  const role = new iam.Role(scope, 'TimerRole', {
    description: 'eventjobs: EventBridge Scheduler invokes the worker when a sleep ends',
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      // The confused-deputy guard AWS recommends for Scheduler's execution role.
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }),
  });
  return {
    group,
    role,
    environment: {
      [EnvVar.TimerRoleArn]: role.roleArn,
      [EnvVar.TimerGroupName]: group.ref,
    },
  };
}

/**
 * Grants, once the worker exists: the role may invoke the worker; the worker
 * may create schedules in the group only, pass the role to Scheduler only, and
 * invoke itself. The self-invoke is a policy of its own, not the role's
 * default policy, which the function depends on (a function's grant on itself
 * there would be a dependency cycle).
 */
export function grantSleepTimers(
  scope: Construct,
  timers: SleepTimers,
  worker: lambda.Function,
): void {
  timers.role.addToPolicy(allow(['lambda:InvokeFunction'], [worker.functionArn]));
  const stack = Stack.of(scope);
  const schedules = stack.formatArn({
    service: 'scheduler',
    resource: 'schedule',
    resourceName: `${timers.group.ref}/*`,
  });
  const role = worker.role;
  if (!role) throw new Error('The worker function has no role');
  const policy = new iam.Policy(scope, 'WorkerResumePolicy', {
    roles: [role],
    statements: [
      allow(['scheduler:CreateSchedule'], [schedules]),
      new iam.PolicyStatement({
        effect: iam.Effect.ALLOW,
        actions: ['iam:PassRole'],
        resources: [timers.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
      allow(['lambda:InvokeFunction'], [worker.functionArn]),
    ],
  });
  const groupId: unknown = stack.resolve(stack.getLogicalId(timers.group));
  acknowledge(
    policy,
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:' +
      `schedule/<${String(groupId)}>/*]`,
    'Each sleep makes a one-time schedule named after its run and sleep, so the names are not ' +
      "known at deploy time; the resource is narrowed to the stack's own timer group " +
      '(schedule/<group>/*), the narrowest scope CreateSchedule has.',
  );
}
