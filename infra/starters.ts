/**
 * Starting jobs without an HTTP call: triggers (`AsyncJobs.startOn`, an
 * EventBridge rule on any bus) and schedules (`AsyncJobs.schedule`,
 * EventBridge Scheduler). Both invoke one starter function, which goes through
 * the same start path as `POST /jobs` (`functions/start-from-event`).
 *
 * Built on first use, in the AsyncJobs construct's own scope: a stack with no
 * trigger and no schedule has none of it.
 */
import { Duration, RemovalPolicy, Stack, TimeZone, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EnvVar } from '../core/config';
import { EVENT_SOURCE, JOB_REJECTED_EVENT_TYPE } from '../core/events';
import {
  checkNameTemplate,
  DEFAULT_SCHEDULE_NAME,
  type EventPath,
  encodeStarter,
  type InputMapping,
  isEventPath,
  type OverlapPolicy,
  ownerOfPrincipal,
  parsePath,
  pathsOf,
  STARTER_ID_PATTERN,
  STARTER_KEY,
  type StarterConfig,
} from '../core/triggers';
import { parseExpression } from '../local/scheduler/expression';
import type { AsyncJobsParts } from './async-jobs';
import { deadLetterQueue } from './dead-letters';
import { acknowledge, allow } from './lambda-function';

/** The value of a job taken from the event at a JSON path: `eventPath('$.detail.requestId')`. */
export function eventPath(path: string): EventPath {
  parsePath(path);
  return { path };
}

/** A rule to create on a bus (the default bus when none is given). */
export interface StartOnPattern {
  readonly eventPattern: events.EventPattern;
  /** @default - the account's default event bus */
  readonly eventBus?: events.IEventBus;
  readonly description?: string;
}

/** What a trigger starts. */
export interface StartOnOptions {
  /**
   * The trigger's id: recorded on each job it starts (`startedBy`) and part of
   * how a redelivered event is recognised. Keep it stable.
   *
   * @default - `Trigger<n>`, in the order triggers are added
   */
  readonly id?: string;
  /** The job type: a name of `jobTypes.entry`, or a path into the event. */
  readonly type: string | EventPath;
  /**
   * The job name (a path into the event). A name shared by two events makes
   * the second one a repeat of the first while it runs.
   *
   * @default - the event's id
   */
  readonly name?: EventPath;
  /**
   * The job's input: a path into the event, or an object of paths and fixed
   * values.
   *
   * @default eventPath('$.detail')
   */
  readonly input?: InputMapping;
  /**
   * Who owns the jobs: an IAM principal ARN (the identity whose API calls see
   * them), or a path into the event. Take the owner from the event only on a
   * bus whose publishers you trust with it: whoever may put events there may
   * start jobs as any owner.
   */
  readonly owner: string | EventPath;
  /** The jobs' `timeoutSeconds`. @default - the type's default */
  readonly timeoutSeconds?: number;
}

/** A schedule that starts a job. */
export interface ScheduleOptions {
  readonly type: string;
  /** `cron(...)`, `rate(...)` or `at(yyyy-mm-ddThh:mm:ss)`: EventBridge Scheduler's syntax. */
  readonly expression: string;
  /** An IANA time zone the expression is read in. @default 'UTC' */
  readonly timezone?: string;
  /** The job's input. @default {} */
  readonly input?: unknown;
  /**
   * The job name's template: `{id}` and `{scheduledTime}` (as `20261207T060000Z`)
   * are filled in. A name without `{scheduledTime}` lets only one run of it
   * exist at a time.
   *
   * @default '{id}-{scheduledTime}'
   */
  readonly name?: string;
  /** Who owns the jobs: an IAM principal ARN. */
  readonly owner: string;
  /**
   * `skip`: a firing while the schedule's previous run still runs (or waits in
   * the queue) starts nothing, and publishes `Job Rejected` (`OverlapSkipped`).
   * `allow`: it starts another run.
   *
   * @default 'skip'
   */
  readonly overlap?: OverlapPolicy;
  /** The jobs' `timeoutSeconds`. @default - the type's default */
  readonly timeoutSeconds?: number;
  /** @default true */
  readonly enabled?: boolean;
  readonly description?: string;
}

/**
 * The longest InputTemplate EventBridge accepts (AWS-FACTS); the trigger's
 * configuration travels in it.
 */
const MAX_INPUT_TEMPLATE_CHARS = 8192;

/** The longest principal ARN (`isPrincipalArn`): what a token owner may turn out to be. */
const MAX_OWNER_CHARS = 2048;

