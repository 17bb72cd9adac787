import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AsyncJobs, type AsyncJobsProps } from '../../infra/async-jobs';
import { REFERENCE_JOB_TYPES } from '../../infra/eventjobs-stack';
import { arnOf, createApp, ref } from './helpers';

/** Constructs AsyncJobs in a fresh stack; bundling is skipped, validation runs first anyway. */
type Settings = Omit<AsyncJobsProps, 'jobTypes'>;

function build(props: Settings): { stack: Stack; jobs: AsyncJobs } {
  const stack = new Stack(createApp(), 'PropsTest');
  const jobs = new AsyncJobs(stack, 'Jobs', { ...props, jobTypes: { entry: REFERENCE_JOB_TYPES } });
  return { stack, jobs };
}

describe('props validation', () => {
  it.each<[string, Settings, RegExp]>([
    ['too many retries', { workerRetryAttempts: 3 }, /workerRetryAttempts must be between 0 and 2/],
    [
      'negative retries',
      { workerRetryAttempts: -1 },
      /workerRetryAttempts must be between 0 and 2/,
    ],
    ['fractional retries', { workerRetryAttempts: 1.5 }, /workerRetryAttempts must be a whole/],
    [
      'event age under a minute',
      { workerMaxEventAge: Duration.seconds(59) },
      /workerMaxEventAge must be between 1 minute and 6 hours/,
    ],
    [
      'event age over 6 hours',
      { workerMaxEventAge: Duration.hours(7) },
      /workerMaxEventAge must be between 1 minute and 6 hours/,
    ],
    [
      'worker timeout over 15 minutes',
      { workerTimeout: Duration.minutes(16) },
      /workerTimeout must be between 1 second and 15 minutes/,
    ],
    [
      'completion timeout over 15 minutes',
      { completionTimeout: Duration.minutes(20) },
      /completionTimeout must be between 1 second and 15 minutes/,
    ],
    [
      'API timeout beyond what the HTTP API waits',
      { apiFunctionTimeout: Duration.seconds(31) },
      /apiFunctionTimeout must be between 1 second and 30 seconds/,
    ],
    ['too little memory', { workerMemorySize: 64 }, /workerMemorySize must be between 128/],
    ['too much memory', { apiFunctionMemorySize: 20_000 }, /apiFunctionMemorySize must be/],
    ['zero input size', { maxInputBytes: 0 }, /maxInputBytes must be at least 1/],
    ['event size over 1 MiB', { maxEventBytes: 2 * 1024 * 1024 }, /maxEventBytes must be between/],
    [
      'input and event that do not fit one DynamoDB item',
      { maxInputBytes: 200 * 1024, maxEventBytes: 200 * 1024 },
      /maxInputBytes \(204800\) \+ maxEventBytes \(204800\).*380 KiB.*same DynamoDB item/s,
    ],
    [
      'retention that is not whole seconds',
      { outcomeRetention: Duration.millis(1500) },
      /outcomeRetention must be a whole number of seconds/,
    ],
    ['negative rate limit', { throttling: { rateLimit: -1 } }, /throttling.rateLimit/],
    ['fractional burst', { throttling: { burstLimit: 2.5 } }, /throttling.burstLimit/],
    ['a non-Node.js runtime', { runtime: lambda.Runtime.PYTHON_3_13 }, /Node.js runtime/],
    [
      'zero reserved concurrency (every job would fail)',
      { workerReservedConcurrency: 0 },
      /workerReservedConcurrency must be at least 1/,
    ],
    [
      'fractional reserved concurrency',
      { workerReservedConcurrency: 2.5 },
      /workerReservedConcurrency must be a whole/,
    ],
    [
      'a start window shorter than a minute',
      { sweeperStartWindow: Duration.seconds(30) },
      /sweeperStartWindow must be between 1 minute and 7 hours/,
    ],
    ['no runs per owner', { ownerConcurrency: 0 }, /ownerConcurrency must be at least 1/],
    ['a fractional owner limit', { ownerConcurrency: 1.5 }, /ownerConcurrency must be a whole/],
    ['no room in the queue', { maxQueuedPerOwner: 0 }, /maxQueuedPerOwner must be at least 1/],
    [
      'a queue timeout over 14 days',
      { queueTimeout: Duration.days(15) },
      /queueTimeout must be between 1 minute and 14 days/,
    ],
    [
      'a limit for a type that does not exist',
      { typeConcurrency: { nosuch: 2 } },
      /typeConcurrency names "nosuch", which is not a job type of jobTypes.entry \(its types: .*echo/,
    ],
    [
      'a type limit of zero',
      { typeConcurrency: { echo: 0 } },
      /typeConcurrency.echo must be at least 1/,
    ],
    [
      'an owner model it does not know',
      { ownerModel: 'role' as unknown as 'session' },
      /ownerModel must be one of 'principal', 'session', got "role"/,
    ],
  ])('rejects %s', (_name, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  it('passes an explicit sweeper start window to the sweeper', () => {
    const { stack } = build({ sweeperStartWindow: Duration.minutes(2) });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SWEEP_START_WINDOW_SECONDS: '120' }) },
    });
  });

  it('passes the fair-share limits and the owner model to the functions that use them', () => {
    const { stack } = build({
      ownerConcurrency: 3,
      maxQueuedPerOwner: 7,
      typeConcurrency: { sleep: 2 },
      queueTimeout: Duration.hours(2),
      workerReservedConcurrency: 40,
      ownerModel: 'session',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          OWNER_MODEL: 'session',
          OWNER_CONCURRENCY: '3',
          MAX_QUEUED_PER_OWNER: '7',
          TOTAL_CONCURRENCY: '40',
          TYPE_CONCURRENCY: '{"sleep":2}',
          QUEUE_TIMEOUT_SECONDS: '7200',
        }),
      },
    });
  });

  it('accepts the limits themselves', () => {
    expect(() =>
      build({
        workerRetryAttempts: 0,
        workerMaxEventAge: Duration.seconds(60),
        workerTimeout: Duration.minutes(15),
        apiFunctionTimeout: Duration.seconds(30),
        maxInputBytes: 124 * 1024,
        maxEventBytes: 256 * 1024,
      }),
    ).not.toThrow();
  });
});

