/**
 * `AsyncJobs.onOutcome` (issue 16): a rule on the construct's bus that routes
 * the recorded outcome (`Job Finished`) to an app's target, filtered by job
 * type and status, and refused at synth when a filter names nothing real.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import type { JobOutcomeStatus } from '../../core/job-type';
import { AsyncJobs } from '../../infra/async-jobs';
import { REFERENCE_JOB_TYPES } from '../../infra/eventjobs-stack';
import { arnOf, createApp, createStack, ref } from './helpers';

function jobsStack() {
  const stack = new Stack(createApp(), 'OutcomeTest');
  const jobs = new AsyncJobs(stack, 'Jobs', { jobTypes: { entry: REFERENCE_JOB_TYPES } });
  const queue = new sqs.Queue(stack, 'Mine', { enforceSSL: true });
  return { stack, jobs, queue };
}

describe('AsyncJobs.onOutcome', () => {
  it('routes Job Finished from eventjobs on the construct bus to the target, filtered as asked', () => {
    const { stack, jobs, queue } = jobsStack();
    const rule = jobs.onOutcome(new targets.SqsQueue(queue), {
      types: ['echo', 'pipeline'],
      statuses: ['FAILED', 'TIMED_OUT'],
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: ref(jobs.eventBus),
      EventPattern: {
        source: ['eventjobs'],
        'detail-type': ['Job Finished'],
        detail: { type: ['echo', 'pipeline'], status: ['FAILED', 'TIMED_OUT'] },
      },
      Targets: [Match.objectLike({ Arn: arnOf(queue) })],
    });
    expect(rule.node.scope).toBe(jobs);
  });

  it('without filters, matches every outcome; a second call makes a second rule', () => {
    const { stack, jobs, queue } = jobsStack();
    jobs.onOutcome(new targets.SqsQueue(queue));
    jobs.onOutcome(new targets.SqsQueue(queue), { statuses: ['SUCCEEDED'] });
    const rules = Template.fromStack(stack).findResources('AWS::Events::Rule', {
      Properties: { EventPattern: { 'detail-type': ['Job Finished'] } },
    });
    const patterns = Object.values(rules).map(
      (rule) =>
        (rule as { Properties: { EventPattern: Record<string, unknown> } }).Properties.EventPattern,
    );
    expect(patterns).toEqual([
      { source: ['eventjobs'], 'detail-type': ['Job Finished'] },
      { source: ['eventjobs'], 'detail-type': ['Job Finished'], detail: { status: ['SUCCEEDED'] } },
    ]);
  });

  it('refuses at synth a type that is not one of the app, a status that is no outcome, an empty list', () => {
    const { jobs, queue } = jobsStack();
    const target = new targets.SqsQueue(queue);
    expect(() => jobs.onOutcome(target, { types: ['nope'] })).toThrow(
      /types names "nope", which is not a job type/,
    );
    expect(() => jobs.onOutcome(target, { statuses: ['RUNNING' as JobOutcomeStatus] })).toThrow(
      /statuses has "RUNNING"/,
    );
    expect(() => jobs.onOutcome(target, { types: [] })).toThrow(/matches nothing/);
  });

  it("the reference app routes every outcome to its OutcomeQueue, with the rules' dead-letter queue", () => {
    const { stack } = createStack();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['eventjobs'], 'detail-type': ['Job Finished'] },
      Targets: [
        Match.objectLike({
          Arn: arnOf(stack.outcomeQueue),
          DeadLetterConfig: { Arn: arnOf(stack.jobs.ruleDeadLetterQueue) },
        }),
      ],
    });
    template.hasOutput('OutcomeQueueUrl', { Value: ref(stack.outcomeQueue) });
  });
});
