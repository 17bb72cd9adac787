/**
 * Turns a synthesized cloud assembly (`cdk.out`) into the specs the local
 * services run. The template and the bundled assets are exactly what
 * `cdk deploy` ships; nothing here knows about eventjobs in particular.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type {
  AsyncInvokeConfig,
  BusSpec,
  FunctionSpec,
  HttpApiSpec,
  HttpIntegrationSpec,
  HttpRouteSpec,
  QueueSpec,
  RuleSpec,
  RuleTargetSpec,
  ScheduleGroupSpec,
  ScheduleSpec,
  SecretSpec,
  TableSpec,
} from '../contracts';
import {
  type Json,
  ResolvedTemplate,
  type StackContext,
  type Template,
  TemplateError,
} from './template';

export interface AssemblyStack {
  readonly stackName: string;
  readonly assemblyDir: string;
  readonly template: Template;
}

/** Reads `manifest.json` and the template of one stack (the only one, or `stackName`). */
export function readAssembly(assemblyDir: string, stackName?: string): AssemblyStack {
  const dir = resolve(assemblyDir);
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new TemplateError(`No cloud assembly at ${dir}: run \`npx cdk synth\` first`);
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    artifacts?: Record<
      string,
      {
        type?: string;
        displayName?: string;
        properties?: { templateFile?: string; stackName?: string };
      }
    >;
  };
  const stacks = Object.entries(manifest.artifacts ?? {})
    .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
    .map(([id, artifact]) => ({
      name: artifact.properties?.stackName ?? id,
      templateFile: artifact.properties?.templateFile ?? `${id}.template.json`,
    }));
  const chosen = stackName ? stacks.find((s) => s.name === stackName) : stacks[0];
  if (!chosen) {
    throw new TemplateError(
      stackName
        ? `No stack "${stackName}" in ${dir}; it has: ${stacks.map((s) => s.name).join(', ')}`
        : `No stack in ${dir}`,
    );
  }
  if (!stackName && stacks.length > 1) {
    throw new TemplateError(
      `The assembly has ${stacks.length} stacks (${stacks.map((s) => s.name).join(', ')}); name one with --stack`,
    );
  }
  const template = JSON.parse(readFileSync(join(dir, chosen.templateFile), 'utf8')) as Template;
  return { stackName: chosen.name, assemblyDir: dir, template };
}

/** Resource types the local cloud runs, and those it reads but gives no local effect. */
export const EMULATED_TYPES: ReadonlySet<string> = new Set([
  'AWS::Lambda::Function',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::Lambda::Permission',
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::Events::EventBus',
  'AWS::Events::Rule',
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Route',
  'AWS::ApiGatewayV2::Integration',
  'AWS::ApiGatewayV2::Stage',
  'AWS::Logs::LogGroup',
  'AWS::SecretsManager::Secret',
  'AWS::Scheduler::ScheduleGroup',
  'AWS::Scheduler::Schedule',
]);

export const NO_LOCAL_EFFECT: Readonly<Record<string, string>> = {
  'AWS::IAM::Role': 'roles give each function its local credentials; policies are not enforced',
  'AWS::IAM::Policy':
    'IAM policies are not enforced locally (every local credential may call every local API)',
  'AWS::SQS::QueuePolicy': 'queue policies are not enforced locally',
  'AWS::CDK::Metadata': 'CDK version reporting',
};

export interface LoadedStack {
  readonly stackName: string;
  readonly template: ResolvedTemplate;
  readonly functions: FunctionSpec[];
  readonly tables: TableSpec[];
  readonly queues: QueueSpec[];
  readonly buses: BusSpec[];
  readonly rules: RuleSpec[];
  readonly apis: HttpApiSpec[];
  readonly secrets: SecretSpec[];
  /** The template's `AWS::Scheduler::ScheduleGroup`s (not the `default` group, which always exists). */
  readonly scheduleGroups: ScheduleGroupSpec[];
  /** The template's `AWS::Scheduler::Schedule`s, which the local Scheduler creates at start. */
  readonly schedules: ScheduleSpec[];
  /** Resource types present in the template with no local emulation, and how many of each. */
  readonly notEmulated: ReadonlyMap<string, number>;
  /** Types read with no local effect, with why. */
  readonly noLocalEffect: ReadonlyMap<string, string>;
  readonly outputs: () => Record<string, string>;
}

