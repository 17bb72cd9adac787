// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Fn::Sub strings hold ${} on purpose
/**
 * ResolvedTemplate: how the local cloud resolves a synthesized template's
 * intrinsic functions to the local names and ARNs CloudFormation would give.
 */
import { describe, expect, it } from 'vitest';
import {
  type Json,
  ResolvedTemplate,
  type StackContext,
  type Template,
  TemplateError,
  type TemplateResource,
} from '../../../../local/assembly/template';

const CONTEXT: StackContext = {
  stackName: 'Demo',
  region: 'eu-west-1',
  accountId: '123456789012',
  partition: 'aws',
  apiEndpoint: (apiId) => `http://127.0.0.1:3000/#${apiId}`,
  sqsEndpoint: 'http://127.0.0.1:4566',
};

function resolvedTemplate(
  resources: Record<string, TemplateResource> = {},
  extra: Omit<Template, 'Resources'> = {},
  context: StackContext = CONTEXT,
): ResolvedTemplate {
  return new ResolvedTemplate({ Resources: resources, ...extra }, context);
}

/** The error a resolution throws, so its type and message can both be checked. */
function errorOf(act: () => unknown): Error {
  try {
    act();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`threw a non-error: ${String(error)}`);
  }
  throw new Error('expected an error, but nothing was thrown');
}

const FN: TemplateResource = { Type: 'AWS::Lambda::Function', Properties: {} };
const TABLE: TemplateResource = { Type: 'AWS::DynamoDB::Table', Properties: {} };
const BUS: TemplateResource = { Type: 'AWS::Events::EventBus', Properties: { Name: 'jobs-bus' } };

describe('Ref', () => {
  it('resolves a resource to its generated physical name, or to the name its properties give', () => {
    // prepare
    const template = resolvedTemplate({
      Worker: FN,
      Named: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'my-worker' } },
    });

    // act
    const generated = template.resolve({ Ref: 'Worker' }, 'Test');
    const named = template.resolve({ Ref: 'Named' }, 'Test');

    // assess
    expect(generated).toBe('Demo-Worker');
    expect(named).toBe('my-worker');
  });

  it('resolves a parameter to its default', () => {
    // prepare
    const template = resolvedTemplate(
      {},
      { Parameters: { Stage: { Type: 'String', Default: 'dev' } } },
    );

    // act
    const value = template.resolve({ Ref: 'Stage' }, 'Test');

    // assess
    expect(value).toBe('dev');
  });

  it('resolves the pseudo parameters from the stack context', () => {
    // prepare
    const template = resolvedTemplate();
    const pseudo = (name: string) => template.resolve({ Ref: name }, 'Test');

    // act
    const values = {
      region: pseudo('AWS::Region'),
      account: pseudo('AWS::AccountId'),
      partition: pseudo('AWS::Partition'),
      stackName: pseudo('AWS::StackName'),
      urlSuffix: pseudo('AWS::URLSuffix'),
      notificationArns: pseudo('AWS::NotificationARNs'),
      stackId: pseudo('AWS::StackId'),
    };

    // assess
    expect(values).toEqual({
      region: 'eu-west-1',
      account: '123456789012',
      partition: 'aws',
      stackName: 'Demo',
      urlSuffix: 'amazonaws.com',
      notificationArns: [],
      stackId: expect.stringMatching(
        /^arn:aws:cloudformation:eu-west-1:123456789012:stack\/Demo\/[a-z0-9]{36}$/,
      ),
    });
  });

  it('removes a property or list item that resolves to AWS::NoValue', () => {
    // prepare
    const template = resolvedTemplate({
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Description: { Ref: 'AWS::NoValue' },
          Layers: ['one', { Ref: 'AWS::NoValue' }, 'two'],
          Handler: 'index.handler',
        },
      },
    });

    // act
    const properties = template.properties('Fn');

    // assess
    expect(properties).toEqual({ Handler: 'index.handler', Layers: ['one', 'two'] });
    expect(properties).not.toHaveProperty('Description');
  });

  it('fails on a reference to nothing, naming the reference and where it is', () => {
    // prepare
    const template = resolvedTemplate({
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: { Environment: { Variables: { TABLE: { Ref: 'MissingTable' } } } },
      },
    });

    // act
    const error = errorOf(() => template.properties('Fn'));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('"MissingTable"');
    expect(error.message).toContain('Fn.Environment.Variables.TABLE');
  });

  it('fails on a parameter without a default, naming the parameter and where it is used', () => {
    // prepare
    const template = resolvedTemplate(
      {
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: { Environment: { Variables: { STAGE: { Ref: 'Stage' } } } },
        },
      },
      { Parameters: { Stage: { Type: 'String' } } },
    );

    // act
    const error = errorOf(() => template.properties('Fn'));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('Stage');
    expect(error.message).toContain('no default');
    expect(error.message).toContain('Fn.Environment.Variables.STAGE');
  });
});

