/**
 * readAssembly and loadStack on small hand-written cloud assemblies
 * (test/fixtures/assembly): which stack is read, and the specs the local
 * services are built from.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AssemblyStack,
  type LoadedStack,
  loadStack,
  readAssembly,
} from '../../../../local/assembly/stack';
import { type Template, TemplateError } from '../../../../local/assembly/template';
import type { BusSpec, FunctionSpec, QueueSpec } from '../../../../local/contracts';

const FIXTURES = join(import.meta.dirname, '../../../fixtures/assembly');
const SMALL = join(FIXTURES, 'small');
const TWO_STACKS = join(FIXTURES, 'two-stacks');

const CONTEXT = {
  region: 'eu-west-1',
  accountId: '123456789012',
  partition: 'aws',
  apiEndpoint: (apiId: string) => `http://127.0.0.1:3000/apis/${apiId}`,
  sqsEndpoint: 'http://127.0.0.1:4566',
};
const ARN = 'arn:aws';
const REGION_ACCOUNT = 'eu-west-1:123456789012';

/** The error an action throws, so its type and message can both be checked. */
function errorOf(act: () => unknown): Error {
  try {
    act();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`threw a non-error: ${String(error)}`);
  }
  throw new Error('expected an error, but nothing was thrown');
}

function only<T>(items: readonly T[], matches: (item: T) => boolean): T {
  const found = items.filter(matches);
  if (found.length !== 1) throw new Error(`expected exactly one match, found ${found.length}`);
  const [item] = found;
  if (item === undefined) throw new Error('no match');
  return item;
}

describe('readAssembly', () => {
  it('tells to run cdk synth when there is no assembly', () => {
    // prepare
    const missing = join(tmpdir(), 'eventjobs-no-such-assembly');

    // act
    const error = errorOf(() => readAssembly(missing));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain(missing);
    expect(error.message).toContain('cdk synth');
  });

  it('reads the only stack of an assembly, ignoring its other artifacts', () => {
    // act
    const assembly = readAssembly(SMALL);

    // assess
    expect(assembly.stackName).toBe('Small');
    expect(assembly.assemblyDir).toBe(SMALL);
    expect(Object.keys(assembly.template.Resources)).toContain('Worker');
  });

  it('asks for a stack name when there are several, listing them', () => {
    // act
    const error = errorOf(() => readAssembly(TWO_STACKS));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('Alpha');
    expect(error.message).toContain('Beta');
    expect(error.message).toContain('--stack');
  });

  it('reads the stack it is asked for, by its stack name', () => {
    // act
    const alpha = readAssembly(TWO_STACKS, 'Alpha');
    const beta = readAssembly(TWO_STACKS, 'Beta');

    // assess
    expect(alpha.stackName).toBe('Alpha');
    expect(Object.keys(alpha.template.Resources)).toEqual(['AlphaBus']);
    expect(beta.stackName).toBe('Beta');
    expect(Object.keys(beta.template.Resources)).toEqual(['BetaBus']);
  });

  it('fails on a stack name the assembly does not have, listing those it has', () => {
    // act
    const error = errorOf(() => readAssembly(TWO_STACKS, 'Gamma'));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('"Gamma"');
    expect(error.message).toContain('Alpha, Beta');
  });
});

