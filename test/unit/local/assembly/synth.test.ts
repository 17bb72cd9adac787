/**
 * loadStack on the project's own synthesized assembly: the specs the local
 * cloud runs must say what the deployed stack does. Synthesizes once, into a
 * temporary directory, so cdk.out is left alone.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedStack, loadStack, readAssembly } from '../../../../local/assembly/stack';
import type { FunctionSpec, QueueSpec, RuleSpec } from '../../../../local/contracts';

const ROOT = join(import.meta.dirname, '../../../..');
const CONTEXT = {
  region: 'eu-west-1',
  accountId: '123456789012',
  partition: 'aws',
  apiEndpoint: (apiId: string) => `http://127.0.0.1:3000/apis/${apiId}`,
  sqsEndpoint: 'http://127.0.0.1:4566',
};

let assemblyDir = '';
let stack: LoadedStack;

beforeAll(async () => {
  assemblyDir = mkdtempSync(join(tmpdir(), 'eventjobs-synth-'));
  await promisify(execFile)('npx', ['cdk', 'synth', '--quiet', '-o', assemblyDir], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  stack = loadStack(readAssembly(assemblyDir), CONTEXT);
}, 180_000);

afterAll(() => {
  if (assemblyDir) rmSync(assemblyDir, { recursive: true, force: true });
});

/** The construct path (`EventJobs/AsyncJobs/<name>/Resource`) is stable; logical ids are hashed. */
function constructOf(logicalId: string): string | undefined {
  const path = stack.template.resource(logicalId).Metadata?.['aws:cdk:path'];
  return typeof path === 'string' ? path.split('/').at(-2) : undefined;
}

function byConstruct<T extends { readonly logicalId?: string }>(
  items: readonly T[],
  name: string,
): T {
  const found = items.filter((item) => item.logicalId && constructOf(item.logicalId) === name);
  const [item] = found;
  if (found.length !== 1 || item === undefined) {
    throw new Error(`expected one resource of construct ${name}, found ${found.length}`);
  }
  return item;
}

const fn = (name: string): FunctionSpec => byConstruct(stack.functions, name);
const queue = (name: string): QueueSpec => byConstruct(stack.queues, name);
const rule = (name: string): RuleSpec => byConstruct(stack.rules, name);