describe('Fn::GetAtt', () => {
  it('takes the list form and the dotted string form alike', () => {
    // prepare
    const template = resolvedTemplate({ Worker: FN });

    // act
    const listForm = template.resolve({ 'Fn::GetAtt': ['Worker', 'Arn'] }, 'Test');
    const dottedForm = template.resolve({ 'Fn::GetAtt': 'Worker.Arn' }, 'Test');

    // assess
    expect(listForm).toBe('arn:aws:lambda:eu-west-1:123456789012:function:Demo-Worker');
    expect(dottedForm).toBe(listForm);
  });

  it('fails on an attribute the local cloud does not know, naming resource and attribute', () => {
    // prepare
    const template = resolvedTemplate({ Worker: FN });

    // act
    const error = errorOf(() =>
      template.resolve({ 'Fn::GetAtt': ['Worker', 'SnapStartResponse'] }, 'Test'),
    );

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('Worker.SnapStartResponse');
  });

  it('fails on an unknown resource, saying where the reference is', () => {
    // prepare
    const template = resolvedTemplate({
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: { Role: { 'Fn::GetAtt': ['MissingRole', 'Arn'] } },
      },
    });

    // act
    const error = errorOf(() => template.properties('Fn'));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('"MissingRole"');
    expect(error.message).toContain('Fn.Role');
  });
});

describe('Fn::Join, Fn::Select, Fn::Split', () => {
  it('joins resolved items with the separator', () => {
    // prepare
    const template = resolvedTemplate({ Worker: FN });

    // act
    const joined = template.resolve(
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Worker', 'Arn'] }, ':', { Ref: 'AWS::Region' }]] },
      'Test',
    );

    // assess
    expect(joined).toBe('arn:aws:lambda:eu-west-1:123456789012:function:Demo-Worker:eu-west-1');
  });

  it('splits a string and selects an item of the result', () => {
    // prepare
    const template = resolvedTemplate();

    // act
    const split = template.resolve({ 'Fn::Split': ['/', 'a/b/c'] }, 'Test');
    const selected = template.resolve(
      { 'Fn::Select': [1, { 'Fn::Split': [':', { Ref: 'AWS::StackId' }] }] },
      'Test',
    );
    const selectedByStringIndex = template.resolve({ 'Fn::Select': ['2', ['x', 'y', 'z']] }, 'T');

    // assess
    expect(split).toEqual(['a', 'b', 'c']);
    expect(selected).toBe('aws');
    expect(selectedByStringIndex).toBe('z');
  });

  it('fails on an index outside the list, naming the index and where it is', () => {
    // prepare
    const template = resolvedTemplate({
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: { Handler: { 'Fn::Select': [2, ['a', 'b']] } },
      },
    });

    // act
    const error = errorOf(() => template.properties('Fn'));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('index 2');
    expect(error.message).toContain('Fn.Handler');
  });
});