export function loadStack(
  assembly: AssemblyStack,
  context: Omit<StackContext, 'stackName'>,
): LoadedStack {
  const template = new ResolvedTemplate(assembly.template, {
    ...context,
    stackName: assembly.stackName,
  });
  const ids = template.resourceIds();
  const ofType = (type: string) => ids.filter((id) => template.resource(id).Type === type);

  const notEmulated = new Map<string, number>();
  const noLocalEffect = new Map<string, string>();
  for (const id of ids) {
    const type = template.resource(id).Type;
    if (EMULATED_TYPES.has(type)) continue;
    const reason = NO_LOCAL_EFFECT[type];
    if (reason) noLocalEffect.set(type, reason);
    else notEmulated.set(type, (notEmulated.get(type) ?? 0) + 1);
  }

  const asyncConfigs = new Map<string, AsyncInvokeConfig>();
  for (const id of ofType('AWS::Lambda::EventInvokeConfig')) {
    const props = template.properties(id);
    const qualifier = str(props.Qualifier) ?? '$LATEST';
    if (qualifier !== '$LATEST') continue;
    const fn = functionNameOf(str(props.FunctionName) ?? '');
    const destinations = obj(props.DestinationConfig);
    asyncConfigs.set(fn, {
      maximumRetryAttempts: num(props.MaximumRetryAttempts) ?? 2,
      maximumEventAgeSeconds: num(props.MaximumEventAgeInSeconds) ?? 21600,
      onSuccessArn: str(obj(destinations?.OnSuccess)?.Destination),
      onFailureArn: str(obj(destinations?.OnFailure)?.Destination),
    });
  }

  const functions = ofType('AWS::Lambda::Function').map((id): FunctionSpec => {
    const props = template.properties(id);
    const name = template.ref(id);
    const variables = obj(obj(props.Environment)?.Variables) ?? {};
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(variables)) {
      environment[key] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    const logGroup = str(obj(props.LoggingConfig)?.LogGroup);
    return {
      logicalId: id,
      name,
      arn: str(template.getAtt(id, 'Arn')) ?? '',
      handler: str(props.Handler) ?? 'index.handler',
      codeDir: codeDirOf(assembly, template, id, props),
      runtime: str(props.Runtime) ?? 'nodejs22.x',
      timeoutSeconds: num(props.Timeout) ?? 3,
      memoryMb: num(props.MemorySize) ?? 128,
      environment,
      reservedConcurrency: num(props.ReservedConcurrentExecutions),
      roleArn: str(props.Role),
      deadLetterTargetArn: str(obj(props.DeadLetterConfig)?.TargetArn),
      logGroupName: logGroup ?? `/aws/lambda/${name}`,
      asyncConfig: asyncConfigs.get(name) ?? {
        maximumRetryAttempts: 2,
        maximumEventAgeSeconds: 21600,
      },
    };
  });

  const tables = ofType('AWS::DynamoDB::Table').map((id): TableSpec => {
    const props = template.properties(id);
    const name = template.ref(id);
    const createTableInput: Record<string, unknown> = {
      TableName: name,
      AttributeDefinitions: props.AttributeDefinitions,
      KeySchema: props.KeySchema,
      BillingMode: str(props.BillingMode) ?? 'PROVISIONED',
    };
    if (props.ProvisionedThroughput)
      createTableInput.ProvisionedThroughput = props.ProvisionedThroughput;
    const gsis = arr(props.GlobalSecondaryIndexes).map((gsi) => pick(obj(gsi) ?? {}, INDEX_FIELDS));
    if (gsis.length > 0) createTableInput.GlobalSecondaryIndexes = gsis;
    const lsis = arr(props.LocalSecondaryIndexes).map((lsi) => pick(obj(lsi) ?? {}, INDEX_FIELDS));
    if (lsis.length > 0) createTableInput.LocalSecondaryIndexes = lsis;
    const ttl = obj(props.TimeToLiveSpecification);
    return {
      logicalId: id,
      name,
      arn: str(template.getAtt(id, 'Arn')) ?? '',
      createTableInput,
      ttlAttribute: ttl?.Enabled === true ? str(ttl.AttributeName) : undefined,
    };
  });

  const queues = ofType('AWS::SQS::Queue').map((id): QueueSpec => {
    const props = template.properties(id);
    const redrive = obj(
      typeof props.RedrivePolicy === 'string'
        ? JSON.parse(props.RedrivePolicy)
        : props.RedrivePolicy,
    );
    return {
      logicalId: id,
      name: template.queueName(id),
      arn: str(template.getAtt(id, 'Arn')) ?? '',
      url: template.ref(id),
      fifo: props.FifoQueue === true || props.FifoQueue === 'true',
      visibilityTimeoutSeconds: num(props.VisibilityTimeout) ?? 30,
      messageRetentionSeconds: num(props.MessageRetentionPeriod) ?? 345600,
      redrive:
        redrive && str(redrive.deadLetterTargetArn)
          ? {
              deadLetterTargetArn: str(redrive.deadLetterTargetArn) ?? '',
              maxReceiveCount: num(redrive.maxReceiveCount) ?? 10,
            }
          : undefined,
    };
  });

  const secrets = ofType('AWS::SecretsManager::Secret').map((id): SecretSpec => {
    const props = template.properties(id);
    const arn = template.ref(id);
    const generate = obj(props.GenerateSecretString);
    return {
      logicalId: id,
      arn,
      name: /:secret:(.+)-[^-]{6}$/.exec(arn)?.[1] ?? id,
      secretString: str(props.SecretString),
      generate: generate
        ? {
            passwordLength: num(generate.PasswordLength),
            excludePunctuation:
              generate.ExcludePunctuation === true || generate.ExcludePunctuation === 'true',
            excludeCharacters: str(generate.ExcludeCharacters),
          }
        : undefined,
    };
  });

  const buses = ofType('AWS::Events::EventBus').map(
    (id): BusSpec => ({
      logicalId: id,
      name: template.ref(id),
      arn: str(template.getAtt(id, 'Arn')) ?? '',
    }),
  );

  const rules = ofType('AWS::Events::Rule').map((id): RuleSpec => {
    const props = template.properties(id);
    const pattern = props.EventPattern;
    return {
      logicalId: id,
      name: template.ref(id).split('|').pop() ?? id,
      arn: str(template.getAtt(id, 'Arn')) ?? '',
      busName: template.ruleBusName(id),
      enabled: (str(props.State) ?? 'ENABLED') !== 'DISABLED',
      eventPattern: typeof pattern === 'string' ? JSON.parse(pattern) : (pattern ?? undefined),
      scheduleExpression: str(props.ScheduleExpression),
      targets: arr(props.Targets).map((raw): RuleTargetSpec => {
        const target = obj(raw) ?? {};
        const transformer = obj(target.InputTransformer);
        const retry = obj(target.RetryPolicy);
        return {
          id: str(target.Id) ?? '',
          arn: str(target.Arn) ?? '',
          input: str(target.Input),
          inputPath: str(target.InputPath),
          inputTransformer: transformer
            ? {
                inputPathsMap: stringRecord(transformer.InputPathsMap),
                inputTemplate: str(transformer.InputTemplate) ?? '',
              }
            : undefined,
          deadLetterArn: str(obj(target.DeadLetterConfig)?.Arn),
          retryPolicy: {
            maximumRetryAttempts: num(retry?.MaximumRetryAttempts) ?? 185,
            maximumEventAgeSeconds: num(retry?.MaximumEventAgeInSeconds) ?? 86400,
          },
        };
      }),
    };
  });

  const scheduleGroups = ofType('AWS::Scheduler::ScheduleGroup').map(
    (id): ScheduleGroupSpec => ({
      logicalId: id,
      name: template.ref(id),
      arn: str(template.getAtt(id, 'Arn')) ?? '',
    }),
  );

  const schedules = ofType('AWS::Scheduler::Schedule').map((id) => loadSchedule(template, id));

  const apis = loadHttpApis(template, ofType, notEmulated);

  return {
    stackName: assembly.stackName,
    template,
    functions,
    tables,
    queues,
    secrets,
    scheduleGroups,
    schedules,
    buses,
    rules,
    apis,
    notEmulated,
    noLocalEffect,
    outputs: () => template.outputs(),
  };
}

