import { fileURLToPath } from 'node:url';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AsyncJobs, type AsyncJobsProps } from 'eventjobs/cdk';

/** Properties of {@link EventJobsStack}. */
export interface EventJobsStackProps extends StackProps {
  /**
   * Settings of the jobs construct, other than the job types.
   *
   * @default - the defaults of {@link AsyncJobsProps}
   */
  readonly jobs?: Omit<AsyncJobsProps, 'jobTypes'>;
}

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

  constructor(scope: Construct, id: string, props: EventJobsStackProps = {}) {
    super(scope, id, props);
    this.jobs = new AsyncJobs(this, 'AsyncJobs', {
      ...props.jobs,
      jobTypes: { entry: REFERENCE_JOB_TYPES },
    });

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
    new CfnOutput(this, 'StreamDeadLetterQueueUrl', {
      value: this.jobs.stream.deadLetterQueue.queueUrl,
    });
  }
}