describe('Fn::Sub', () => {
  it('substitutes refs, attributes and pseudo parameters in the string form', () => {
    // prepare
    const template = resolvedTemplate({ Worker: FN, Table: TABLE });

    // act
    const value = template.resolve(
      { 'Fn::Sub': '${Table} ${Worker.Arn} ${AWS::Region}/${AWS::AccountId}' },
      'Test',
    );

    // assess
    expect(value).toBe(
      'Demo-Table arn:aws:lambda:eu-west-1:123456789012:function:Demo-Worker eu-west-1/123456789012',
    );
  });

  it('keeps ${!Literal} as the literal ${Literal}', () => {
    // prepare
    const template = resolvedTemplate();

    // act
    const value = template.resolve({ 'Fn::Sub': 'echo ${!HOME} in ${AWS::Region}' }, 'Test');

    // assess
    expect(value).toBe('echo ${HOME} in eu-west-1');
  });

  it('takes variables, resolved, from the [string, vars] form before the template', () => {
    // prepare
    const template = resolvedTemplate({ Worker: FN, Table: TABLE });

    // act
    const value = template.resolve(
      {
        'Fn::Sub': [
          '${Name}:${Table}:${Worker}',
          { Name: { 'Fn::GetAtt': ['Worker', 'Arn'] }, Table: 'overridden' },
        ],
      },
      'Test',
    );

    // assess
    expect(value).toBe(
      'arn:aws:lambda:eu-west-1:123456789012:function:Demo-Worker:overridden:Demo-Worker',
    );
  });

  it('fails on an unknown name in the string, saying where', () => {
    // prepare
    const template = resolvedTemplate({
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: { Description: { 'Fn::Sub': 'uses ${Nothing}' } },
      },
    });

    // act
    const error = errorOf(() => template.properties('Fn'));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('"Nothing"');
    expect(error.message).toContain('Fn.Description');
  });
  it('fails on an attribute of an unknown resource in the string, saying where', () => {
    // prepare
    const template = resolvedTemplate({
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: { Description: { 'Fn::Sub': 'calls ${Nothing.Arn}' } },
      },
    });

    // act
    const error = errorOf(() => template.properties('Fn'));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('"Nothing"');
    expect(error.message).toContain('Fn.Description');
  });
});

describe('conditions', () => {
  const conditions: Record<string, Json> = {
    IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] },
    IsEu: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] },
    NotProd: { 'Fn::Not': [{ Condition: 'IsProd' }] },
    ProdInEu: { 'Fn::And': [{ Condition: 'IsProd' }, { Condition: 'IsEu' }] },
    ProdOrEu: { 'Fn::Or': [{ Condition: 'IsProd' }, { Condition: 'IsEu' }] },
  };
  const withStage = (stage: string) =>
    resolvedTemplate(
      {},
      { Parameters: { Stage: { Type: 'String', Default: stage } }, Conditions: conditions },
    );
  const pick = (template: ResolvedTemplate, condition: string) =>
    template.resolve({ 'Fn::If': [condition, 'yes', 'no'] }, 'Test');

  it('evaluates Fn::Equals, Fn::Not, Fn::And and Fn::Or for Fn::If', () => {
    // prepare
    const dev = withStage('dev');
    const prod = withStage('prod');

    // act
    const devAnswers = ['IsProd', 'IsEu', 'NotProd', 'ProdInEu', 'ProdOrEu'].map((c) =>
      pick(dev, c),
    );
    const prodAnswers = ['IsProd', 'IsEu', 'NotProd', 'ProdInEu', 'ProdOrEu'].map((c) =>
      pick(prod, c),
    );

    // assess
    expect(devAnswers).toEqual(['no', 'yes', 'yes', 'no', 'yes']);
    expect(prodAnswers).toEqual(['yes', 'yes', 'no', 'yes', 'yes']);
  });

  it('removes a property whose Fn::If branch is AWS::NoValue', () => {
    // prepare
    const template = resolvedTemplate(
      {
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Handler: 'index.handler',
            ReservedConcurrentExecutions: { 'Fn::If': ['IsProd', 10, { Ref: 'AWS::NoValue' }] },
          },
        },
      },
      { Parameters: { Stage: { Type: 'String', Default: 'dev' } }, Conditions: conditions },
    );

    // act
    const properties = template.properties('Fn');

    // assess
    expect(properties).toEqual({ Handler: 'index.handler' });
  });

  it('leaves out resources whose Condition is false', () => {
    // prepare
    const template = resolvedTemplate(
      {
        Always: FN,
        ProdOnly: { Type: 'AWS::Lambda::Function', Condition: 'IsProd' },
        DevOnly: { Type: 'AWS::Lambda::Function', Condition: 'NotProd' },
      },
      { Parameters: { Stage: { Type: 'String', Default: 'dev' } }, Conditions: conditions },
    );

    // act
    const ids = template.resourceIds();

    // assess
    expect(ids).toEqual(['Always', 'DevOnly']);
  });

  it('fails on an unknown condition, naming it', () => {
    // prepare
    const template = resolvedTemplate();

    // act
    const error = errorOf(() => template.resolve({ 'Fn::If': ['Missing', 1, 2] }, 'Test'));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('"Missing"');
  });
});