describe('custom props', () => {
  let template: Template;
  let jobs: AsyncJobs;

  beforeAll(() => {
    const built = build({
      workerTimeout: Duration.minutes(5),
      workerMemorySize: 2048,
      workerRetryAttempts: 0,
      workerMaxEventAge: Duration.minutes(30),
      workerReservedConcurrency: 40,
      apiFunctionMemorySize: 512,
      apiFunctionTimeout: Duration.seconds(20),
      completionMemorySize: 1024,
      completionTimeout: Duration.minutes(2),
      outcomeRetention: Duration.days(1),
      maxInputBytes: 10_000,
      maxEventBytes: 100_000,
      throttling: { rateLimit: 5, burstLimit: 10 },
      logRetention: logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.X86_64,
    });
    jobs = built.jobs;
    template = Template.fromStack(built.stack);
  });

  it('configures the worker and its async invocation', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 2048,
      Timeout: 300,
      Environment: {
        Variables: Match.objectLike({ MAX_EVENT_BYTES: '100000', MAX_INPUT_BYTES: '10000' }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 300,
      ReservedConcurrentExecutions: 40,
    });
    // The sweeper's start window follows the event age: 30 minutes + 60 s.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SWEEP_START_WINDOW_SECONDS: '1860' }) },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 1800,
      DestinationConfig: { OnFailure: { Destination: arnOf(jobs.eventBus) } },
    });
  });

  it('configures the API functions, completion and the retention it writes', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 512,
      Timeout: 20,
      Environment: {
        Variables: Match.objectLike({ WORKER_FUNCTION_NAME: ref(jobs.workerFunction) }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Timeout: 120,
      Environment: { Variables: Match.objectLike({ OUTCOME_RETENTION_SECONDS: '86400' }) },
    });
  });

  it('applies runtime and architecture to every function', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(fns).toHaveLength(10);
    for (const fn of fns) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['x86_64']);
    }
  });

  it('applies throttling, log retention and the table removal policy', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    // One per function (ten) and the HTTP API's access log.
    expect(groups).toHaveLength(11);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(7);
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });
});

describe('construct IDs', () => {
  it('are stable: the resources keep their construct paths', () => {
    const { jobs } = build({});
    expect(
      [
        jobs.table,
        jobs.eventBus,
        jobs.api,
        jobs.stage,
        jobs.startJobFunction,
        jobs.getJobFunction,
        jobs.listJobsFunction,
        jobs.cancelJobFunction,
        jobs.signalJobFunction,
        jobs.workerFunction,
        jobs.completionFunction,
        jobs.outcomeRule,
        jobs.workerFailureRule,
        jobs.ruleDeadLetterQueue,
        jobs.completionDeadLetterQueue,
        jobs.accessLogGroup,
        jobs.sweeperFunction,
        jobs.sweepRule,
        ...jobs.deadLetterAlarms,
      ].map((c) => c.node.path),
    ).toEqual(
      [
        'JobsTable',
        'EventBus',
        'Api',
        'DefaultStage',
        'StartJob',
        'GetJob',
        'ListJobs',
        'CancelJob',
        'SignalJob',
        'Worker',
        'Completion',
        'OutcomeRule',
        'WorkerFailureRule',
        'RuleDeadLetterQueue',
        'CompletionDeadLetterQueue',
        'ApiAccessLogs',
        'Sweeper',
        'SweepRule',
        'RuleDeadLetterAlarm',
        'CompletionDeadLetterAlarm',
        'StreamDeadLetterAlarm',
      ].map((id) => `PropsTest/Jobs/${id}`),
    );
  });
});

describe('grantInvokeApi', () => {
  it('allows execute-api:Invoke on the job routes of the $default stage only', () => {
    const { stack, jobs } = build({});
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    jobs.grantInvokeApi(caller);

    const template = Template.fromStack(stack);
    const arn = (resourcePath: string) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':execute-api:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':',
          ref(jobs.api),
          `/$default/*${resourcePath}`,
        ],
      ],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [ref(caller)],
      PolicyDocument: {
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: 'Allow',
            Resource: [arn('/jobs'), arn('/jobs/*')],
          },
        ],
      },
    });
  });
});
