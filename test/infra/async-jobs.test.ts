import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Stage } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { beforeAll, describe, expect, it } from 'vitest';
import { Defaults } from '../../core/config';
import {
  EVENT_SOURCE,
  JOB_OUTCOME_EVENT_TYPES,
  LAMBDA_DESTINATION_SOURCE,
  LambdaDestinationType,
} from '../../core/events';
import { JOB_PARTITION_PREFIX, JobsTable } from '../../core/table';
import type { AsyncJobs } from '../../infra/async-jobs';
import {
  arnOf,
  childOf,
  createStack,
  logicalId,
  ref,
  type Statement,
  schedulesIn,
  statementsOfRole,
} from './helpers';

let template: Template;
let jobs: AsyncJobs;
/** Every function's shipped bundle (`index.mjs` of its staged asset), by construct id. */
const bundles = new Map<string, string>();

beforeAll(() => {
  // Bundles the functions with esbuild: done once for the whole file.
  const { stack } = createStack({}, { bundle: true });
  jobs = stack.jobs;
  template = Template.fromStack(stack);
  const assemblyDir = Stage.of(stack)?.outdir ?? '';
  for (const fn of stack.node.findAll()) {
    if (!(fn instanceof lambda.Function)) continue;
    const code = fn.node.tryFindChild('Code');
    if (!(code instanceof Asset)) continue;
    bundles.set(
      fn.node.id,
      readFileSync(path.join(assemblyDir, code.assetPath, 'index.mjs'), 'utf8'),
    );
  }
});

/** The starters (infra/starters.ts), which the reference app's trigger adds to the construct. */
const startersOf = (j: AsyncJobs) => {
  if (!j.starters) throw new Error('the reference app has no trigger or schedule');
  return j.starters;
};

const functionsOf = (j: AsyncJobs) => ({
  startJob: j.startJobFunction,
  getJob: j.getJobFunction,
  listJobs: j.listJobsFunction,
  cancelJob: j.cancelJobFunction,
  signalJob: j.signalJobFunction,
  worker: j.workerFunction,
  completion: j.completionFunction,
  sweeper: j.sweeperFunction,
  startFromEvent: startersOf(j).starterFunction,
});

const roleIdOf = (fn: { role?: unknown }) => {
  if (!fn.role) throw new Error('function has no role');
  return logicalId(fn.role as Parameters<typeof logicalId>[0]);
};

/** The sleep timers (infra/timers.ts), built in the construct's scope and not exposed by it. */
const timerGroup = () => childOf(jobs, 'TimerGroup', scheduler.CfnScheduleGroup);
const timerRole = () => childOf(jobs, 'TimerRole', iam.Role);
const resumePolicy = () => childOf(jobs, 'WorkerResumePolicy', iam.Policy);

/** The one statement that lets the worker touch the table: its job partitions only. */
const workerTableStatement = () => ({
  Effect: 'Allow',
  Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  Resource: [arnOf(jobs.table)],
  Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['JOB#*'] } },
});

const tableArnJoin = (indexName: string) => ({
  'Fn::Join': ['', [arnOf(jobs.table), `/index/${indexName}`]],
});

describe('jobs table', () => {
  it('is on-demand with point-in-time recovery, TTL and AWS-managed encryption', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: JobsTable.ttlAttribute, Enabled: true },
      KeySchema: [
        { AttributeName: JobsTable.partitionKey, KeyType: 'HASH' },
        { AttributeName: JobsTable.sortKey, KeyType: 'RANGE' },
      ],
    });
  });

  it('has the three GSIs of the shared table layout, with INCLUDE projections', () => {
    const gsi = (
      index: { indexName: string; partitionKey: string; sortKey: string },
      attributes: readonly string[] = JobsTable.projectedAttributes,
    ) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: {
        ProjectionType: 'INCLUDE',
        NonKeyAttributes: [...attributes],
      },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        gsi(JobsTable.byOwner),
        gsi(JobsTable.byOwnerStatus),
        gsi(JobsTable.byActive, JobsTable.activeProjectedAttributes),
      ],
      AttributeDefinitions: Match.arrayWith(
        ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'gsi3pk', 'gsi3sk'].map((name) => ({
          AttributeName: name,
          AttributeType: 'S',
        })),
      ),
    });
  });

  it('is retained when removed from the stack by default', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('event bus', () => {
  it('is a custom bus', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: Match.stringLikeRegexp('.+') });
  });
});