describe('Fn::FindInMap, Fn::Base64, Fn::GetAZs, Fn::ToJsonString', () => {
  it('looks up a mapping with resolved keys', () => {
    // prepare
    const template = resolvedTemplate(
      {},
      { Mappings: { Sizes: { 'eu-west-1': { Memory: 512 }, 'us-east-1': { Memory: 1024 } } } },
    );

    // act
    const value = template.resolve(
      { 'Fn::FindInMap': ['Sizes', { Ref: 'AWS::Region' }, 'Memory'] },
      'Test',
    );

    // assess
    expect(value).toBe(512);
  });

  it('fails on a mapping entry that is not there, saying where', () => {
    // prepare
    const template = resolvedTemplate({}, { Mappings: { Sizes: { 'us-east-1': { Memory: 1 } } } });

    // act
    const error = errorOf(() =>
      template.resolve({ 'Fn::FindInMap': ['Sizes', { Ref: 'AWS::Region' }, 'Memory'] }, 'Here'),
    );

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('Here');
  });

  it('encodes Fn::Base64 of a resolved string', () => {
    // prepare
    const template = resolvedTemplate();

    // act
    const value = template.resolve({ 'Fn::Base64': { 'Fn::Sub': 'in ${AWS::Region}' } }, 'T');

    // assess
    expect(Buffer.from(String(value), 'base64').toString('utf8')).toBe('in eu-west-1');
  });

  it('lists three zones of the region for Fn::GetAZs', () => {
    // prepare
    const template = resolvedTemplate();

    // act
    const zones = template.resolve({ 'Fn::GetAZs': '' }, 'Test');

    // assess
    expect(zones).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
  });

  it('turns a resolved object into JSON text for Fn::ToJsonString', () => {
    // prepare
    const template = resolvedTemplate({ Table: TABLE });

    // act
    const text = template.resolve(
      { 'Fn::ToJsonString': { table: { Ref: 'Table' }, gone: { Ref: 'AWS::NoValue' } } },
      'Test',
    );

    // assess
    expect(JSON.parse(String(text))).toEqual({ table: 'Demo-Table' });
  });

  it('fails on an intrinsic the local cloud cannot resolve, naming it and where', () => {
    // prepare
    const template = resolvedTemplate({
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: { Role: { 'Fn::ImportValue': 'SharedRoleArn' } },
      },
    });

    // act
    const error = errorOf(() => template.properties('Fn'));

    // assess
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toContain('Fn::ImportValue');
    expect(error.message).toContain('Fn.Role');
  });
});

describe('physical names', () => {
  it('are the same in every run for the same stack and logical id', () => {
    // prepare
    const longId = `Worker${'X'.repeat(80)}`;
    const first = resolvedTemplate({ [longId]: FN, Table: TABLE });
    const second = resolvedTemplate({ [longId]: FN, Table: TABLE });

    // act
    const names = [first.ref(longId), first.ref('Table')];
    const again = [second.ref(longId), second.ref('Table')];

    // assess
    expect(again).toEqual(names);
  });

  it('are cut to the maximum length with a hash, so long ids sharing a prefix stay distinct', () => {
    // prepare
    const prefix = 'A'.repeat(70);
    const template = resolvedTemplate();

    // act
    const one = template.physicalName(`${prefix}One`, 64);
    const two = template.physicalName(`${prefix}Two`, 64);
    const short = template.physicalName('Short', 64);

    // assess
    expect(one).toHaveLength(64);
    expect(one).toMatch(/^Demo-A+-[0-9a-f]{8}$/);
    expect(two).toHaveLength(64);
    expect(two).not.toBe(one);
    expect(short).toBe('Demo-Short');
  });

  it('give a Lambda function a name of at most 64 characters and a regional ARN', () => {
    // prepare
    const longId = `Function${'Z'.repeat(100)}`;
    const template = resolvedTemplate({ [longId]: FN });

    // act
    const name = template.ref(longId);
    const arn = template.getAtt(longId, 'Arn');

    // assess
    expect(name.length).toBeLessThanOrEqual(64);
    expect(arn).toBe(`arn:aws:lambda:eu-west-1:123456789012:function:${name}`);
  });
});

