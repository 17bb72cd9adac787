/**
 * The dead-letter queues of {@link AsyncJobs} and the alarms on them (the
 * stream's queue included): whatever lands in one is an event that was not
 * handled, so each alarms as soon as it holds a message.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { AsyncJobs } from './async-jobs';
import { acknowledge } from './lambda-function';

export function deadLetterQueue(scope: Construct, id: string): sqs.Queue {
  return new sqs.Queue(scope, id, {
    enforceSSL: true,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    retentionPeriod: Duration.days(14),
  });
}

/** One alarm per dead-letter queue of `jobs` (the stream's too), and the queues' acknowledgements. */
export function createDeadLetterAlarms(
  jobs: Construct &
    Pick<
      AsyncJobs,
      'ruleDeadLetterQueue' | 'completionDeadLetterQueue' | 'deadLetterQueues' | 'stream'
    >,
): cloudwatch.Alarm[] {
  const outcomeStuck =
    'eventjobs: a job outcome could not be recorded and is waiting in a dead-letter ' +
    'queue; inspect and redrive it';
  const alarms = [
    [jobs.ruleDeadLetterQueue, 'RuleDeadLetterAlarm', outcomeStuck] as const,
    [jobs.completionDeadLetterQueue, 'CompletionDeadLetterAlarm', outcomeStuck] as const,
    [
      jobs.stream.deadLetterQueue,
      'StreamDeadLetterAlarm',
      'eventjobs: a lifecycle event could not be logged or pushed to the live stream; ' +
        'the outcome itself is not affected. Inspect the dead-letter queue and redrive it.',
    ] as const,
  ].map(
    ([queue, id, description]) =>
      new cloudwatch.Alarm(jobs, id, {
        alarmDescription: description,
        metric: queue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
  );

  acknowledge(
    jobs.ruleDeadLetterQueue,
    'AwsSolutions-SQS3',
    'This queue is the dead-letter queue of the two EventBridge rule targets; the rule ' +
      'only recognises DLQs named in an SQS RedrivePolicy or a Lambda DeadLetterConfig.',
  );
  for (const queue of jobs.deadLetterQueues) {
    acknowledge(
      queue,
      'Serverless-SQSRedrivePolicy',
      'This queue is itself the last stop for failed events; nothing consumes it ' +
        'automatically, so there is no further queue to redrive to.',
    );
  }
  return alarms;
}