/** The starter function and what surrounds it. */
export class Starters {
  readonly starterFunction: lambda.Function;
  /** Events and firings that started no job: rejected ones (with the reason), and retries spent. */
  readonly deadLetterQueue: sqs.Queue;
  /** Routes `Job Rejected` to the dead-letter queue. */
  readonly rejectedRule: events.Rule;
  readonly deadLetterAlarm: cloudwatch.Alarm;
  /** The schedule group of the app's schedules (not the sleep timers' group). */
  readonly scheduleGroup: scheduler.ScheduleGroup;
  /**
   * The role Scheduler assumes for the app's schedules: it may invoke the
   * starter function (that ARN, no version or alias) and send to the start
   * dead-letter queue, nothing else; only Scheduler, for this account's
   * schedules of this group, may assume it.
   */
  readonly scheduleRole: iam.Role;

  readonly #parts: AsyncJobsParts;
  readonly #eventBus: events.IEventBus;
  readonly #ruleDeadLetterQueue: sqs.IQueue;
  readonly #ids = new Set<string>();
  /** Where the trigger rules and schedules go, so an app's ids never meet the construct's own. */
  readonly #triggerScope: Construct;
  readonly #scheduleScope: Construct;

  constructor(
    parts: AsyncJobsParts,
    eventBus: events.IEventBus,
    workerFunction: lambda.IFunction,
    ruleDeadLetterQueue: sqs.IQueue,
  ) {
    this.#parts = parts;
    this.#eventBus = eventBus;
    this.#ruleDeadLetterQueue = ruleDeadLetterQueue;
    const { scope, config, table } = parts;
    this.#triggerScope = new Construct(scope, 'Triggers');
    this.#scheduleScope = new Construct(scope, 'ScheduledJobs');
    this.deadLetterQueue = deadLetterQueue(scope, 'StartDeadLetterQueue');
    this.starterFunction = parts.createFunction({
      id: 'StartFromEvent',
      dir: 'start-from-event',
      jobTypesEntry: config.jobTypesEntry,
      description: 'eventjobs: starts jobs from trigger rules and schedules',
      memorySize: config.apiFunctionMemorySize,
      timeout: Duration.seconds(30),
      environment: {
        ...parts.tableEnvironment(),
        ...parts.limitsEnvironment(),
        [EnvVar.OwnerModel]: config.ownerModel,
        [EnvVar.WorkerFunctionName]: workerFunction.functionName,
        [EnvVar.MaxInputBytes]: String(config.maxInputBytes),
        [EnvVar.MaxEventBytes]: String(config.maxEventBytes),
        [EnvVar.EventBusName]: eventBus.eventBusName,
        [EnvVar.OutcomeRetentionSeconds]: String(config.outcomeRetentionSeconds),
      },
      statements: [
        // What start-job does (the run, its slots and queue entries), plus the starters'
        // own items (STARTED#, SCHEDULE#).
        allow(
          [
            'dynamodb:PutItem',
            'dynamodb:DeleteItem',
            'dynamodb:UpdateItem',
            'dynamodb:GetItem',
            'dynamodb:BatchGetItem',
            'dynamodb:Query',
          ],
          [table.tableArn],
        ),
        allow(['lambda:InvokeFunction'], [workerFunction.functionArn]),
        // `Job Queued` and `Job Rejected`.
        allow(['events:PutEvents'], [eventBus.eventBusArn]),
      ],
      options: {
        // Throttling or an unreachable worker: two more tries, then the event is kept.
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
        onFailure: new SqsDestination(this.deadLetterQueue),
      },
    });
    acknowledge(
      this.starterFunction,
      'Serverless-LambdaDLQ',
      'Failed asynchronous invocations go to the StartDeadLetterQueue through the ' +
        'OnFailure destination, which keeps the error with the event (a DLQ keeps only the event).',
    );
    this.rejectedRule = new events.Rule(scope, 'RejectedRule', {
      description:
        'eventjobs: keeps rejected trigger events and firings in the start dead-letter queue',
      eventBus,
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: [JOB_REJECTED_EVENT_TYPE],
        detail: { deadLettered: [true] },
      },
      targets: [
        new targets.SqsQueue(this.deadLetterQueue, { deadLetterQueue: ruleDeadLetterQueue }),
      ],
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(scope, 'StartDeadLetterAlarm', {
      alarmDescription:
        'eventjobs: a trigger event or a schedule firing started no job and is waiting in the ' +
        'start dead-letter queue with its reason; inspect it, fix the cause and redrive it',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    acknowledge(
      this.deadLetterQueue,
      'Serverless-SQSRedrivePolicy',
      'This queue is itself the last stop for events that started no job; nothing consumes ' +
        'it automatically, so there is no further queue to redrive to.',
    );
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is the dead-letter queue of the trigger targets, the schedules and the ' +
        "starter function's failure destination; the rule only recognises DLQs named in an " +
        'SQS RedrivePolicy or a Lambda DeadLetterConfig.',
    );
    this.scheduleGroup = new scheduler.ScheduleGroup(scope, 'Schedules', {
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.scheduleRole = new iam.Role(scope, 'ScheduleRole', {
      description: 'eventjobs: EventBridge Scheduler starts the scheduled jobs of this stack',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': Stack.of(scope).account,
            'aws:SourceArn': this.scheduleGroup.scheduleGroupArn,
          },
        },
      }),
    });
    this.scheduleRole.addToPolicy(
      allow(['lambda:InvokeFunction'], [this.starterFunction.functionArn]),
    );
    this.scheduleRole.addToPolicy(allow(['sqs:SendMessage'], [this.deadLetterQueue.queueArn]));
  }