describe('loadStack on the synthesized EventJobs assembly', () => {
  it('runs eleven functions, each from its bundled asset with index.handler', () => {
    // assess
    expect(stack.functions.map((f) => constructOf(f.logicalId)).sort()).toEqual([
      'CancelJob',
      'Completion',
      'Connection',
      'GetJob',
      'ListJobs',
      'Recorder',
      'SignalJob',
      'StartFromEvent',
      'StartJob',
      'Sweeper',
      'Worker',
    ]);
    for (const spec of stack.functions) {
      expect(spec.handler).toBe('index.handler');
      expect(spec.codeDir.startsWith(assemblyDir)).toBe(true);
      expect(existsSync(join(spec.codeDir, 'index.mjs'))).toBe(true);
      expect(spec.arn).toBe(`arn:aws:lambda:eu-west-1:123456789012:function:${spec.name}`);
    }
  });

  it('gives the functions the table and bus names the table and bus specs have', () => {
    // prepare
    const [table] = stack.tables;
    const [bus] = stack.buses;

    // assess
    expect(table).toBeDefined();
    for (const spec of stack.functions) {
      expect(spec.environment.JOBS_TABLE_NAME).toBe(table?.name);
    }
    expect(fn('Worker').environment.EVENT_BUS_NAME).toBe(bus?.name);
  });

  it("sends the worker's failed async invocations to the bus after two retries within six hours", () => {
    // prepare
    const [bus] = stack.buses;

    // assess
    expect(fn('Worker').asyncConfig).toEqual({
      maximumRetryAttempts: 2,
      maximumEventAgeSeconds: 21600,
      onSuccessArn: undefined,
      onFailureArn: bus?.arn,
    });
  });

  it("sends the completion function's failed events to its dead-letter queue", () => {
    // assess
    expect(fn('Completion').deadLetterTargetArn).toBe(queue('CompletionDeadLetterQueue').arn);
    expect(fn('Completion').deadLetterTargetArn).toMatch(/^arn:aws:sqs:eu-west-1:123456789012:/);
  });

  it('creates the jobs table with its three global secondary indexes', () => {
    // assess
    expect(stack.tables).toHaveLength(1);
    const [table] = stack.tables;
    expect(table?.createTableInput).toMatchObject({
      TableName: table?.name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byOwner',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
        },
        {
          IndexName: 'byOwnerStatus',
          KeySchema: [
            { AttributeName: 'gsi2pk', KeyType: 'HASH' },
            { AttributeName: 'gsi2sk', KeyType: 'RANGE' },
          ],
        },
        {
          IndexName: 'byActive',
          KeySchema: [
            { AttributeName: 'gsi3pk', KeyType: 'HASH' },
            { AttributeName: 'gsi3sk', KeyType: 'RANGE' },
          ],
        },
      ],
    });
    expect(table?.ttlAttribute).toBe('expiresAt');
  });

  it('has five queues (four dead-letter queues and the outcome queue) and one bus', () => {
    // assess
    expect(stack.queues.map((q) => constructOf(q.logicalId)).sort()).toEqual([
      'CompletionDeadLetterQueue',
      'DeadLetterQueue',
      'OutcomeQueue',
      'RuleDeadLetterQueue',
      'StartDeadLetterQueue',
    ]);
    expect(stack.buses).toHaveLength(1);
    expect(stack.buses[0]?.arn).toBe(
      `arn:aws:events:eu-west-1:123456789012:event-bus/${stack.buses[0]?.name}`,
    );
  });

  it('routes outcome events and worker failures to the completion function through the bus', () => {
    // prepare
    const [bus] = stack.buses;
    const target = {
      id: 'Target0',
      arn: fn('Completion').arn,
      input: undefined,
      inputPath: undefined,
      inputTransformer: undefined,
      deadLetterArn: queue('RuleDeadLetterQueue').arn,
      retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 },
    };

    // assess
    // These two, the stream recorder's, the reference app's onOutcome, the starters' Job
    // Rejected rule, the sweeper's schedule and the reference app's trigger (JobRequestedRule).
    expect(stack.rules).toHaveLength(7);
    expect(rule('OutcomeRule')).toMatchObject({
      busName: bus?.name,
      enabled: true,
      eventPattern: {
        source: ['eventjobs'],
        'detail-type': ['Job Completed', 'Job Failed', 'Job Cancelled', 'Job Timed Out'],
      },
      targets: [target],
    });
    expect(rule('WorkerFailureRule')).toMatchObject({
      busName: bus?.name,
      enabled: true,
      eventPattern: {
        source: ['lambda'],
        'detail-type': ['Lambda Function Invocation Result - Failure'],
        detail: { requestContext: { functionArn: [{ prefix: `${fn('Worker').arn}:` }] } },
      },
      targets: [target],
    });
  });

  it('invokes the sweeper on a one-minute schedule', () => {
    // assess
    expect(rule('SweepRule')).toMatchObject({
      enabled: true,
      scheduleExpression: 'rate(1 minute)',
      targets: [expect.objectContaining({ arn: fn('Sweeper').arn })],
    });
  });

  it('serves one HTTP API with seven IAM-authorized routes to the five API functions', () => {
    // prepare
    const [api] = stack.apis;
    const functionOf = (routeKey: string) =>
      api?.routes.find((r) => r.routeKey === routeKey)?.integration?.functionArn;

    // assess
    expect(stack.apis).toHaveLength(1);
    expect(api?.routes).toHaveLength(7);
    expect(api?.routes.every((r) => r.authorizationType === 'AWS_IAM')).toBe(true);
    expect({
      start: functionOf('POST /jobs'),
      batch: functionOf('POST /jobs/batch'),
      list: functionOf('GET /jobs'),
      get: functionOf('GET /jobs/{name}'),
      cancel: functionOf('DELETE /jobs/{name}'),
      signal: functionOf('POST /jobs/{name}/signals/{signal}'),
      replay: functionOf('POST /jobs/{name}/replay'),
    }).toEqual({
      start: fn('StartJob').arn,
      batch: fn('StartJob').arn,
      list: fn('ListJobs').arn,
      get: fn('GetJob').arn,
      cancel: fn('CancelJob').arn,
      signal: fn('SignalJob').arn,
      replay: fn('StartJob').arn,
    });
    expect(api?.id).toMatch(/^[a-z0-9]{10}$/);
  });

  it("throttles and logs the API's default stage, and lets it invoke only the API functions", () => {
    // prepare
    const [api] = stack.apis;

    // assess
    expect(api?.stage.name).toBe('$default');
    expect(api?.stage.throttling).toEqual({ rateLimit: 50, burstLimit: 100 });
    expect(api?.stage.accessLogFormat).toContain('$context.requestId');
    expect(api?.stage.accessLogFormat).toContain('$context.identity.userArn');
    expect([...(api?.invokableFunctionArns ?? [])].sort()).toEqual(
      [
        fn('StartJob').arn,
        fn('ListJobs').arn,
        fn('GetJob').arn,
        fn('CancelJob').arn,
        fn('SignalJob').arn,
      ].sort(),
    );
  });

  it('emulates every resource type but the DLQ alarms and the WebSocket API, and says which ones have no local effect', () => {
    // assess: CloudWatch alarms on dead-letter-queue depth exist in AWS only, and the
    // WebSocket stream is served locally as Server-Sent Events instead (devserver/job-stream.ts)
    expect(Object.fromEntries(stack.notEmulated)).toEqual({
      'AWS::CloudWatch::Alarm': 4,
      'AWS::ApiGatewayV2::Api (WEBSOCKET)': 1,
    });
    expect([...stack.noLocalEffect.keys()]).toEqual(
      expect.arrayContaining(['AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::SQS::QueuePolicy']),
    );
  });

  it('resolves the outputs; ApiUrl is built from the API id as on AWS, not the local endpoint', () => {
    // prepare
    const [api] = stack.apis;
    const [table] = stack.tables;
    const [bus] = stack.buses;

    // act
    const outputs = stack.outputs();

    // assess
    expect(outputs).toEqual({
      ApiUrl: `https://${api?.id}.execute-api.eu-west-1.amazonaws.com/`,
      ApiId: api?.id,
      TableName: table?.name,
      WebhookSecretArn: stack.secrets[0]?.arn,
      EventBusName: bus?.name,
      WorkerFunctionName: fn('Worker').name,
      CompletionFunctionName: fn('Completion').name,
      RuleDeadLetterQueueUrl: queue('RuleDeadLetterQueue').url,
      CompletionDeadLetterQueueUrl: queue('CompletionDeadLetterQueue').url,
      StreamDeadLetterQueueUrl: queue('DeadLetterQueue').url,
      OutcomeQueueUrl: queue('OutcomeQueue').url,
      StartDeadLetterQueueUrl: queue('StartDeadLetterQueue').url,
      StarterFunctionName: fn('StartFromEvent').name,
      StreamUrl: expect.stringMatching(
        /^wss:\/\/[a-z0-9]+\.execute-api\.eu-west-1\.amazonaws\.com\/live$/,
      ),
    });
    expect(queue('RuleDeadLetterQueue').url).toMatch(/^http:\/\/127\.0\.0\.1:4566\/123456789012\//);
    expect(stack.secrets[0]?.arn).toMatch(
      /^arn:aws:secretsmanager:eu-west-1:123456789012:secret:EventJobs-AsyncJobsWebhookSecret[^:]*-[A-Za-z0-9_-]{6}$/,
    );
  });
});