describe('functions', () => {
  it('are exactly eleven (nine, plus the stream recorder and connection), none a custom-resource provider', () => {
    template.resourceCountIs('AWS::Lambda::Function', 11);
  });

  it.each([
    'startJob',
    'getJob',
    'listJobs',
    'cancelJob',
    'signalJob',
    'worker',
    'completion',
    'sweeper',
    'startFromEvent',
  ] as const)('%s runs on nodejs24.x with active tracing and JSON logs to its own group', (key) => {
    const fn = functionsOf(jobs)[key];
    const logGroup = fn.node.scope?.node.findChild(`${fn.node.id}Logs`);
    if (!logGroup) throw new Error('log group not found');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [roleIdOf(fn), 'Arn'] },
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: ref(logGroup) },
      MemorySize: Match.anyValue(),
      Timeout: Match.anyValue(),
    });
    const group = template.findResources('AWS::Logs::LogGroup')[logicalId(logGroup)];
    expect(group?.Properties).toEqual({ RetentionInDays: 30 });
  });

  it('bundle the environment-only credential chain, not the SDK default chain (all eleven)', () => {
    expect(bundles.size).toBe(11);
    for (const [id, bundle] of bundles) {
      // functions/shared/credentials.ts, which the substitute for the chain reads through
      expect(bundle, id).toContain(
        'No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      );
      // The providers of the SDK's chain (names kept by keepNames) and its STS/SSO clients
      for (const provider of ['fromIni', 'fromSSO', 'fromTokenFile', 'fromProcess', 'fromHttp']) {
        expect(bundle, id).not.toContain(`"${provider}"`);
      }
      expect(bundle, id).not.toContain('AssumeRoleWithWebIdentity');
    }
  });

  it('bundle no CommonJS `require` of a built-in, which an ES module could not run (all eleven)', () => {
    expect(bundles.size).toBe(11);
    for (const [id, bundle] of bundles) {
      // esbuild's shim for a `require` it left in; it throws at run time in an ES module
      // (infra/lambda-function.ts would need a createRequire banner for it).
      expect(bundle, id).not.toContain('Dynamic require of');
    }
  });

  it('bundle no ES module import of a Node built-in, each read through functions/node-builtins (all eleven)', () => {
    expect(bundles.size).toBe(11);
    for (const [id, bundle] of bundles) {
      // A built-in left out of NODE_BUILTINS in infra/lambda-function.ts shows up here.
      expect(bundle.match(/from\s*"node:[^"]+"|import\("node:[^"]+"\)/g) ?? [], id).toEqual([]);
      expect(bundle, id).toContain('process.getBuiltinModule("node:crypto")');
    }
  });

  it('have explicit memory, timeout and exactly the environment they read', () => {
    const table = ref(jobs.table);
    const sourceMaps = { NODE_OPTIONS: '--enable-source-maps' };
    const limits = {
      OWNER_CONCURRENCY: String(Defaults.ownerConcurrency),
      MAX_QUEUED_PER_OWNER: String(Defaults.maxQueuedPerOwner),
      TOTAL_CONCURRENCY: String(Defaults.workerReservedConcurrency),
      TYPE_CONCURRENCY: '{}',
      QUEUE_TIMEOUT_SECONDS: String(Defaults.queueTimeoutSeconds),
    };
    const owner = { OWNER_MODEL: 'principal' };
    const expected = [
      {
        fn: jobs.startJobFunction,
        memory: 256,
        timeout: 29,
        env: {
          JOBS_TABLE_NAME: table,
          ...owner,
          ...limits,
          WORKER_FUNCTION_NAME: ref(jobs.workerFunction),
          MAX_INPUT_BYTES: String(Defaults.maxInputBytes),
          EVENT_BUS_NAME: ref(jobs.eventBus),
        },
      },
      {
        fn: jobs.getJobFunction,
        memory: 256,
        timeout: 29,
        env: { JOBS_TABLE_NAME: table, ...owner, ...limits },
      },
      {
        fn: jobs.listJobsFunction,
        memory: 256,
        timeout: 29,
        env: { JOBS_TABLE_NAME: table, ...owner },
      },
      {
        fn: jobs.cancelJobFunction,
        memory: 256,
        timeout: 29,
        env: { JOBS_TABLE_NAME: table, ...owner, ...limits, EVENT_BUS_NAME: ref(jobs.eventBus) },
      },
      {
        fn: jobs.signalJobFunction,
        memory: 256,
        timeout: 29,
        env: {
          JOBS_TABLE_NAME: table,
          ...owner,
          WORKER_FUNCTION_NAME: ref(jobs.workerFunction),
          // A signal lives as long past its run's deadline as outcomes do.
          OUTCOME_RETENTION_SECONDS: String(Defaults.outcomeRetentionSeconds),
        },
      },
      {
        fn: jobs.workerFunction,
        memory: 1024,
        timeout: 900,
        env: {
          JOBS_TABLE_NAME: table,
          EVENT_BUS_NAME: ref(jobs.eventBus),
          MAX_EVENT_BYTES: String(Defaults.maxEventBytes),
          MAX_INPUT_BYTES: String(Defaults.maxInputBytes),
          WORKER_TIMEOUT_SECONDS: '900',
          // Step checkpoints live as long past the deadline as outcomes do.
          OUTCOME_RETENTION_SECONDS: String(Defaults.outcomeRetentionSeconds),
          // Sleeps: the role Scheduler assumes and the group the wake-up schedules go in.
          TIMER_ROLE_ARN: arnOf(timerRole()),
          TIMER_GROUP_NAME: ref(timerGroup()),
        },
      },
      {
        fn: jobs.sweeperFunction,
        memory: 256,
        timeout: 60,
        env: {
          JOBS_TABLE_NAME: table,
          EVENT_BUS_NAME: ref(jobs.eventBus),
          SWEEP_GRACE_SECONDS: '30',
          // 900 s worker timeout + 2 Lambda retries x 180 s + 60 s
          SWEEP_SILENT_AFTER_SECONDS: '1320',
          // 6 h maximum event age + 60 s
          SWEEP_START_WINDOW_SECONDS: String(6 * 3600 + 60),
          ...limits,
          WORKER_FUNCTION_NAME: ref(jobs.workerFunction),
        },
      },
      {
        fn: jobs.completionFunction,
        memory: 512,
        timeout: 60,
        env: {
          JOBS_TABLE_NAME: table,
          OUTCOME_RETENTION_SECONDS: String(Defaults.outcomeRetentionSeconds),
          EVENT_BUS_NAME: ref(jobs.eventBus),
          WEBHOOK_SECRET_ARN: ref(jobs.webhookSecret),
          ...limits,
          WORKER_FUNCTION_NAME: ref(jobs.workerFunction),
        },
      },
      {
        fn: startersOf(jobs).starterFunction,
        memory: 256,
        timeout: 30,
        env: {
          JOBS_TABLE_NAME: table,
          ...limits,
          ...owner,
          WORKER_FUNCTION_NAME: ref(jobs.workerFunction),
          MAX_INPUT_BYTES: String(Defaults.maxInputBytes),
          MAX_EVENT_BYTES: String(Defaults.maxEventBytes),
          EVENT_BUS_NAME: ref(jobs.eventBus),
          OUTCOME_RETENTION_SECONDS: String(Defaults.outcomeRetentionSeconds),
        },
      },
    ];
    for (const { fn, memory, timeout, env } of expected) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Role: { 'Fn::GetAtt': [roleIdOf(fn), 'Arn'] },
        MemorySize: memory,
        Timeout: timeout,
        Environment: { Variables: Match.objectEquals({ ...env, ...sourceMaps }) },
      });
    }
  });

  it('sends the completion function failures to its own dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [roleIdOf(jobs.completionFunction), 'Arn'] },
      DeadLetterConfig: { TargetArn: arnOf(jobs.completionDeadLetterQueue) },
    });
  });
});