  /** Adds a trigger; see `AsyncJobs.startOn`. */
  startOn(ruleOrPattern: events.Rule | StartOnPattern, options: StartOnOptions): events.Rule {
    const id = this.#claimId(options.id ?? this.#nextTriggerId(), 'startOn');
    const where = `AsyncJobs.startOn(${id})`;
    if (typeof options.type === 'string') this.#checkType(options.type, where);
    else checkPath(options.type.path, `${where}: type`);
    if (options.name !== undefined) {
      if (!isEventPath(options.name)) throw new Error(`${where}: name must be eventPath(...)`);
      checkPath(options.name.path, `${where}: name`);
    }
    for (const path of options.input === undefined ? [] : pathsOf(options.input)) {
      checkPath(path, `${where}: input`);
    }
    // Resolving changes a mapping only where it holds a token (a string, number or list one).
    const stack = Stack.of(this.#parts.scope);
    if (
      options.input !== undefined &&
      JSON.stringify(stack.resolve(options.input)) !== JSON.stringify(options.input)
    ) {
      throw new Error(
        `${where}: input has a token (a value known only at deploy time); a trigger's input mapping ` +
          'must be literal: take the value from the event, or give the job type a default',
      );
    }
    const owner = typeof options.owner === 'string' ? options.owner : undefined;
    if (owner !== undefined) this.#checkPrincipal(owner, where);
    else checkPath((options.owner as EventPath).path, `${where}: owner`);
    checkTimeout(options.timeoutSeconds, where);

    const config: StarterConfig = {
      kind: 'trigger',
      id,
      type: options.type,
      ...(options.name ? { name: options.name } : {}),
      ...(options.input !== undefined ? { input: options.input } : {}),
      owner: owner !== undefined ? { fixed: true } : (options.owner as EventPath),
      ...(options.timeoutSeconds !== undefined ? { timeoutSeconds: options.timeoutSeconds } : {}),
    };
    const encoded = encodeStarter(config);
    // The template as EventBridge gets it; a token owner counted at the longest ARN it may be.
    const ownerChars =
      owner === undefined ? 0 : Token.isUnresolved(owner) ? MAX_OWNER_CHARS : owner.length;
    const templateChars =
      JSON.stringify({ [STARTER_KEY]: encoded, owner: 'x'.repeat(ownerChars) }).length +
      ',"event":<f1>'.length;
    if (templateChars > MAX_INPUT_TEMPLATE_CHARS) {
      throw new Error(
        `${where}: the trigger's target input template would take ${templateChars} characters; ` +
          `EventBridge takes ${MAX_INPUT_TEMPLATE_CHARS}. Use a shorter input mapping.`,
      );
    }
    const rule =
      ruleOrPattern instanceof events.Rule
        ? ruleOrPattern
        : this.#ruleFor(id, ruleOrPattern, where);
    rule.addTarget(
      new targets.LambdaFunction(this.starterFunction, {
        event: events.RuleTargetInput.fromObject({
          [STARTER_KEY]: encoded,
          ...(owner !== undefined ? { owner } : {}),
          event: events.EventField.fromPath('$'),
        }),
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }),
    );
    return rule;
  }

  /** Adds a schedule; see `AsyncJobs.schedule`. */
  schedule(id: string, options: ScheduleOptions): scheduler.Schedule {
    this.#claimId(id, 'schedule');
    const where = `AsyncJobs.schedule(${id})`;
    this.#checkType(options.type, where);
    this.#checkPrincipal(options.owner, where);
    checkTimeout(options.timeoutSeconds, where);
    const timezone = options.timezone ?? 'UTC';
    try {
      parseExpression(options.expression, timezone);
    } catch (error) {
      throw new Error(
        `${where}: expression "${options.expression}" in time zone "${timezone}" is not valid: ${(error as Error).message}`,
      );
    }
    const name = options.name ?? DEFAULT_SCHEDULE_NAME;
    const problem = checkNameTemplate(name, id);
    if (problem) throw new Error(`${where}: ${problem}`);
    const overlap = options.overlap ?? 'skip';
    if (overlap !== 'skip' && overlap !== 'allow') {
      throw new Error(`${where}: overlap must be "skip" or "allow", got "${String(overlap)}"`);
    }
    const input = options.input ?? {};
    if (JSON.stringify(input) === undefined) throw new Error(`${where}: input must be JSON`);

    const config: StarterConfig = {
      kind: 'schedule',
      id,
      type: options.type,
      name,
      overlap,
      ...(options.timeoutSeconds !== undefined ? { timeoutSeconds: options.timeoutSeconds } : {}),
    };
    return new scheduler.Schedule(this.#scheduleScope, id, {
      description: options.description ?? `eventjobs: starts a ${options.type} job (${id})`,
      schedule: scheduler.ScheduleExpression.expression(options.expression, TimeZone.of(timezone)),
      scheduleGroup: this.scheduleGroup,
      timeWindow: scheduler.TimeWindow.off(),
      enabled: options.enabled ?? true,
      // Not aws-scheduler-targets' LambdaInvoke: its role may invoke every version of the
      // function (`<arn>:*`); this one may invoke the function only.
      target: {
        bind: () => ({
          arn: this.starterFunction.functionArn,
          role: this.scheduleRole,
          input: scheduler.ScheduleTargetInput.fromObject({
            [STARTER_KEY]: encodeStarter(config),
            owner: options.owner,
            input,
            scheduledTime: scheduler.ContextAttribute.scheduledTime,
            executionId: scheduler.ContextAttribute.executionId,
          }),
          deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
          // A firing that fails is retried twice within the hour, then kept in the queue.
          retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 },
        }),
      },
    });
  }

  #ruleFor(id: string, pattern: StartOnPattern, where: string): events.Rule {
    const keys = Object.keys(pattern.eventPattern ?? {});
    if (keys.length === 0) {
      throw new Error(
        `${where}: eventPattern matches every event; name at least a source or detailType`,
      );
    }
    return new events.Rule(this.#triggerScope, id, {
      description: pattern.description ?? `eventjobs: starts jobs from events (${id})`,
      eventPattern: pattern.eventPattern,
      ...(pattern.eventBus ? { eventBus: pattern.eventBus } : {}),
    });
  }

  #claimId(id: string, method: string): string {
    if (!STARTER_ID_PATTERN.test(id)) {
      throw new Error(
        `AsyncJobs.${method}: id "${id}" must be 1 to 64 characters of A-Z a-z 0-9 _ -, starting with a letter or digit`,
      );
    }
    if (this.#ids.has(id)) {
      throw new Error(
        `AsyncJobs.${method}: id "${id}" is already a trigger or schedule of this construct`,
      );
    }
    this.#ids.add(id);
    return id;
  }

  /** `Trigger<n>`, the first n not taken. */
  #nextTriggerId(): string {
    let n = 1;
    while (this.#ids.has(`Trigger${n}`)) n += 1;
    return `Trigger${n}`;
  }

  /**
   * A literal owner must be one some API caller can be, under the stack's owner
   * model; a token (`role.roleArn`) is resolved at deploy and checked at run time.
   */
  #checkPrincipal(owner: string, where: string): void {
    if (Token.isUnresolved(owner)) return;
    const model = this.#parts.config.ownerModel;
    if (ownerOfPrincipal(owner, model) === undefined) {
      throw new Error(
        model === 'session'
          ? `${where}: owner "${owner}" is not the ARN of an IAM user or an assumed-role session; with ownerModel session a role as a whole owns no jobs`
          : `${where}: owner "${owner}" is not the ARN of an IAM user or role (or an assumed role)`,
      );
    }
  }

  #checkType(type: string, where: string): void {
    const names = this.#parts.config.jobTypeNames;
    if (!names.includes(type)) {
      throw new Error(
        `${where}: type "${type}" is not a job type of jobTypes.entry (${names.join(', ')})`,
      );
    }
  }

  /** The rule dead-letter queue, for the rules the app creates itself. */
  get ruleDeadLetterQueue(): sqs.IQueue {
    return this.#ruleDeadLetterQueue;
  }

  get eventBus(): events.IEventBus {
    return this.#eventBus;
  }
}

function checkPath(path: string, where: string): void {
  try {
    parsePath(path);
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`);
  }
}

function checkTimeout(timeoutSeconds: number | undefined, where: string): void {
  if (timeoutSeconds === undefined) return;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 30 * 86_400) {
    throw new Error(`${where}: timeoutSeconds must be a whole number from 1 to 2592000 (30 days)`);
  }
}
