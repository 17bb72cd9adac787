/**
 * Reads a synthesized CloudFormation template and resolves its intrinsic
 * functions to local names and ARNs, the way CloudFormation would resolve them
 * to physical ones at deploy time.
 */
import { createHash } from 'node:crypto';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
  readonly Metadata?: Record<string, Json>;
  readonly Condition?: string;
  readonly DependsOn?: Json;
}

export interface Template {
  readonly Resources: Record<string, TemplateResource>;
  readonly Parameters?: Record<string, { readonly Default?: Json; readonly Type?: string }>;
  readonly Conditions?: Record<string, Json>;
  readonly Mappings?: Record<string, Record<string, Record<string, Json>>>;
  readonly Outputs?: Record<string, { readonly Value: Json; readonly Description?: string }>;
}

export interface StackContext {
  readonly stackName: string;
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
  /** The local URL of an HTTP API, for `ApiEndpoint` attributes and outputs. */
  readonly apiEndpoint: (apiId: string) => string;
  /** The local URL prefix of SQS queues (`<endpoint>/<account>/<name>` is a queue URL). */
  readonly sqsEndpoint: string;
}

/** Raised for a template the local cloud cannot run; the message says what and where. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** Pseudo parameter `AWS::NoValue`: a property resolved to it is removed. */
const NO_VALUE = Symbol('AWS::NoValue');
type Resolved = Json | typeof NO_VALUE;

export class ResolvedTemplate {
  readonly #conditionCache = new Map<string, boolean>();

  constructor(
    readonly template: Template,
    readonly context: StackContext,
  ) {}

  /** Logical ids of the resources that exist (their `Condition`, if any, is true). */
  resourceIds(): string[] {
    return Object.entries(this.template.Resources)
      .filter(([, resource]) => !resource.Condition || this.#condition(resource.Condition))
      .map(([id]) => id);
  }

  resource(logicalId: string): TemplateResource {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new TemplateError(`No resource "${logicalId}" in the template`);
    return resource;
  }

  /** A resource's properties with every intrinsic resolved. */
  properties(logicalId: string): Record<string, Json> {
    const resolved = this.resolve(this.resource(logicalId).Properties ?? {}, logicalId);
    return resolved !== null && typeof resolved === 'object' && !Array.isArray(resolved)
      ? resolved
      : {};
  }

  /** Resolves any template value; `where` names the place for error messages. */
  resolve(value: Json, where: string): Json {
    const resolved = this.#resolveValue(value, where);
    return resolved === NO_VALUE ? null : resolved;
  }

  outputs(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, output] of Object.entries(this.template.Outputs ?? {})) {
      const value = this.resolve(output.Value, `Outputs.${name}`);
      out[name] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    return out;
  }

  // ------------------------------------------------------------ physical names

  /** The name CloudFormation would generate, made stable so `--data` state survives restarts. */
  physicalName(logicalId: string, maxLength = 64): string {
    const full = `${this.context.stackName}-${logicalId}`;
    if (full.length <= maxLength) return full;
    const digest = createHash('sha256').update(full).digest('hex').slice(0, 8);
    return `${full.slice(0, maxLength - 9)}-${digest}`;
  }

  /** What `Ref` returns for a resource. */
  ref(logicalId: string): string {
    const resource = this.resource(logicalId);
    const props = resource.Properties ?? {};
    const named = (key: string, max?: number) => {
      const explicit = props[key];
      if (explicit !== undefined) {
        const value = this.resolve(explicit, `${logicalId}.${key}`);
        if (typeof value === 'string') return value;
      }
      return this.physicalName(logicalId, max);
    };
    switch (resource.Type) {
      case 'AWS::Lambda::Function':
        return named('FunctionName', 64);
      case 'AWS::DynamoDB::Table':
        return named('TableName', 255);
      case 'AWS::Events::EventBus':
        return named('Name', 256);
      case 'AWS::Events::Rule': {
        const rule = named('Name', 64);
        const bus = this.ruleBusName(logicalId);
        return bus === 'default' ? rule : `${bus}|${rule}`;
      }
      case 'AWS::SQS::Queue':
        return `${this.context.sqsEndpoint}/${this.context.accountId}/${this.queueName(logicalId)}`;
      case 'AWS::IAM::Role':
        return named('RoleName', 64);
      case 'AWS::Logs::LogGroup':
        return named('LogGroupName', 512);
      case 'AWS::ApiGatewayV2::Api':
      case 'AWS::ApiGatewayV2::Integration':
      case 'AWS::ApiGatewayV2::Route':
        return shortId(`${this.context.stackName}/${logicalId}`);
      case 'AWS::ApiGatewayV2::Stage':
        return named('StageName', 128);
      case 'AWS::Scheduler::ScheduleGroup':
        return named('Name', 64);
      case 'AWS::Scheduler::Schedule': {
        if (props.Name !== undefined) return named('Name', 64);
        // CloudFormation's `<stack>-<logicalId>-<random suffix>`, the suffix derived so a restart keeps it.
        const suffix = shortId(`${this.context.stackName}/${logicalId}`, 12).toUpperCase();
        return `${this.physicalName(logicalId, 64 - 13)}-${suffix}`;
      }
      case 'AWS::SecretsManager::Secret': {
        // An ARN; AWS appends six random characters to the name, here derived from it.
        const name = named('Name', 512);
        const suffix = createHash('sha256').update(name).digest('base64url').slice(0, 6);
        const { region, accountId, partition } = this.context;
        return `arn:${partition}:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`;
      }
      default:
        return this.physicalName(logicalId);
    }
  }