describe('worker async invocation', () => {
  it('retries twice for at most 6 hours, then sends the failure to the bus', () => {
    // The other configs are the sweeper's (no retries: the next sweep repeats a failed one)
    // and the starter's (test/infra/starters.test.ts).
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 3);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(jobs.sweeperFunction),
      MaximumRetryAttempts: 0,
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(startersOf(jobs).starterFunction),
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 60 * 60,
      DestinationConfig: { OnFailure: { Destination: arnOf(startersOf(jobs).deadLetterQueue) } },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(jobs.workerFunction),
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 60 * 60,
      DestinationConfig: Match.objectEquals({
        OnFailure: { Destination: arnOf(jobs.eventBus) },
      }),
    });
  });
});

describe('HTTP API', () => {
  const routeTargets = () => {
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    // The HTTP API's routes; the stream's WebSocket API has its own (test/infra/job-stream.test.ts).
    const routes = template.findResources('AWS::ApiGatewayV2::Route', {
      Properties: { ApiId: ref(jobs.api) },
    });
    return Object.values(routes).map((route) => {
      const target = JSON.stringify(route.Properties.Target);
      const integrationId = Object.keys(integrations).find((id) =>
        target.includes(`{"Ref":"${id}"}`),
      );
      const integration = integrationId ? integrations[integrationId] : undefined;
      return {
        routeKey: route.Properties.RouteKey as string,
        authorizationType: route.Properties.AuthorizationType as string | undefined,
        integration: integration?.Properties,
      };
    });
  };

  it('has exactly the seven job routes, each to the right function', () => {
    expect(routeTargets()).toHaveLength(7);
    const expected: Record<string, unknown> = {
      'POST /jobs': arnOf(jobs.startJobFunction),
      'POST /jobs/batch': arnOf(jobs.startJobFunction),
      'GET /jobs': arnOf(jobs.listJobsFunction),
      'GET /jobs/{name}': arnOf(jobs.getJobFunction),
      'DELETE /jobs/{name}': arnOf(jobs.cancelJobFunction),
      'POST /jobs/{name}/signals/{signal}': arnOf(jobs.signalJobFunction),
      // A replay is a start: the start function serves it, with no function of its own.
      'POST /jobs/{name}/replay': arnOf(jobs.startJobFunction),
    };
    const actual = Object.fromEntries(
      routeTargets().map((r) => [r.routeKey, r.integration?.IntegrationUri]),
    );
    expect(actual).toEqual(expected);
    expect(Object.keys(actual)).not.toContain('$default');
  });

  it('requires IAM authorization on every route', () => {
    const routes = routeTargets();
    expect(routes).toHaveLength(7);
    for (const route of routes) {
      expect(route.authorizationType, route.routeKey).toBe('AWS_IAM');
    }
    expect(routes.filter((r) => r.authorizationType === 'NONE')).toEqual([]);
  });

  it('integrates with Lambda using payload format 2.0', () => {
    const httpIntegrations = template.findResources('AWS::ApiGatewayV2::Integration', {
      Properties: { ApiId: ref(jobs.api) },
    });
    expect(Object.keys(httpIntegrations)).toHaveLength(5);
    for (const route of routeTargets()) {
      expect(route.integration).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
      });
    }
  });

  it('has a $default stage with JSON access logs and explicit throttling', () => {
    const httpStages = template.findResources('AWS::ApiGatewayV2::Stage', {
      Properties: { ApiId: ref(jobs.api) },
    });
    expect(Object.keys(httpStages)).toHaveLength(1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: {
        DestinationArn: arnOf(jobs.accessLogGroup),
        Format: Match.serializedJson(
          Match.objectLike({
            requestId: '$context.requestId',
            routeKey: '$context.routeKey',
            status: '$context.status',
          }),
        ),
      },
    });
    const group = template.findResources('AWS::Logs::LogGroup')[logicalId(jobs.accessLogGroup)];
    expect(group?.Properties).toEqual({ RetentionInDays: 30 });
  });

  it('lets only API Gateway routes of this API invoke the API functions', () => {
    for (const fn of [
      jobs.startJobFunction,
      jobs.getJobFunction,
      jobs.listJobsFunction,
      jobs.cancelJobFunction,
      jobs.signalJobFunction,
    ]) {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: arnOf(fn),
        Principal: 'apigateway.amazonaws.com',
        SourceArn: Match.anyValue(),
      });
    }
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    const onWorker = permissions.filter(
      (p) =>
        JSON.stringify(p.Properties.FunctionName) === JSON.stringify(arnOf(jobs.workerFunction)),
    );
    expect(onWorker).toEqual([]);
  });
});