describe('Ref and Fn::GetAtt per resource type', () => {
  it('gives a DynamoDB table its name and table ARN', () => {
    // prepare
    const template = resolvedTemplate({
      Table: TABLE,
      Named: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'jobs' } },
    });

    // act
    const values = [template.ref('Table'), template.getAtt('Named', 'Arn')];

    // assess
    expect(values).toEqual(['Demo-Table', 'arn:aws:dynamodb:eu-west-1:123456789012:table/jobs']);
  });

  it('gives a queue its URL as Ref, and its ARN and name as attributes', () => {
    // prepare
    const template = resolvedTemplate({ Queue: { Type: 'AWS::SQS::Queue', Properties: {} } });

    // act
    const values = {
      ref: template.ref('Queue'),
      url: template.getAtt('Queue', 'QueueUrl'),
      arn: template.getAtt('Queue', 'Arn'),
      name: template.getAtt('Queue', 'QueueName'),
    };

    // assess
    expect(values).toEqual({
      ref: 'http://127.0.0.1:4566/123456789012/Demo-Queue',
      url: 'http://127.0.0.1:4566/123456789012/Demo-Queue',
      arn: 'arn:aws:sqs:eu-west-1:123456789012:Demo-Queue',
      name: 'Demo-Queue',
    });
  });

  it('ends a FIFO queue name with .fifo, within the 80 characters SQS allows', () => {
    // prepare
    const longId = `Orders${'Q'.repeat(100)}`;
    const template = resolvedTemplate({
      Orders: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
      [longId]: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
    });

    // act
    const name = template.queueName('Orders');
    const longName = template.queueName(longId);
    const arn = template.getAtt('Orders', 'Arn');

    // assess
    expect(name).toBe('Demo-Orders.fifo');
    expect(longName).toMatch(/\.fifo$/);
    expect(longName).toHaveLength(80);
    expect(arn).toBe('arn:aws:sqs:eu-west-1:123456789012:Demo-Orders.fifo');
  });

  it('takes FifoQueue given as the string "true", as CloudFormation does', () => {
    // prepare
    const template = resolvedTemplate({
      Orders: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: 'true' } },
      Plain: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: 'false' } },
    });

    // act
    const names = [template.queueName('Orders'), template.queueName('Plain')];

    // assess
    expect(names).toEqual(['Demo-Orders.fifo', 'Demo-Plain']);
  });

  it('gives an event bus its name and event-bus ARN', () => {
    // prepare
    const template = resolvedTemplate({ Bus: BUS });

    // act
    const values = [
      template.ref('Bus'),
      template.getAtt('Bus', 'Arn'),
      template.getAtt('Bus', 'Name'),
    ];

    // assess
    expect(values).toEqual([
      'jobs-bus',
      'arn:aws:events:eu-west-1:123456789012:event-bus/jobs-bus',
      'jobs-bus',
    ]);
  });

  it('gives a rule on a custom bus the Ref bus|rule and an ARN with the bus', () => {
    // prepare
    const template = resolvedTemplate({
      Bus: BUS,
      Rule: { Type: 'AWS::Events::Rule', Properties: { EventBusName: { Ref: 'Bus' } } },
      ByArn: {
        Type: 'AWS::Events::Rule',
        Properties: { EventBusName: { 'Fn::GetAtt': ['Bus', 'Arn'] }, Name: 'by-arn' },
      },
    });

    // act
    const values = {
      ref: template.ref('Rule'),
      arn: template.getAtt('Rule', 'Arn'),
      byArnRef: template.ref('ByArn'),
      byArnArn: template.getAtt('ByArn', 'Arn'),
    };

    // assess
    expect(values).toEqual({
      ref: 'jobs-bus|Demo-Rule',
      arn: 'arn:aws:events:eu-west-1:123456789012:rule/jobs-bus/Demo-Rule',
      byArnRef: 'jobs-bus|by-arn',
      byArnArn: 'arn:aws:events:eu-west-1:123456789012:rule/jobs-bus/by-arn',
    });
  });

  it('gives a rule on the default bus its plain name as Ref and an ARN without a bus', () => {
    // prepare
    const template = resolvedTemplate({
      Rule: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(1 hour)' } },
    });

    // act
    const values = [template.ref('Rule'), template.getAtt('Rule', 'Arn')];

    // assess
    expect(values).toEqual(['Demo-Rule', 'arn:aws:events:eu-west-1:123456789012:rule/Demo-Rule']);
  });

  it('gives an IAM role an ARN without a region', () => {
    // prepare
    const template = resolvedTemplate({ Role: { Type: 'AWS::IAM::Role', Properties: {} } });

    // act
    const arn = template.getAtt('Role', 'Arn');
    const roleId = template.getAtt('Role', 'RoleId');

    // assess
    expect(arn).toBe('arn:aws:iam::123456789012:role/Demo-Role');
    expect(roleId).toMatch(/^AROA[A-Z0-9]{17}$/);
  });

  it('gives a log group its name and a log-group ARN', () => {
    // prepare
    const template = resolvedTemplate({
      Logs: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/aws/lambda/worker' } },
    });

    // act
    const values = [template.ref('Logs'), template.getAtt('Logs', 'Arn')];

    // assess
    expect(values).toEqual([
      '/aws/lambda/worker',
      'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/worker:*',
    ]);
  });

  it('gives an HTTP API a stable 10-character lower-case id and the local endpoint', () => {
    // prepare
    const resources = {
      Api: { Type: 'AWS::ApiGatewayV2::Api', Properties: { ProtocolType: 'HTTP' } },
      Other: { Type: 'AWS::ApiGatewayV2::Api', Properties: { ProtocolType: 'HTTP' } },
    };
    const template = resolvedTemplate(resources);

    // act
    const id = template.ref('Api');
    const again = resolvedTemplate(resources).ref('Api');
    const values = {
      apiId: template.getAtt('Api', 'ApiId'),
      endpoint: template.getAtt('Api', 'ApiEndpoint'),
    };

    // assess
    expect(id).toMatch(/^[a-z0-9]{10}$/);
    expect(again).toBe(id);
    expect(template.ref('Other')).not.toBe(id);
    expect(values).toEqual({ apiId: id, endpoint: `http://127.0.0.1:3000/#${id}` });
  });
});

