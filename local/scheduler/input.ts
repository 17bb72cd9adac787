/**
 * Reads and checks the body of CreateSchedule and UpdateSchedule against the
 * constraints of the EventBridge Scheduler API reference (lengths, patterns,
 * enums, ranges), so that what AWS refuses with `ValidationException` is
 * refused here too.
 */
import { constraintMessage, SchedulerValidationError } from './errors';
import { parseExpression } from './expression';

export type ScheduleState = 'ENABLED' | 'DISABLED';
export type ActionAfterCompletion = 'NONE' | 'DELETE';

/** The `Target` of a schedule, as the API takes and returns it. */
export interface ScheduleTarget {
  readonly Arn: string;
  readonly RoleArn: string;
  readonly Input?: string;
  readonly RetryPolicy?: {
    readonly MaximumEventAgeInSeconds?: number;
    readonly MaximumRetryAttempts?: number;
  };
  readonly DeadLetterConfig?: { readonly Arn?: string };
  /** Target-specific parameters (`SqsParameters`, `EcsParameters`, ...), kept as given. */
  readonly [parameters: string]: unknown;
}

export interface FlexibleTimeWindow {
  readonly Mode: 'OFF' | 'FLEXIBLE';
  readonly MaximumWindowInMinutes?: number;
}

/** What a CreateSchedule or UpdateSchedule asks for, checked, with AWS's defaults filled in. */
export interface ScheduleDefinition {
  readonly name: string;
  readonly groupName: string;
  readonly expression: string;
  readonly timezone?: string;
  readonly description?: string;
  /** Epoch milliseconds. */
  readonly startDate?: number;
  readonly endDate?: number;
  readonly state: ScheduleState;
  readonly actionAfterCompletion: ActionAfterCompletion;
  readonly flexibleTimeWindow: FlexibleTimeWindow;
  readonly target: ScheduleTarget;
  readonly kmsKeyArn?: string;
  readonly clientToken?: string;
}

const NAME = /^[0-9a-zA-Z-_.]+$/;
const NAME_RULE = 'Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+';
const ROLE_ARN = /^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const CLIENT_TOKEN = /^[a-zA-Z0-9-_]+$/;

/** A schedule or group name (1 to 64 of `[0-9a-zA-Z-_.]`). */
export function checkName(value: unknown, member: string): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 64) {
    throw new SchedulerValidationError(
      constraintMessage(value, member, 'Member must have length between 1 and 64'),
    );
  }
  if (!NAME.test(value))
    throw new SchedulerValidationError(constraintMessage(value, member, NAME_RULE));
  return value;
}

export function readDefinition(
  name: string,
  body: Readonly<Record<string, unknown>>,
): ScheduleDefinition {
  checkName(name, 'name');
  const groupName =
    body.GroupName === undefined ? 'default' : checkName(body.GroupName, 'groupName');
  const expression = text(body.ScheduleExpression, 'scheduleExpression', 1, 256, true);
  const timezone = text(body.ScheduleExpressionTimezone, 'scheduleExpressionTimezone', 1, 50);
  parseExpression(expression, timezone ?? 'UTC'); // refuses what AWS refuses
  const startDate = date(body.StartDate, 'startDate');
  const endDate = date(body.EndDate, 'endDate');
  if (startDate !== undefined && endDate !== undefined && endDate <= startDate) {
    throw new SchedulerValidationError('The EndDate must be after the StartDate.');
  }
  const clientToken = text(body.ClientToken, 'clientToken', 1, 64);
  if (clientToken !== undefined && !CLIENT_TOKEN.test(clientToken)) {
    throw new SchedulerValidationError(
      constraintMessage(
        clientToken,
        'clientToken',
        'Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+',
      ),
    );
  }
  return {
    name,
    groupName,
    expression,
    timezone,
    description: text(body.Description, 'description', 0, 512),
    startDate,
    endDate,
    state: oneOf(body.State, 'state', ['ENABLED', 'DISABLED'] as const) ?? 'ENABLED',
    actionAfterCompletion:
      oneOf(body.ActionAfterCompletion, 'actionAfterCompletion', ['NONE', 'DELETE'] as const) ??
      'NONE',
    flexibleTimeWindow: readWindow(body.FlexibleTimeWindow),
    target: readTarget(body.Target),
    kmsKeyArn: text(body.KmsKeyArn, 'kmsKeyArn', 1, 2048),
    clientToken,
  };
}