describe('completion rules', () => {
  it('route outcome events with the source and detail-types events.ts exports', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: ref(jobs.eventBus),
      EventPattern: Match.objectEquals({
        source: [EVENT_SOURCE],
        'detail-type': [...JOB_OUTCOME_EVENT_TYPES],
      }),
    });
  });

  it("route Lambda's failure records of the worker only (qualified-ARN prefix with colon)", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: ref(jobs.eventBus),
      EventPattern: Match.objectEquals({
        source: [LAMBDA_DESTINATION_SOURCE],
        'detail-type': [LambdaDestinationType.Failure],
        // The field AWS documents; `resources` is not, so it is not matched on.
        detail: {
          requestContext: {
            functionArn: [{ prefix: { 'Fn::Join': ['', [arnOf(jobs.workerFunction), ':']] } }],
          },
        },
      }),
    });
  });

  it('both target the completion function with retries and a dead-letter queue', () => {
    // Seven rules: these two, the stream recorder's, the reference app's onOutcome and the
    // starters' Job Rejected rule on the bus; the sweeper's schedule and the reference app's
    // trigger (JobRequestedRule) on the default bus.
    template.resourceCountIs('AWS::Events::Rule', 7);
    const completionArn = JSON.stringify(arnOf(jobs.completionFunction));
    const rules = Object.values(template.findResources('AWS::Events::Rule')).filter((rule) =>
      JSON.stringify(rule.Properties.Targets).includes(completionArn),
    );
    expect(rules).toHaveLength(2);
    for (const rule of rules) {
      expect(rule.Properties.Targets).toEqual([
        {
          Id: expect.any(String),
          Arn: arnOf(jobs.completionFunction),
          DeadLetterConfig: { Arn: arnOf(jobs.ruleDeadLetterQueue) },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 24 * 60 * 60 },
        },
      ]);
    }
  });

  it('may send undeliverable events to the rule dead-letter queue', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(jobs.ruleDeadLetterQueue)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sqs:SendMessage',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
          }),
        ]),
      },
    });
  });
});