describe('outputs', () => {
  it('resolves each output to a string', () => {
    // prepare
    const template = resolvedTemplate(
      { Table: TABLE },
      {
        Outputs: {
          TableName: { Value: { Ref: 'Table' } },
          Zones: { Value: { 'Fn::GetAZs': '' } },
        },
      },
    );

    // act
    const outputs = template.outputs();

    // assess
    expect(outputs).toEqual({
      TableName: 'Demo-Table',
      Zones: '["eu-west-1a","eu-west-1b","eu-west-1c"]',
    });
  });
});

describe('AWS::Scheduler::Schedule', () => {
  it('is named <stack>-<logicalId>-<suffix> within 64 characters, the same in every run, unless it has a Name', () => {
    // prepare
    const longId = `Schedule${'S'.repeat(80)}`;
    const resources: Record<string, TemplateResource> = {
      Nightly: { Type: 'AWS::Scheduler::Schedule', Properties: {} },
      [longId]: { Type: 'AWS::Scheduler::Schedule', Properties: {} },
      Named: { Type: 'AWS::Scheduler::Schedule', Properties: { Name: 'every-five' } },
    };

    // act
    const nightly = resolvedTemplate(resources).ref('Nightly');
    const again = resolvedTemplate(resources).ref('Nightly');
    const long = resolvedTemplate(resources).ref(longId);

    // assess
    expect(nightly).toMatch(/^Demo-Nightly-[A-Z0-9]{12}$/);
    expect(again).toBe(nightly);
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^[0-9a-zA-Z-_.]+$/);
    expect(resolvedTemplate(resources).ref('Named')).toBe('every-five');
  });

  it('has an ARN in its group, given by GroupName (a Ref to a group) or default', () => {
    // prepare
    const template = resolvedTemplate({
      Group: { Type: 'AWS::Scheduler::ScheduleGroup', Properties: { Name: 'reports' } },
      InGroup: {
        Type: 'AWS::Scheduler::Schedule',
        Properties: { Name: 'nightly', GroupName: { Ref: 'Group' } },
      },
      Ungrouped: { Type: 'AWS::Scheduler::Schedule', Properties: { Name: 'hourly' } },
    });

    // act
    const inGroup = template.getAtt('InGroup', 'Arn');
    const ungrouped = template.getAtt('Ungrouped', 'Arn');

    // assess
    expect(template.scheduleGroupName('InGroup')).toBe('reports');
    expect(inGroup).toBe('arn:aws:scheduler:eu-west-1:123456789012:schedule/reports/nightly');
    expect(ungrouped).toBe('arn:aws:scheduler:eu-west-1:123456789012:schedule/default/hourly');
  });
});