describe('loadStack on the small fixture assembly', () => {
  let stack: LoadedStack;
  let worker: FunctionSpec;
  let inline: FunctionSpec;
  let bus: BusSpec;
  let deadLetterQueue: QueueSpec;

  beforeAll(() => {
    // Inline code goes to a fixed place: start without what an earlier run left there.
    rmSync(join(tmpdir(), 'eventjobs-local', 'Small'), { recursive: true, force: true });
    stack = loadStack(readAssembly(SMALL), CONTEXT);
    worker = only(stack.functions, (f) => f.logicalId === 'Worker');
    inline = only(stack.functions, (f) => f.logicalId === 'Inline');
    bus = only(stack.buses, (b) => b.logicalId === 'Bus');
    deadLetterQueue = only(stack.queues, (q) => q.logicalId === 'DeadLetterQueue');
  });

  it('runs a function from its asset directory with its resolved settings', () => {
    // assess
    expect(worker).toEqual({
      logicalId: 'Worker',
      name: 'Small-Worker',
      arn: `${ARN}:lambda:${REGION_ACCOUNT}:function:Small-Worker`,
      handler: 'index.handler',
      codeDir: join(SMALL, 'asset.worker'),
      runtime: 'nodejs22.x',
      timeoutSeconds: 30,
      memoryMb: 256,
      environment: { TABLE_NAME: 'Small-Table', BUS_NAME: 'small-bus', LIMIT: '5' },
      reservedConcurrency: undefined,
      roleArn: `${ARN}:iam::123456789012:role/Small-Role`,
      deadLetterTargetArn: deadLetterQueue.arn,
      logGroupName: '/aws/lambda/Small-Worker',
      asyncConfig: {
        maximumRetryAttempts: 0,
        maximumEventAgeSeconds: 120,
        onSuccessArn: deadLetterQueue.arn,
        onFailureArn: bus.arn,
      },
    });
    expect(existsSync(join(worker.codeDir, 'index.mjs'))).toBe(true);
  });

  it('takes the async config of $LATEST only, not one for another qualifier', () => {
    // assess: the fixture's `live` config (1 retry, 60 s) comes after the $LATEST one
    expect(worker.asyncConfig.maximumRetryAttempts).toBe(0);
    expect(worker.asyncConfig.maximumEventAgeSeconds).toBe(120);
  });

  it('writes inline ZipFile code out as a CommonJS index.js, with AWS defaults for the rest', () => {
    // assess
    expect(readFileSync(join(inline.codeDir, 'index.js'), 'utf8')).toBe(
      "exports.handler = async () => 'inline';",
    );
    expect(JSON.parse(readFileSync(join(inline.codeDir, 'package.json'), 'utf8'))).toEqual({
      type: 'commonjs',
    });
    expect(inline).toMatchObject({
      timeoutSeconds: 3,
      memoryMb: 128,
      environment: {},
      asyncConfig: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21600 },
    });
  });

  it('describes the table as a CreateTable input, keeping only the index fields CreateTable takes', () => {
    // assess
    expect(stack.tables).toEqual([
      {
        logicalId: 'Table',
        name: 'Small-Table',
        arn: `${ARN}:dynamodb:${REGION_ACCOUNT}:table/Small-Table`,
        ttlAttribute: 'expiresAt',
        createTableInput: {
          TableName: 'Small-Table',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'owner', AttributeType: 'S' },
          ],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
          GlobalSecondaryIndexes: [
            {
              IndexName: 'byOwner',
              KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }],
              Projection: { ProjectionType: 'KEYS_ONLY' },
            },
          ],
        },
      },
    ]);
  });

  it('describes the queues, with a FIFO name and the redrive policy resolved', () => {
    // prepare
    const workQueue = only(stack.queues, (q) => q.logicalId === 'WorkQueue');

    // assess
    expect(stack.queues).toHaveLength(2);
    expect(workQueue).toEqual({
      logicalId: 'WorkQueue',
      name: 'Small-WorkQueue.fifo',
      arn: `${ARN}:sqs:${REGION_ACCOUNT}:Small-WorkQueue.fifo`,
      url: 'http://127.0.0.1:4566/123456789012/Small-WorkQueue.fifo',
      fifo: true,
      visibilityTimeoutSeconds: 60,
      messageRetentionSeconds: 345600,
      redrive: { deadLetterTargetArn: deadLetterQueue.arn, maxReceiveCount: 3 },
    });
    expect(deadLetterQueue).toMatchObject({
      fifo: false,
      messageRetentionSeconds: 1209600,
      redrive: undefined,
    });
  });

  it('describes the bus and its rules, with patterns and targets resolved', () => {
    // prepare
    const rule = only(stack.rules, (r) => r.logicalId === 'Rule');
    const schedule = only(stack.rules, (r) => r.logicalId === 'Schedule');

    // assess
    expect(stack.buses).toEqual([
      {
        logicalId: 'Bus',
        name: 'small-bus',
        arn: `${ARN}:events:${REGION_ACCOUNT}:event-bus/small-bus`,
      },
    ]);
    expect(rule).toEqual({
      logicalId: 'Rule',
      name: 'Small-Rule',
      arn: `${ARN}:events:${REGION_ACCOUNT}:rule/small-bus/Small-Rule`,
      busName: 'small-bus',
      enabled: true,
      eventPattern: { source: ['small'], resources: [{ prefix: `${worker.arn}:` }] },
      scheduleExpression: undefined,
      targets: [
        {
          id: 'Target0',
          arn: worker.arn,
          input: undefined,
          inputPath: undefined,
          inputTransformer: { inputPathsMap: { id: '$.detail.id' }, inputTemplate: '{"id": <id>}' },
          deadLetterArn: deadLetterQueue.arn,
          retryPolicy: { maximumRetryAttempts: 4, maximumEventAgeSeconds: 600 },
        },
      ],
    });
    expect(schedule).toMatchObject({
      name: 'Small-Schedule',
      arn: `${ARN}:events:${REGION_ACCOUNT}:rule/Small-Schedule`,
      busName: 'default',
      enabled: false,
      scheduleExpression: 'rate(5 minutes)',
      targets: [
        {
          arn: inline.arn,
          input: '{"tick":true}',
          retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 86400 },
        },
      ],
    });
  });

  it('describes the HTTP API: routes, integrations, stage and the functions it may invoke', () => {
    // prepare
    const [api] = stack.apis;
    const apiId = stack.template.ref('Api');

    // assess
    expect(stack.apis).toHaveLength(1);
    expect(api).toEqual({
      logicalId: 'Api',
      id: apiId,
      name: 'small-api',
      routes: [
        {
          id: stack.template.ref('ApiRoute'),
          routeKey: 'GET /items/{id}',
          authorizationType: 'AWS_IAM',
          integration: {
            id: stack.template.ref('ApiIntegration'),
            type: 'AWS_PROXY',
            functionArn: worker.arn,
            payloadFormatVersion: '1.0',
            timeoutMs: 5000,
          },
        },
        {
          id: stack.template.ref('ApiOpenRoute'),
          routeKey: '$default',
          authorizationType: 'NONE',
          integration: undefined,
        },
      ],
      stage: {
        name: '$default',
        throttling: { rateLimit: 10, burstLimit: 20 },
        accessLogFormat: '$context.requestId $context.status',
      },
      // The inline function's permission names another API's ARN.
      invokableFunctionArns: [worker.arn],
    });
  });

  it('counts each WebSocket API as not emulated, with other unsupported types', () => {
    // assess: the conditional ProdBucket does not exist (IsProd is false)
    expect(Object.fromEntries(stack.notEmulated)).toEqual({
      'AWS::ApiGatewayV2::Api (WEBSOCKET)': 2,
      'AWS::S3::Bucket': 1,
    });
  });

  it('lists the types it reads with no local effect, with the reason', () => {
    // assess
    expect([...stack.noLocalEffect.keys()].sort()).toEqual([
      'AWS::CDK::Metadata',
      'AWS::IAM::Policy',
      'AWS::IAM::Role',
      'AWS::SQS::QueuePolicy',
    ]);
    expect(stack.noLocalEffect.get('AWS::IAM::Policy')).toContain('not enforced');
  });

  it('resolves the outputs to local values', () => {
    // prepare
    const apiId = stack.template.ref('Api');

    // act
    const outputs = stack.outputs();

    // assess
    expect(outputs).toEqual({
      ApiEndpoint: `http://127.0.0.1:3000/apis/${apiId}`,
      WorkQueueUrl: 'http://127.0.0.1:4566/123456789012/Small-WorkQueue.fifo',
      WorkerArn: worker.arn,
    });
  });
});

