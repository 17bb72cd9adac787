import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { AsyncJobs, type AsyncJobsProps, eventPath } from 'eventjobs/cdk';

/** Properties of {@link EventJobsStack}. */
export interface EventJobsStackProps extends StackProps {
  /**
   * Settings of the jobs construct, other than the job types.
   *
   * @default - the defaults of {@link AsyncJobsProps}
   */
  readonly jobs?: Omit<AsyncJobsProps, 'jobTypes'>;
  /**
   * An example schedule: a `sleep` job of `seconds` every `expression`, owned
   * by `owner`, skipped while the previous one runs. Off unless asked for
   * (`-c exampleScheduleOwner=<principal ARN>`): a deployed schedule runs jobs
   * for as long as the stack exists.
   *
   * @default - none
   */
  readonly exampleSchedule?: {
    readonly owner: string;
    /** @default 'rate(1 minute)' */
    readonly expression?: string;
    /** @default 'UTC' */
    readonly timezone?: string;
    /** @default 70 */
    readonly seconds?: number;
  };
}

/** What the reference trigger listens for on the default bus (see the README). */
export const EXAMPLE_TRIGGER = {
  source: 'eventjobs.example',
  detailType: 'Job Requested',
} as const;

/** The reference app's job types (sleep, echo, fail, flaky, hash). */
export const REFERENCE_JOB_TYPES = fileURLToPath(
  new URL('../functions/jobs/index.ts', import.meta.url),
);

/**
 * The reference app: one {@link AsyncJobs} with this repository's built-in job
 * types, and the outputs a client needs. It uses eventjobs only through the
 * package's public entry points, as any app would.
 */
export class EventJobsStack extends Stack {
  public readonly jobs: AsyncJobs;
  /** Every job's recorded outcome (`Job Finished`), for the app's own consumers. */
  public readonly outcomeQueue: sqs.Queue;
  /** The default bus's rule of the reference trigger (`Job Requested`). */
  public readonly requestRule: events.Rule;

  constructor(scope: Construct, id: string, props: EventJobsStackProps = {}) {
    super(scope, id, props);
    this.jobs = new AsyncJobs(this, 'AsyncJobs', {
      ...props.jobs,
      jobTypes: { entry: REFERENCE_JOB_TYPES },
    });

    // The outcomes, routed to a queue of the app's own: what `onOutcome` is for.
    this.outcomeQueue = new sqs.Queue(this, 'OutcomeQueue', {
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.jobs.ruleDeadLetterQueue, maxReceiveCount: 5 },
    });
    this.jobs.onOutcome(
      new targets.SqsQueue(this.outcomeQueue, { deadLetterQueue: this.jobs.ruleDeadLetterQueue }),
    );

    // The reference trigger: any publisher on the account's default bus may request a job, and
    // names its owner in the event. Only a bus whose publishers are trusted may do this: here,
    // whoever may put events on the default bus of the account.
    this.requestRule = new events.Rule(this, 'JobRequestedRule', {
      description: 'eventjobs example: starts the job a Job Requested event asks for',
      eventPattern: { source: [EXAMPLE_TRIGGER.source], detailType: [EXAMPLE_TRIGGER.detailType] },
    });
    this.jobs.startOn(this.requestRule, {
      id: 'job-requested',
      type: eventPath('$.detail.type'),
      name: eventPath('$.detail.requestId'),
      input: eventPath('$.detail.input'),
      owner: eventPath('$.detail.owner'),
    });

    if (props.exampleSchedule) {
      const example = props.exampleSchedule;
      this.jobs.schedule('example', {
        type: 'sleep',
        expression: example.expression ?? 'rate(1 minute)',
        timezone: example.timezone ?? 'UTC',
        input: { seconds: example.seconds ?? 70 },
        owner: example.owner,
        overlap: 'skip',
        description: 'eventjobs example: a sleep job every minute, skipped while one runs',
      });
    }

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the jobs API (SigV4-signed requests, service execute-api)',
      value: this.jobs.apiUrl,
    });
    new CfnOutput(this, 'ApiId', { value: this.jobs.api.apiId });
    new CfnOutput(this, 'TableName', { value: this.jobs.table.tableName });
    new CfnOutput(this, 'WebhookSecretArn', { value: this.jobs.webhookSecret.secretArn });
    new CfnOutput(this, 'StreamUrl', {
      description:
        'WebSocket URL of the job event stream (SigV4-presigned connect, service execute-api)',
      value: this.jobs.stream.url,
    });
    new CfnOutput(this, 'EventBusName', { value: this.jobs.eventBus.eventBusName });
    new CfnOutput(this, 'WorkerFunctionName', { value: this.jobs.workerFunction.functionName });
    new CfnOutput(this, 'CompletionFunctionName', {
      value: this.jobs.completionFunction.functionName,
    });
    new CfnOutput(this, 'RuleDeadLetterQueueUrl', {
      value: this.jobs.ruleDeadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'CompletionDeadLetterQueueUrl', {
      value: this.jobs.completionDeadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'OutcomeQueueUrl', {
      description: 'Every job outcome (Job Finished events), for consumers of the app',
      value: this.outcomeQueue.queueUrl,
    });
    new CfnOutput(this, 'StartDeadLetterQueueUrl', {
      description: 'Trigger events and schedule firings that started no job, with the reason',
      value: this.jobs.starters?.deadLetterQueue.queueUrl ?? '',
    });
    new CfnOutput(this, 'StarterFunctionName', {
      description: 'The function that starts jobs from trigger events and schedules',
      value: this.jobs.starters?.starterFunction.functionName ?? '',
    });
    new CfnOutput(this, 'StreamDeadLetterQueueUrl', {
      value: this.jobs.stream.deadLetterQueue.queueUrl,
    });
  }
}