  queueName(logicalId: string): string {
    const props = this.resource(logicalId).Properties ?? {};
    if (props.QueueName !== undefined) {
      const value = this.resolve(props.QueueName, `${logicalId}.QueueName`);
      if (typeof value === 'string') return value;
    }
    // CloudFormation takes booleans as strings too; loadStack's `fifo` reads both the same way.
    const fifoValue = this.resolve(props.FifoQueue ?? false, `${logicalId}.FifoQueue`);
    const fifo = fifoValue === true || fifoValue === 'true';
    return fifo ? `${this.physicalName(logicalId, 75)}.fifo` : this.physicalName(logicalId, 80);
  }

  ruleBusName(logicalId: string): string {
    const bus = this.resource(logicalId).Properties?.EventBusName;
    if (bus === undefined) return 'default';
    const value = this.resolve(bus, `${logicalId}.EventBusName`);
    if (typeof value !== 'string') return 'default';
    // A bus may be named by ARN: the name is what follows `event-bus/`.
    return value.startsWith('arn:') ? (value.split('event-bus/')[1] ?? value) : value;
  }

  /** The group of an `AWS::Scheduler::Schedule`: its `GroupName`, or `default`. */
  scheduleGroupName(logicalId: string): string {
    const group = this.resource(logicalId).Properties?.GroupName;
    if (group === undefined) return 'default';
    const value = this.resolve(group, `${logicalId}.GroupName`);
    return typeof value === 'string' ? value : 'default';
  }

  /** What `Fn::GetAtt` returns. */
  getAtt(logicalId: string, attribute: string): Json {
    const resource = this.resource(logicalId);
    const { region, accountId, partition } = this.context;
    const arn = (service: string, rest: string, withRegion = true, withAccount = true) =>
      `arn:${partition}:${service}:${withRegion ? region : ''}:${withAccount ? accountId : ''}:${rest}`;
    const ref = () => this.ref(logicalId);
    switch (`${resource.Type}.${attribute}`) {
      case 'AWS::Lambda::Function.Arn':
        return arn('lambda', `function:${ref()}`);
      case 'AWS::DynamoDB::Table.Arn':
        return arn('dynamodb', `table/${ref()}`);
      case 'AWS::DynamoDB::Table.StreamArn':
        return arn('dynamodb', `table/${ref()}/stream/1970-01-01T00:00:00.000`);
      case 'AWS::Events::EventBus.Arn':
        return arn('events', `event-bus/${ref()}`);
      case 'AWS::Events::EventBus.Name':
        return ref();
      case 'AWS::Events::Rule.Arn': {
        const bus = this.ruleBusName(logicalId);
        const name = ref().split('|').pop() ?? ref();
        return arn('events', bus === 'default' ? `rule/${name}` : `rule/${bus}/${name}`);
      }
      case 'AWS::SQS::Queue.Arn':
        return arn('sqs', this.queueName(logicalId));
      case 'AWS::SQS::Queue.QueueName':
        return this.queueName(logicalId);
      case 'AWS::SQS::Queue.QueueUrl':
        return ref();
      case 'AWS::IAM::Role.Arn':
        return arn('iam', `role/${ref()}`, false);
      case 'AWS::IAM::Role.RoleId':
        return `AROA${shortId(logicalId, 17).toUpperCase()}`;
      case 'AWS::Logs::LogGroup.Arn':
        return arn('logs', `log-group:${ref()}:*`);
      case 'AWS::Scheduler::ScheduleGroup.Arn':
        return arn('scheduler', `schedule-group/${ref()}`);
      case 'AWS::Scheduler::Schedule.Arn':
        return arn('scheduler', `schedule/${this.scheduleGroupName(logicalId)}/${ref()}`);
      case 'AWS::ApiGatewayV2::Api.ApiEndpoint':
        return this.context.apiEndpoint(ref());
      case 'AWS::ApiGatewayV2::Api.ApiId':
        return ref();
      default:
        if (attribute === 'Arn') {
          const service = resource.Type.split('::')[1]?.toLowerCase() ?? 'unknown';
          return arn(service, `${resource.Type.split('::')[2]?.toLowerCase()}/${ref()}`);
        }
        throw new TemplateError(
          `Fn::GetAtt ${logicalId}.${attribute} (${resource.Type}) is not supported locally`,
        );
    }
  }