describe('loadStack edge cases', () => {
  const assemblyOf = (template: Template): AssemblyStack => ({
    stackName: 'Edge',
    assemblyDir: SMALL,
    template,
  });

  it('counts APIs of each non-HTTP protocol under that protocol', () => {
    // prepare: the two protocols are kept apart however many of each there are
    const api = (protocol: string) => ({
      Type: 'AWS::ApiGatewayV2::Api',
      Properties: { Name: protocol, ProtocolType: protocol },
    });
    const assembly = assemblyOf({
      Resources: {
        OtherOne: api('FUTURE'),
        OtherTwo: api('FUTURE'),
        OtherThree: api('FUTURE'),
        SocketOne: api('WEBSOCKET'),
        SocketTwo: api('WEBSOCKET'),
      },
    });

    // act
    const stack = loadStack(assembly, CONTEXT);

    // assess
    expect(stack.apis).toEqual([]);
    expect(Object.fromEntries(stack.notEmulated)).toEqual({
      'AWS::ApiGatewayV2::Api (FUTURE)': 3,
      'AWS::ApiGatewayV2::Api (WEBSOCKET)': 2,
    });
  });

  it('fails when a function asset is missing, telling to synthesize again', () => {
    // prepare
    const assembly = assemblyOf({
      Resources: {
        Gone: {
          Type: 'AWS::Lambda::Function',
          Properties: { Handler: 'index.handler' },
          Metadata: { 'aws:asset:path': 'asset.gone' },
        },
      },
    });

    // act
    const error = errorOf(() => loadStack(assembly, CONTEXT));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('Gone');
    expect(error.message).toContain('synthesize again');
  });

  it('fails on a function with neither an asset nor inline code', () => {
    // prepare
    const assembly = assemblyOf({
      Resources: {
        FromS3: {
          Type: 'AWS::Lambda::Function',
          Properties: { Handler: 'index.handler', Code: { S3Bucket: 'b', S3Key: 'k.zip' } },
        },
      },
    });

    // act
    const error = errorOf(() => loadStack(assembly, CONTEXT));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('FromS3');
    expect(error.message).toContain('ZipFile');
  });
});