const INDEX_FIELDS = ['IndexName', 'KeySchema', 'Projection', 'ProvisionedThroughput'];

function loadSchedule(template: ResolvedTemplate, id: string): ScheduleSpec {
  const props = template.properties(id);
  const window = obj(props.FlexibleTimeWindow);
  const target = obj(props.Target) ?? {};
  const retry = obj(target.RetryPolicy);
  const input = target.Input;
  return {
    logicalId: id,
    name: template.ref(id),
    groupName: template.scheduleGroupName(id),
    arn: str(template.getAtt(id, 'Arn')) ?? '',
    expression: str(props.ScheduleExpression) ?? '',
    timezone: str(props.ScheduleExpressionTimezone) ?? 'UTC',
    flexibleTimeWindow: {
      mode: str(window?.Mode) === 'FLEXIBLE' ? 'FLEXIBLE' : 'OFF',
      maximumWindowInMinutes: num(window?.MaximumWindowInMinutes),
    },
    state: str(props.State) === 'DISABLED' ? 'DISABLED' : 'ENABLED',
    startDate: date(props.StartDate, `${id}.StartDate`),
    endDate: date(props.EndDate, `${id}.EndDate`),
    description: str(props.Description),
    kmsKeyArn: str(props.KmsKeyArn),
    target: {
      arn: str(target.Arn) ?? '',
      roleArn: str(target.RoleArn) ?? '',
      // A string in the template (CDK writes JSON text, often an Fn::Join); an object is taken as its JSON.
      input:
        input === undefined || input === null
          ? undefined
          : typeof input === 'string'
            ? input
            : JSON.stringify(input),
      retryPolicy: {
        maximumRetryAttempts: num(retry?.MaximumRetryAttempts) ?? 185,
        maximumEventAgeSeconds: num(retry?.MaximumEventAgeInSeconds) ?? 86400,
      },
      deadLetterArn: str(obj(target.DeadLetterConfig)?.Arn),
    },
  };
}