  // ------------------------------------------------------------ intrinsics

  #pseudo(name: string): Resolved | undefined {
    const { region, accountId, partition, stackName } = this.context;
    switch (name) {
      case 'AWS::Region':
        return region;
      case 'AWS::AccountId':
        return accountId;
      case 'AWS::Partition':
        return partition;
      case 'AWS::StackName':
        return stackName;
      case 'AWS::StackId':
        return `arn:${partition}:cloudformation:${region}:${accountId}:stack/${stackName}/${shortId(stackName, 36)}`;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::NotificationARNs':
        return [];
      case 'AWS::NoValue':
        return NO_VALUE;
      default:
        return undefined;
    }
  }

  #refValue(name: string, where: string): Resolved {
    const pseudo = this.#pseudo(name);
    if (pseudo !== undefined) return pseudo;
    const parameter = this.template.Parameters?.[name];
    if (parameter) {
      if (parameter.Default === undefined) {
        throw new TemplateError(
          `Parameter ${name} (used at ${where}) has no default; the local cloud cannot ask for it`,
        );
      }
      return parameter.Default;
    }
    if (this.template.Resources[name]) return this.ref(name);
    throw new TemplateError(`Ref to unknown "${name}" at ${where}`);
  }

  /** `getAtt` for a reference in the template, whose error says where the reference is. */
  #getAttAt(logicalId: string, attribute: string, where: string): Json {
    if (!this.template.Resources[logicalId]) {
      throw new TemplateError(`Fn::GetAtt to unknown resource "${logicalId}" at ${where}`);
    }
    return this.getAtt(logicalId, attribute);
  }

  #condition(name: string): boolean {
    const cached = this.#conditionCache.get(name);
    if (cached !== undefined) return cached;
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) throw new TemplateError(`Unknown condition "${name}"`);
    const value = this.#resolveValue(definition, `Conditions.${name}`) === true;
    this.#conditionCache.set(name, value);
    return value;
  }

  #resolveValue(value: Json, where: string): Resolved {
    if (Array.isArray(value)) {
      return value.map((v, i) => this.#resolveValue(v, `${where}[${i}]`)).filter(notNoValue);
    }
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    const only = keys.length === 1 ? keys[0] : undefined;
    if (only !== undefined && (only === 'Ref' || only.startsWith('Fn::') || only === 'Condition')) {
      return this.#intrinsic(only, value[only] ?? null, where);
    }
    const out: { [key: string]: Json } = {};
    for (const [key, v] of Object.entries(value)) {
      const resolved = this.#resolveValue(v, `${where}.${key}`);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  #intrinsic(name: string, arg: Json, where: string): Resolved {
    const at = `${where} (${name})`;
    switch (name) {
      case 'Ref':
        return this.#refValue(asString(arg, at), where);
      case 'Condition':
        return this.#condition(asString(arg, at));
      case 'Fn::GetAtt': {
        const [id, ...attr] = Array.isArray(arg)
          ? arg.map((a) => asString(this.resolve(a, at), at))
          : asString(arg, at).split('.');
        if (!id || attr.length === 0) throw new TemplateError(`Malformed Fn::GetAtt at ${where}`);
        return this.#getAttAt(id, attr.join('.'), where);
      }
      case 'Fn::Join': {
        const [sep, list] = asArray(arg, at);
        const items = this.resolve(list ?? [], at);
        return asArray(items, at)
          .map((item) => stringify(item, at))
          .join(asString(sep ?? '', at));
      }
      case 'Fn::Sub':
        return this.#sub(arg, where);
      case 'Fn::Select': {
        const [index, list] = asArray(arg, at);
        const i = Number(this.resolve(index ?? 0, at));
        const items = asArray(this.resolve(list ?? [], at), at);
        if (!Number.isInteger(i) || i < 0 || i >= items.length) {
          throw new TemplateError(`Fn::Select index ${i} out of range at ${where}`);
        }
        return items[i] ?? null;
      }
      case 'Fn::Split': {
        const [sep, source] = asArray(arg, at);
        return asString(this.resolve(source ?? '', at), at).split(asString(sep ?? '', at));
      }
      case 'Fn::If': {
        const [cond, whenTrue, whenFalse] = asArray(arg, at);
        return this.#condition(asString(cond ?? '', at))
          ? this.#resolveValue(whenTrue ?? null, at)
          : this.#resolveValue(whenFalse ?? null, at);
      }
      case 'Fn::Equals': {
        const [a, b] = asArray(arg, at);
        return (
          JSON.stringify(this.resolve(a ?? null, at)) ===
          JSON.stringify(this.resolve(b ?? null, at))
        );
      }
      case 'Fn::Not':
        return this.#resolveValue(asArray(arg, at)[0] ?? null, at) !== true;
      case 'Fn::And':
        return asArray(arg, at).every((c) => this.#resolveValue(c, at) === true);
      case 'Fn::Or':
        return asArray(arg, at).some((c) => this.#resolveValue(c, at) === true);
      case 'Fn::Contains': {
        const [list, item] = asArray(arg, at);
        const needle = JSON.stringify(this.resolve(item ?? null, at));
        return asArray(this.resolve(list ?? [], at), at).some((v) => JSON.stringify(v) === needle);
      }
      case 'Fn::Base64':
        return Buffer.from(asString(this.resolve(arg, at), at), 'utf8').toString('base64');
      case 'Fn::FindInMap': {
        const [map, top, second] = asArray(arg, at).map((a) => asString(this.resolve(a, at), at));
        const found = this.template.Mappings?.[map ?? '']?.[top ?? '']?.[second ?? ''];
        if (found === undefined) throw new TemplateError(`Fn::FindInMap found nothing at ${where}`);
        return found;
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${this.context.region}${zone}`);
      case 'Fn::ToJsonString':
        return JSON.stringify(this.resolve(arg, at));
      default:
        throw new TemplateError(`${name} at ${where} is not supported by the local cloud`);
    }
  }

  #sub(arg: Json, where: string): string {
    const [text, vars] = Array.isArray(arg) ? [arg[0], arg[1]] : [arg, undefined];
    const variables = vars && typeof vars === 'object' && !Array.isArray(vars) ? vars : {};
    return asString(text ?? '', where).replace(/\$\{([^}]*)\}/g, (_match, expr: string) => {
      if (expr.startsWith('!')) return `\${${expr.slice(1)}}`;
      const local = variables[expr];
      if (local !== undefined) return stringify(this.resolve(local, where), where);
      const dot = expr.indexOf('.');
      if (dot > 0 && !expr.startsWith('AWS::')) {
        return stringify(this.#getAttAt(expr.slice(0, dot), expr.slice(dot + 1), where), where);
      }
      return stringify(this.#refValue(expr, where), where);
    });
  }
}

function notNoValue(value: Resolved): value is Json {
  return value !== NO_VALUE;
}

function asString(value: Json | typeof NO_VALUE | undefined, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateError(`Expected a string at ${where}, got ${JSON.stringify(value)}`);
}

function asArray(value: Json | typeof NO_VALUE, where: string): Json[] {
  if (Array.isArray(value)) return value;
  throw new TemplateError(`Expected a list at ${where}`);
}

function stringify(value: Resolved, where: string): string {
  if (value === NO_VALUE) return '';
  return asString(value, where);
}

/** A short, stable, lower-case id (API Gateway ids look like `a1b2c3d4e5`). */
export function shortId(seed: string, length = 10): string {
  const digest = createHash('sha256').update(seed).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet.charAt((digest[i % digest.length] ?? 0) % 36);
  return out;
}
