import { type App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NagPack } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Defaults } from '../../core/config';
import { EVENT_SOURCE, JobEventType } from '../../core/events';
import { AsyncJobs } from '../../infra/async-jobs';
import { EventJobsStack, REFERENCE_JOB_TYPES } from '../../infra/eventjobs-stack';
import { JobEventStream, SUBSCRIBE_ROUTE } from '../../infra/job-stream';
import { addNagPacks } from '../../infra/nag';
import { arnOf, createApp, logicalId, ref, type Statement, statementsOfRole } from './helpers';

/** AsyncJobs plus the stream, wired the way the stack wires it. */
function streamStack(): { app: App; stack: Stack; jobs: AsyncJobs; stream: JobEventStream } {
  const app = createApp();
  const stack = new Stack(app, 'EventJobs');
  const jobs = new AsyncJobs(stack, 'AsyncJobs', { jobTypes: { entry: REFERENCE_JOB_TYPES } });
  return { app, stack, jobs, stream: jobs.stream };
}

function findings(packs: NagPack[], scope: IConstruct): string[] {
  return packs.flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? '?'}`),
      ),
  );
}

describe('cdk-nag on AsyncJobs plus the stream', () => {
  it('report no unacknowledged finding', () => {
    const { app, stack } = streamStack();
    const packs = addNagPacks(app);
    expect(findings(packs, stack)).toEqual([]);
  });
});

describe('JobEventStream', () => {
  let template: Template;
  let jobs: AsyncJobs;
  let stream: JobEventStream;

  beforeAll(() => {
    ({ jobs, stream } = streamStack());
    template = Template.fromStack(Stack.of(stream));
  });

  const roleIdOf = (fn: { role?: IConstruct }) => {
    if (!fn.role) throw new Error('function has no role');
    return logicalId(fn.role);
  };

  const routes = () =>
    Object.values(template.findResources('AWS::ApiGatewayV2::Route')).filter(
      (route) =>
        JSON.stringify(route.Properties.ApiId) === JSON.stringify(ref(stream.webSocketApi)),
    );

  it('is a WebSocket API that selects routes by the message action', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  it('has $connect, subscribe, $default and $disconnect, all to the connection function', () => {
    const found = routes();
    expect(found.map((r) => r.Properties.RouteKey).sort()).toEqual(
      ['$connect', '$default', '$disconnect', SUBSCRIBE_ROUTE].sort(),
    );
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    for (const route of found) {
      const target = JSON.stringify(route.Properties.Target);
      const id = Object.keys(integrations).find((key) => target.includes(`{"Ref":"${key}"}`));
      const integration = id ? integrations[id]?.Properties : undefined;
      expect(integration?.IntegrationType, route.Properties.RouteKey).toBe('AWS_PROXY');
      expect(JSON.stringify(integration?.IntegrationUri)).toContain(
        logicalId(stream.connectionFunction),
      );
    }
  });

  it('requires IAM authorization on $connect', () => {
    const connect = routes().find((r) => r.Properties.RouteKey === '$connect');
    expect(connect?.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('has a throttled stage, without access logs unless asked (they need the account role)', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: ref(stream.webSocketApi),
      StageName: 'live',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: Match.absent(),
    });
    expect(stream.accessLogGroup).toBeUndefined();
  });

  it('writes JSON access logs with accessLogging on', () => {
    const stack = new Stack(createApp(), 'Logged');
    const jobs = new AsyncJobs(stack, 'AsyncJobs', { jobTypes: { entry: REFERENCE_JOB_TYPES } });
    const logged = new JobEventStream(stack, 'Logged', {
      table: jobs.table,
      eventBus: jobs.eventBus,
      accessLogging: true,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: ref(logged.webSocketApi),
      AccessLogSettings: {
        DestinationArn: arnOf(logged.accessLogGroup as IConstruct),
        Format: Match.serializedJson(
          Match.objectLike({
            connectionId: '$context.connectionId',
            routeKey: '$context.routeKey',
          }),
        ),
      },
    });
  });

  it('routes the six lifecycle events on the jobs bus to the recorder, with a DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: ref(jobs.eventBus),
      EventPattern: Match.objectEquals({
        source: [EVENT_SOURCE],
        'detail-type': Object.values(JobEventType),
      }),
      Targets: [
        Match.objectLike({
          Arn: arnOf(stream.recorderFunction),
          DeadLetterConfig: { Arn: arnOf(stream.deadLetterQueue) },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [roleIdOf(stream.recorderFunction), 'Arn'] },
      DeadLetterConfig: { TargetArn: arnOf(stream.deadLetterQueue) },
    });
  });

  it('gives both functions the table, the callback URL and (recorder) the retention', () => {
    const callbackUrl = Match.objectLike({ 'Fn::Join': Match.anyValue() });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [roleIdOf(stream.recorderFunction), 'Arn'] },
      Runtime: 'nodejs24.x',
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectEquals({
          JOBS_TABLE_NAME: ref(jobs.table),
          STREAM_CALLBACK_URL: callbackUrl,
          OUTCOME_RETENTION_SECONDS: String(Defaults.outcomeRetentionSeconds),
          NODE_OPTIONS: '--enable-source-maps',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [roleIdOf(stream.connectionFunction), 'Arn'] },
      Environment: {
        Variables: Match.objectEquals({
          JOBS_TABLE_NAME: ref(jobs.table),
          STREAM_CALLBACK_URL: callbackUrl,
          OWNER_MODEL: 'principal',
          NODE_OPTIONS: '--enable-source-maps',
        }),
      },
    });
  });

  describe('least privilege', () => {
    const tableArn = () => arnOf(jobs.table);
    const connectionsArn = (method: string) =>
      JSON.stringify({
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
            ref(stream.webSocketApi),
            `/live/${method}/@connections/*`,
          ],
        ],
      });
    const byService = (statements: Statement[], prefix: string) =>
      statements.filter((s) => s.Action.some((a) => a.startsWith(prefix)));

    it.each([
      ['recorder', () => stream.recorderFunction, ['PutItem', 'Query', 'DeleteItem'], ['JOB#*']],
      [
        'connection',
        () => stream.connectionFunction,
        ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
        ['JOB#*', 'CONN#*'],
      ],
    ] as const)(
      '%s: DynamoDB on its own partitions of the jobs table only, @connections of this stage only',
      (_, fn, actions, leadingKeys) => {
        const statements = statementsOfRole(template, roleIdOf(fn()));
        const dynamo = byService(statements, 'dynamodb:');
        expect(dynamo).toHaveLength(1);
        expect([...(dynamo[0]?.Action ?? [])].sort()).toEqual(
          actions.map((a) => `dynamodb:${a}`).sort(),
        );
        expect(dynamo[0]?.Resource).toEqual([tableArn()]);
        // Never the queues' and counters' items (SLOTS#, QUEUE#, ROUND#) of the same table.
        expect(dynamo[0]?.Condition).toEqual({
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...leadingKeys] },
        });
        const manage = byService(statements, 'execute-api:');
        expect(manage).toHaveLength(1);
        expect(manage[0]?.Action).toEqual(['execute-api:ManageConnections']);
        expect(manage[0]?.Resource.map((r) => JSON.stringify(r)).sort()).toEqual(
          [connectionsArn('DELETE'), connectionsArn('POST')].sort(),
        );
        // Nothing else but the function's own log group, X-Ray and (recorder) its DLQ.
        const others = statements.filter(
          (s) =>
            !s.Action.some((a) => /^(dynamodb|execute-api|logs|xray):/.test(a)) &&
            !(
              s.Action.join() === 'sqs:SendMessage' &&
              JSON.stringify(s.Resource) === JSON.stringify([arnOf(stream.deadLetterQueue)])
            ),
        );
        expect(others).toEqual([]);
        for (const s of statements) {
          if (s.Resource.includes('*'))
            expect(s.Action.every((a) => a.startsWith('xray:'))).toBe(true);
        }
      },
    );
  });

  it('is the wss:// URL the stack outputs as StreamUrl', () => {
    const app = createApp();
    const eventJobs = new EventJobsStack(app, 'EventJobsOutputs', {});
    const outputs = Template.fromStack(eventJobs).findOutputs('StreamUrl');
    expect(Object.keys(outputs)).toEqual(['StreamUrl']);
    expect(JSON.stringify(outputs.StreamUrl?.Value)).toMatch(/^\{"Fn::Join":\["",\["wss:\/\/"/);
    expect(JSON.stringify(outputs.StreamUrl?.Value)).toContain('/live');
  });

  it('grantConnect allows execute-api:Invoke on $connect of the stage only', () => {
    const { stack, stream: s } = streamStack();
    const role = new iam.Role(stack, 'Client', { assumedBy: new iam.AccountRootPrincipal() });
    s.grantConnect(role);
    const t = Template.fromStack(stack);
    const statements = statementsOfRole(t, logicalId(role));
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toEqual(['execute-api:Invoke']);
    expect(JSON.stringify(statements[0]?.Resource)).toContain('/live/$connect');
  });
});

describe('acknowledgements of the stream', () => {
  it('each carry a written reason', () => {
    const { stream } = streamStack();
    for (const node of stream.node.findAll()) {
      for (const entry of node.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const reason of Object.values(entry.data as Record<string, unknown>)) {
          expect(String(reason).length, node.node.path).toBeGreaterThan(40);
        }
      }
    }
  });

  it('let the app synthesize with the nag packs as validation plugins', () => {
    const { app } = streamStack();
    addNagPacks(app);
    expect(() => app.synth()).not.toThrow();
  });
});