function loadHttpApis(
  template: ResolvedTemplate,
  ofType: (type: string) => string[],
  notEmulated: Map<string, number>,
): HttpApiSpec[] {
  const byApi = (type: string, apiId: string) =>
    ofType(type).filter((id) => str(template.properties(id).ApiId) === apiId);

  const permissions = ofType('AWS::Lambda::Permission').map((id) => template.properties(id));

  const apis: HttpApiSpec[] = [];
  for (const logicalId of ofType('AWS::ApiGatewayV2::Api')) {
    const props = template.properties(logicalId);
    const apiId = template.ref(logicalId);
    const protocol = str(props.ProtocolType) ?? 'HTTP';
    if (protocol !== 'HTTP') {
      const key = `AWS::ApiGatewayV2::Api (${protocol})`;
      notEmulated.set(key, (notEmulated.get(key) ?? 0) + 1);
      continue;
    }
    const integrations = new Map<string, HttpIntegrationSpec>();
    for (const id of byApi('AWS::ApiGatewayV2::Integration', apiId)) {
      const p = template.properties(id);
      const uri = str(p.IntegrationUri) ?? '';
      const functionArn = /\/functions\/(arn:[^/]+)\/invocations$/.exec(uri)?.[1] ?? uri;
      const version = str(p.PayloadFormatVersion) ?? '2.0';
      integrations.set(template.ref(id), {
        id: template.ref(id),
        type: 'AWS_PROXY',
        functionArn,
        payloadFormatVersion: version === '1.0' ? '1.0' : '2.0',
        timeoutMs: num(p.TimeoutInMillis) ?? 30000,
      });
    }
    const routes = byApi('AWS::ApiGatewayV2::Route', apiId).map((id): HttpRouteSpec => {
      const p = template.properties(id);
      const target = str(p.Target) ?? '';
      const auth = str(p.AuthorizationType) ?? 'NONE';
      return {
        id: template.ref(id),
        routeKey: str(p.RouteKey) ?? '$default',
        authorizationType:
          auth === 'AWS_IAM' || auth === 'JWT' || auth === 'CUSTOM' ? auth : 'NONE',
        integration: integrations.get(target.replace(/^integrations\//, '')),
      };
    });
    const stages = byApi('AWS::ApiGatewayV2::Stage', apiId).map((id) => template.properties(id));
    const stage = stages.find((s) => str(s.StageName) === '$default') ?? stages[0];
    const routeSettings = obj(stage?.DefaultRouteSettings);
    const rate = num(routeSettings?.ThrottlingRateLimit);
    const burst = num(routeSettings?.ThrottlingBurstLimit);
    const sourceArnPrefix = `arn:${template.context.partition}:execute-api:${template.context.region}:${template.context.accountId}:${apiId}/`;
    const invokable = permissions
      .filter(
        (p) =>
          str(p.Principal) === 'apigateway.amazonaws.com' &&
          ['lambda:InvokeFunction', 'lambda:*'].includes(str(p.Action) ?? '') &&
          (p.SourceArn === undefined || (str(p.SourceArn) ?? '').startsWith(sourceArnPrefix)),
      )
      .map((p) => functionArnOf(template, str(p.FunctionName) ?? ''));
    apis.push({
      logicalId,
      id: apiId,
      name: str(props.Name) ?? logicalId,
      routes,
      stage: {
        name: str(stage?.StageName) ?? '$default',
        throttling:
          rate !== undefined && burst !== undefined
            ? { rateLimit: rate, burstLimit: burst }
            : undefined,
        accessLogFormat: str(obj(stage?.AccessLogSettings)?.Format),
      },
      invokableFunctionArns: [...new Set(invokable)],
    });
  }
  return apis;
}

/** The asset directory of a function: the `aws:asset:path` metadata, or inline code written out. */
function codeDirOf(
  assembly: AssemblyStack,
  template: ResolvedTemplate,
  logicalId: string,
  props: Record<string, Json>,
): string {
  const assetPath = template.resource(logicalId).Metadata?.['aws:asset:path'];
  if (typeof assetPath === 'string') {
    const dir = resolve(assembly.assemblyDir, assetPath);
    if (!existsSync(dir)) {
      throw new TemplateError(`The asset of ${logicalId} is missing at ${dir}: synthesize again`);
    }
    return dir;
  }
  const inline = str(obj(props.Code)?.ZipFile);
  if (inline !== undefined) {
    const dir = join(tmpdir(), 'eventjobs-local', assembly.stackName, logicalId);
    mkdirSync(dir, { recursive: true });
    // Lambda stores inline Node.js code as index.js (CommonJS).
    writeFileSync(join(dir, 'index.js'), inline);
    writeFileSync(join(dir, 'package.json'), '{"type":"commonjs"}');
    return dir;
  }
  throw new TemplateError(
    `${logicalId} has no local code: it needs \`aws:asset:path\` metadata (a CDK asset) or inline ZipFile code`,
  );
}

function functionNameOf(ref: string): string {
  // `arn:aws:lambda:region:account:function:name[:qualifier]` or a plain name.
  const match = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(ref);
  return match?.[1] ?? ref;
}

function functionArnOf(template: ResolvedTemplate, ref: string): string {
  if (ref.startsWith('arn:')) return ref.split(':').slice(0, 7).join(':');
  const { partition, region, accountId } = template.context;
  return `arn:${partition}:lambda:${region}:${accountId}:function:${ref}`;
}

function str(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: Json | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) {
    return Number(value);
  }
  return undefined;
}

/** A template date-time (`2026-01-01T00:00:00.000Z`) as epoch milliseconds. */
function date(value: Json | undefined, where: string): number | undefined {
  const text = str(value);
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new TemplateError(`${where} is not a date-time: ${JSON.stringify(text)}`);
  return ms;
}

function obj(value: Json | undefined): Record<string, Json> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

function arr(value: Json | undefined): Json[] {
  return Array.isArray(value) ? value : [];
}

function stringRecord(value: Json | undefined): Record<string, string> | undefined {
  const o = obj(value);
  if (!o) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string') out[k] = v;
  return out;
}

function pick(source: Record<string, Json>, keys: readonly string[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const key of keys) {
    const value = source[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
