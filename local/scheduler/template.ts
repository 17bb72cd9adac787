/**
 * The template's `AWS::Scheduler::Schedule`s as the local Scheduler takes
 * them: each is read as the CreateSchedule request CloudFormation would send
 * (so it is checked as the API checks one), and what of it does not run here
 * is said once at start.
 */
import type { ScheduleSpec } from '../contracts';
import { readDefinition, type ScheduleDefinition } from './input';

/** The definition of a template schedule; throws `ValidationException` for what AWS would refuse. */
export function templateDefinition(spec: ScheduleSpec): ScheduleDefinition {
  const { target, flexibleTimeWindow: window } = spec;
  return readDefinition(spec.name, {
    GroupName: spec.groupName,
    ScheduleExpression: spec.expression,
    ScheduleExpressionTimezone: spec.timezone,
    Description: spec.description,
    // The request's timestamps are epoch seconds.
    StartDate: spec.startDate === undefined ? undefined : spec.startDate / 1000,
    EndDate: spec.endDate === undefined ? undefined : spec.endDate / 1000,
    State: spec.state,
    FlexibleTimeWindow: {
      Mode: window.mode,
      MaximumWindowInMinutes: window.maximumWindowInMinutes,
    },
    Target: {
      Arn: target.arn,
      RoleArn: target.roleArn,
      Input: target.input,
      RetryPolicy: {
        MaximumRetryAttempts: target.retryPolicy.maximumRetryAttempts,
        MaximumEventAgeInSeconds: target.retryPolicy.maximumEventAgeSeconds,
      },
      DeadLetterConfig:
        target.deadLetterArn === undefined ? undefined : { Arn: target.deadLetterArn },
    },
    KmsKeyArn: spec.kmsKeyArn,
  });
}

/**
 * What the template's schedules have that the local Scheduler does not run,
 * one note per feature naming the schedules: targets other than the
 * template's functions, retry policies, dead-letter queues, KMS keys.
 */
export function templateScheduleNotes(
  schedules: readonly ScheduleSpec[],
  isTemplateFunction: (arn: string) => boolean,
): string[] {
  const nameOf = (spec: ScheduleSpec) => `${spec.groupName}/${spec.name}`;
  const notes: string[] = [];
  const add = (matching: readonly ScheduleSpec[], text: (names: string) => string) => {
    if (matching.length > 0) notes.push(text(matching.map(nameOf).join(', ')));
  };
  for (const spec of schedules.filter((s) => !isTemplateFunction(s.target.arn))) {
    notes.push(
      `Schedule ${nameOf(spec)}: its target ${spec.target.arn} is not emulated (only the template's Lambda functions are invoked); it fires without invoking anything`,
    );
  }
  add(
    schedules.filter((s) => s.target.retryPolicy.maximumRetryAttempts > 0),
    (names) =>
      `Schedules ${names}: the target's retry policy is not applied (one attempt to hand the event to Lambda, whose own async retries apply)`,
  );
  add(
    schedules.filter((s) => s.target.deadLetterArn !== undefined),
    (names) => `Schedules ${names}: the dead-letter queue is not emulated`,
  );
  add(
    schedules.filter((s) => s.kmsKeyArn !== undefined),
    (names) => `Schedules ${names}: KmsKeyArn is ignored (nothing is encrypted locally)`,
  );
  return notes;
}