function readWindow(value: unknown): FlexibleTimeWindow {
  const window = object(value, 'flexibleTimeWindow', true);
  const mode = oneOf(window.Mode, 'flexibleTimeWindow.mode', ['OFF', 'FLEXIBLE'] as const, true);
  const minutes = integer(
    window.MaximumWindowInMinutes,
    'flexibleTimeWindow.maximumWindowInMinutes',
    1,
    1440,
  );
  if (mode === 'FLEXIBLE' && minutes === undefined) {
    throw new SchedulerValidationError(
      'MaximumWindowInMinutes must be provided when FlexibleTimeWindow Mode is FLEXIBLE.',
    );
  }
  if (mode === 'OFF' && minutes !== undefined) {
    throw new SchedulerValidationError(
      'MaximumWindowInMinutes must not be provided when FlexibleTimeWindow Mode is OFF.',
    );
  }
  return minutes === undefined ? { Mode: mode } : { Mode: mode, MaximumWindowInMinutes: minutes };
}

function readTarget(value: unknown): ScheduleTarget {
  const target = object(value, 'target', true);
  text(target.Arn, 'target.arn', 1, 1600, true);
  const roleArn = text(target.RoleArn, 'target.roleArn', 1, 1600, true);
  if (!ROLE_ARN.test(roleArn)) {
    throw new SchedulerValidationError(
      constraintMessage(
        roleArn,
        'target.roleArn',
        `Member must satisfy regular expression pattern: ${ROLE_ARN.source.slice(1, -1)}`,
      ),
    );
  }
  text(target.Input, 'target.input', 1, Number.MAX_SAFE_INTEGER);
  if (target.RetryPolicy !== undefined) {
    const retry = object(target.RetryPolicy, 'target.retryPolicy');
    integer(
      retry.MaximumEventAgeInSeconds,
      'target.retryPolicy.maximumEventAgeInSeconds',
      60,
      86400,
    );
    integer(retry.MaximumRetryAttempts, 'target.retryPolicy.maximumRetryAttempts', 0, 185);
  }
  if (target.DeadLetterConfig !== undefined) {
    const dlq = object(target.DeadLetterConfig, 'target.deadLetterConfig');
    text(dlq.Arn, 'target.deadLetterConfig.arn', 1, 1600);
  }
  return target as ScheduleTarget;
}

function text(value: unknown, member: string, min: number, max: number, required: true): string;
function text(
  value: unknown,
  member: string,
  min: number,
  max: number,
  required?: boolean,
): string | undefined;
function text(value: unknown, member: string, min: number, max: number, required = false) {
  if (value === undefined || value === null) {
    if (required) throw new SchedulerValidationError(missing(member));
    return undefined;
  }
  if (typeof value !== 'string') {
    throw new SchedulerValidationError(constraintMessage(value, member, 'Member must be a string'));
  }
  if (value.length < min || value.length > max) {
    throw new SchedulerValidationError(
      constraintMessage(value, member, `Member must have length between ${min} and ${max}`),
    );
  }
  return value;
}

function integer(value: unknown, member: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SchedulerValidationError(
      constraintMessage(value, member, `Member must have value between ${min} and ${max}`),
    );
  }
  return value;
}

/** A timestamp of the body: epoch seconds, as restJson1 writes them. */
function date(value: unknown, member: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SchedulerValidationError(
      constraintMessage(value, member, 'Member must be a timestamp'),
    );
  }
  return Math.round(value * 1000);
}

function oneOf<const T extends string>(
  value: unknown,
  member: string,
  allowed: readonly T[],
  required: true,
): T;
function oneOf<const T extends string>(
  value: unknown,
  member: string,
  allowed: readonly T[],
  required?: boolean,
): T | undefined;
function oneOf<const T extends string>(
  value: unknown,
  member: string,
  allowed: readonly T[],
  required = false,
): T | undefined {
  if (value === undefined || value === null) {
    if (required) throw new SchedulerValidationError(missing(member));
    return undefined;
  }
  if (!allowed.includes(value as T)) {
    throw new SchedulerValidationError(
      constraintMessage(
        value,
        member,
        `Member must satisfy enum value set: [${allowed.join(', ')}]`,
      ),
    );
  }
  return value as T;
}

function object(
  value: unknown,
  member: string,
  required = false,
): Readonly<Record<string, unknown>> {
  if (value === undefined || value === null) {
    if (required) throw new SchedulerValidationError(missing(member));
    return {};
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new SchedulerValidationError(
      constraintMessage(value, member, 'Member must be a structure'),
    );
  }
  return value as Readonly<Record<string, unknown>>;
}

function missing(member: string): string {
  return constraintMessage(null, member, 'Member must not be null');
}