describe('dead-letter queues', () => {
  it('enforce TLS, use SQS-managed encryption and keep messages 14 days', () => {
    // Four dead-letter queues, and the reference app's OutcomeQueue (test/infra/on-outcome.test.ts).
    template.resourceCountIs('AWS::SQS::Queue', 5);
    for (const queue of [
      ...jobs.deadLetterQueues,
      jobs.stream.deadLetterQueue,
      startersOf(jobs).deadLetterQueue,
    ]) {
      const queueId = logicalId(queue);
      const props = template.findResources('AWS::SQS::Queue')[queueId]?.Properties;
      expect(props).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 60 * 60,
      });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(queue)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });
});

describe('least privilege', () => {
  const nonBaseline = (statements: Statement[]) =>
    statements.filter(
      (s) => !s.Action.every((a) => a.startsWith('logs:') || a.startsWith('xray:')),
    );
  const actionsOf = (statements: Statement[]) =>
    [...new Set(nonBaseline(statements).flatMap((s) => s.Action))].sort();

  it('gives every function role no managed policy and trusts only Lambda', () => {
    const roles = template.findResources('AWS::IAM::Role');
    // Eleven function roles, and the timer and schedule roles, which Scheduler assumes (below;
    // test/infra/starters.test.ts).
    expect(Object.keys(roles)).toHaveLength(13);
    const schedulerRoleIds = [logicalId(timerRole()), logicalId(startersOf(jobs).scheduleRole)];
    expect(Object.keys(roles)).toEqual(expect.arrayContaining(schedulerRoleIds));
    for (const [id, role] of Object.entries(roles)) {
      expect(role.Properties.ManagedPolicyArns, id).toBeUndefined();
      expect(role.Properties.Policies, id).toBeUndefined();
      if (schedulerRoleIds.includes(id)) continue;
      expect(role.Properties.AssumeRolePolicyDocument.Statement, id).toEqual([
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
        },
      ]);
    }
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    // One default policy per role, and the worker's resume policy.
    template.resourceCountIs('AWS::IAM::Policy', 14);
  });

  it('lets only EventBridge Scheduler of this account assume the timer role', () => {
    const role = template.findResources('AWS::IAM::Role')[logicalId(timerRole())];
    expect(role?.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
  });

  it('lets the timer role invoke the worker and nothing else', () => {
    const roleId = logicalId(timerRole());
    expect(statementsOfRole(template, roleId)).toEqual([
      {
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: [arnOf(jobs.workerFunction)],
      },
    ]);
    // That statement is the role's only policy (no inline policies, checked above).
    const attached = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`),
    );
    expect(attached).toHaveLength(1);
    expect(attached[0]?.Properties.Roles).toEqual([{ Ref: roleId }]);
  });

  it("gives the worker's resume policy exactly its three statements, on the worker role only", () => {
    const policy = template.findResources('AWS::IAM::Policy')[logicalId(resumePolicy())];
    expect(policy?.Properties.Roles).toEqual([{ Ref: roleIdOf(jobs.workerFunction) }]);
    expect(policy?.Properties.Users).toBeUndefined();
    expect(policy?.Properties.Groups).toBeUndefined();
    expect(policy?.Properties.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          // Wake-up schedules in the stack's own timer group only.
          Action: 'scheduler:CreateSchedule',
          Effect: 'Allow',
          Resource: schedulesIn(timerGroup()),
        },
        {
          // The timer role only, and only to Scheduler.
          Action: 'iam:PassRole',
          Effect: 'Allow',
          Resource: arnOf(timerRole()),
          Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        },
        {
          // Continuations: the worker hands a run to a fresh invocation of itself.
          Action: 'lambda:InvokeFunction',
          Effect: 'Allow',
          Resource: arnOf(jobs.workerFunction),
        },
      ],
    });
  });

  it('gives no role but the worker any Scheduler action or iam:PassRole', () => {
    const workerRoleId = roleIdOf(jobs.workerFunction);
    const roleIds = Object.keys(template.findResources('AWS::IAM::Role'));
    expect(roleIds).toContain(workerRoleId);
    for (const roleId of roleIds) {
      const actions = statementsOfRole(template, roleId).flatMap((s) => s.Action);
      const timerActions = actions.filter(
        (a) => a.startsWith('scheduler:') || a === 'iam:PassRole',
      );
      expect(timerActions, roleId).toEqual(
        roleId === workerRoleId ? ['scheduler:CreateSchedule', 'iam:PassRole'] : [],
      );
    }
  });

  it('lets each function write only to its own log group', () => {
    for (const fn of Object.values(functionsOf(jobs))) {
      const logGroup = fn.node.scope?.node.findChild(`${fn.node.id}Logs`);
      if (!logGroup) throw new Error('log group not found');
      const logStatements = statementsOfRole(template, roleIdOf(fn)).filter((s) =>
        s.Action.some((a) => a.startsWith('logs:')),
      );
      expect(logStatements).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: [arnOf(logGroup)],
        },
      ]);
    }
  });

  it('uses "*" only for the X-Ray actions, and a wildcard only for the timer group\'s schedules', () => {
    const roles = {
      ...Object.fromEntries(Object.entries(functionsOf(jobs)).map(([k, fn]) => [k, roleIdOf(fn)])),
      timer: logicalId(timerRole()),
      schedule: logicalId(startersOf(jobs).scheduleRole),
    };
    const wildcards: Array<{ role: string; statement: Statement }> = [];
    for (const [key, roleId] of Object.entries(roles)) {
      const statements = statementsOfRole(template, roleId);
      expect(statements.length, key).toBeGreaterThan(0);
      for (const s of statements) {
        const json = JSON.stringify(s);
        expect(
          s.Action.some((a) => a.includes('*')),
          json,
        ).toBe(false);
        const isXray = s.Action.every((a) => a.startsWith('xray:'));
        if (isXray) {
          // X-Ray has no resource-level permissions: its actions need the bare "*".
          expect(s.Resource, json).toEqual(['*']);
          continue;
        }
        expect(s.Resource, json).not.toContain('*');
        if (JSON.stringify(s.Resource).includes('*')) wildcards.push({ role: key, statement: s });
      }
    }
    // The only other wildcard: the worker's schedules, in its own timer group.
    expect(wildcards).toEqual([
      {
        role: 'worker',
        statement: {
          Effect: 'Allow',
          Action: ['scheduler:CreateSchedule'],
          Resource: [schedulesIn(timerGroup())],
        },
      },
    ]);
  });

  it('grants each function exactly the actions it uses', () => {
    const expected = {
      startJob: [
        'dynamodb:BatchGetItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'lambda:InvokeFunction',
      ],
      getJob: ['dynamodb:GetItem', 'dynamodb:Query'],
      listJobs: ['dynamodb:Query'],
      cancelJob: ['dynamodb:Query', 'dynamodb:UpdateItem', 'events:PutEvents'],
      signalJob: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'lambda:InvokeFunction',
      ],
      worker: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'iam:PassRole',
        'lambda:InvokeFunction',
        'scheduler:CreateSchedule',
      ],
      completion: [
        'dynamodb:BatchGetItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'lambda:InvokeFunction',
        'secretsmanager:GetSecretValue',
        'sqs:SendMessage',
      ],
      sweeper: [
        'dynamodb:BatchGetItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'lambda:InvokeFunction',
      ],
      startFromEvent: [
        'dynamodb:BatchGetItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'lambda:InvokeFunction',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ],
    };
    const actual = Object.fromEntries(
      Object.entries(functionsOf(jobs)).map(([key, fn]) => [
        key,
        actionsOf(statementsOfRole(template, roleIdOf(fn))),
      ]),
    );
    expect(actual).toEqual(expected);
  });

  it('lets the worker put events on the bus only, never delete items, and touch only job partitions (LeadingKeys JOB#*)', () => {
    expect(`${JOB_PARTITION_PREFIX}*`).toBe('JOB#*');
    const statements = nonBaseline(statementsOfRole(template, roleIdOf(jobs.workerFunction)));
    const putEvents = statements.filter((s) => s.Action.includes('events:PutEvents'));
    expect(putEvents).toEqual([
      { Effect: 'Allow', Action: ['events:PutEvents'], Resource: [arnOf(jobs.eventBus)] },
    ]);
    const actions = statements.flatMap((s) => s.Action);
    for (const never of ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:Scan']) {
      expect(actions).not.toContain(never);
    }
    // Every table action it has is in that one statement, under the LeadingKeys condition.
    const dynamo = statements.filter((s) => s.Action.some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toEqual([workerTableStatement()]);
  });

  it("lets signal-job read a job's partition, put its signals there (LeadingKeys JOB#*) and invoke the worker, nothing else", () => {
    const statements = nonBaseline(statementsOfRole(template, roleIdOf(jobs.signalJobFunction)));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
        Resource: [arnOf(jobs.table)],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['JOB#*'] } },
      },
      {
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: [arnOf(jobs.workerFunction)],
      },
    ]);
  });

  it('lets signal-job never update or delete an item, nor put events', () => {
    const actions = nonBaseline(
      statementsOfRole(template, roleIdOf(jobs.signalJobFunction)),
    ).flatMap((s) => s.Action);
    for (const never of [
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:Scan',
      'events:PutEvents',
    ]) {
      expect(actions).not.toContain(never);
    }
  });

  it('lets list-jobs query the two indexes only, not the table', () => {
    const statements = nonBaseline(statementsOfRole(template, roleIdOf(jobs.listJobsFunction)));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        Resource: [
          tableArnJoin(JobsTable.byOwner.indexName),
          tableArnJoin(JobsTable.byOwnerStatus.indexName),
        ],
      },
    ]);
  });

  it("lets the sweeper read the active-jobs index and a run's record, tend the queues, end runs and start the worker, nothing else", () => {
    const statements = nonBaseline(statementsOfRole(template, roleIdOf(jobs.sweeperFunction)));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        Resource: [tableArnJoin(JobsTable.byActive.indexName)],
      },
      {
        Effect: 'Allow',
        Action: [
          'dynamodb:BatchGetItem',
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
        Resource: [arnOf(jobs.table)],
      },
      { Effect: 'Allow', Action: ['events:PutEvents'], Resource: [arnOf(jobs.eventBus)] },
      {
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: [arnOf(jobs.workerFunction)],
      },
    ]);
  });

  it('lets completion read only the webhook secret and put events only on the bus', () => {
    const statements = nonBaseline(statementsOfRole(template, roleIdOf(jobs.completionFunction)));
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: [ref(jobs.webhookSecret)],
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['events:PutEvents'],
      Resource: [arnOf(jobs.eventBus)],
    });
  });

  it('generates a 64-character webhook secret without punctuation', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
  });

  it('lets start-job invoke the worker and nothing else', () => {
    const statements = nonBaseline(statementsOfRole(template, roleIdOf(jobs.startJobFunction)));
    const invoke = statements.filter((s) => s.Action.some((a) => a.startsWith('lambda:')));
    expect(invoke).toEqual([
      {
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: [arnOf(jobs.workerFunction)],
      },
    ]);
  });

  it('serves POST /jobs/{name}/replay from start-job with the table grant a start has: no index, no new action', () => {
    // A replay reads the job's active record (GetItem) and its latest outcome (Query) in the
    // job's partition, then starts as POST /jobs does: one statement on the table itself.
    const statements = nonBaseline(statementsOfRole(template, roleIdOf(jobs.startJobFunction)));
    const dynamo = statements.filter((s) => s.Action.some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'dynamodb:BatchGetItem',
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
        Resource: [arnOf(jobs.table)],
      },
    ]);
    // API Gateway may invoke start-job for the replay route (the permission names the route's path).
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter(
      (p) =>
        JSON.stringify(p.Properties.FunctionName) === JSON.stringify(arnOf(jobs.startJobFunction)),
    );
    expect(permissions.map((p) => JSON.stringify(p.Properties.SourceArn))).toEqual(
      expect.arrayContaining([expect.stringContaining('/jobs/{name}/replay')]),
    );
  });

  it('scopes the other table grants to the table ARN', () => {
    for (const fn of [
      jobs.startJobFunction,
      jobs.getJobFunction,
      jobs.cancelJobFunction,
      jobs.completionFunction,
      startersOf(jobs).starterFunction,
    ]) {
      const dynamo = nonBaseline(statementsOfRole(template, roleIdOf(fn))).filter((s) =>
        s.Action.some((a) => a.startsWith('dynamodb:')),
      );
      expect(dynamo.length).toBeGreaterThan(0);
      for (const s of dynamo) expect(s.Resource).toEqual([arnOf(jobs.table)]);
    }
  });
});

describe('sleep timers', () => {
  it('are one schedule group, named by CloudFormation', () => {
    // The timers' group, and the starters' group of the app's schedules (test/infra/starters.test.ts).
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 2);
    const group = template.findResources('AWS::Scheduler::ScheduleGroup')[logicalId(timerGroup())];
    expect(group).toBeDefined();
    // No physical name: two stacks (or two AsyncJobs) in one account and region never clash.
    expect(group?.Properties?.Name).toBeUndefined();
  });

  it("name the timer role's Arn and the group's Ref in the worker's environment", () => {
    const worker = template.findResources('AWS::Lambda::Function')[logicalId(jobs.workerFunction)];
    const variables = worker?.Properties.Environment.Variables as Record<string, unknown>;
    expect(variables.TIMER_ROLE_ARN).toEqual(arnOf(timerRole()));
    expect(variables.TIMER_GROUP_NAME).toEqual(ref(timerGroup()));
    expect(variables.TIMER_ROLE_ARN).toEqual({
      'Fn::GetAtt': [logicalId(timerRole()), 'Arn'],
    });
    // The role the worker passes and the group it creates schedules in are the same ones.
    const resume = statementsOfRole(template, roleIdOf(jobs.workerFunction));
    expect(resume.find((s) => s.Action.includes('iam:PassRole'))?.Resource).toEqual([
      variables.TIMER_ROLE_ARN,
    ]);
    expect(
      JSON.stringify(resume.find((s) => s.Action.includes('scheduler:CreateSchedule'))?.Resource),
    ).toContain(JSON.stringify(variables.TIMER_GROUP_NAME));
  });
});

describe('sweeper schedule', () => {
  it('invokes the sweeper once a minute from a schedule rule on the default bus', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      EventBusName: Match.absent(),
      Targets: [
        Match.objectLike({
          Arn: arnOf(jobs.sweeperFunction),
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ],
    });
  });
});

describe('dead-letter queue alarms', () => {
  it('alarm on each dead-letter queue as soon as it holds a message', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    for (const queue of [
      ...jobs.deadLetterQueues,
      jobs.stream.deadLetterQueue,
      startersOf(jobs).deadLetterQueue,
    ]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue), 'QueueName'] } },
        ],
        Statistic: 'Maximum',
        Period: 60,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    }
  });
});

describe('template', () => {
  it('contains no custom resources (the local cloud cannot run them)', () => {
    const types = Object.values(
      template.toJSON().Resources as Record<string, { Type: string }>,
    ).map((r) => r.Type);
    expect(types.filter((t) => t.startsWith('Custom::'))).toEqual([]);
    expect(types).not.toContain('AWS::CloudFormation::CustomResource');
  });

  it('outputs what a client and the local cloud need', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'TableName',
        'EventBusName',
        'WorkerFunctionName',
        'WebhookSecretArn',
        'StreamUrl',
        'RuleDeadLetterQueueUrl',
        'CompletionDeadLetterQueueUrl',
        'StreamDeadLetterQueueUrl',
        'StartDeadLetterQueueUrl',
        'StarterFunctionName',
      ]),
    );
  });
});
