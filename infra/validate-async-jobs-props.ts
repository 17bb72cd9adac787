/**
 * The defaults of {@link AsyncJobsProps} and the checks on the result, in the manner
 * of aws-cdk-lib's `validate-*-props.ts`: a table of range checks (prop, kind, range;
 * the kind words the message) and a table of rules across props (condition, message).
 * Values AWS would reject at deploy time, or that break the design, fail at synth.
 */
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Defaults, EnvVar } from '../core/config';
import { OWNER_MODELS, type OwnerModel } from '../core/limits';
import type { AsyncJobsJobTypes, AsyncJobsProps } from './async-jobs-props';
import { resolveEntry } from './bundling';
import { checkJobTypesModule, type InspectedExport } from './job-types';

/** The largest a DynamoDB item may be is 400 KB; keep 20 KB for keys, status and timestamps. */
const MAX_ITEM_PAYLOAD_BYTES = 380 * 1024;
/** EventBridge accepts entries up to 1 MB since 2026 (AWS-FACTS); never promise more. */
const MAX_EVENT_BYTES_LIMIT = 1024 * 1024;
/** An HTTP API waits at most 30 s for its integration; a longer Lambda timeout only costs money. */
const MAX_API_FUNCTION_TIMEOUT = Duration.seconds(30);
const MAX_LAMBDA_TIMEOUT = Duration.minutes(15);
const MEMORY_MIN_MB = 128;
const MEMORY_MAX_MB = 10240;

/** {@link AsyncJobsProps} with every default applied. */
export interface ResolvedProps {
  readonly jobTypesEntry: string;
  readonly jobEnvironment: Readonly<Record<string, string>>;
  readonly workerTimeout: Duration;
  readonly workerMemorySize: number;
  readonly workerRetryAttempts: number;
  readonly workerMaxEventAge: Duration;
  readonly workerReservedConcurrency: number;
  readonly ownerModel: OwnerModel;
  readonly ownerConcurrency: number;
  readonly maxQueuedPerOwner: number;
  /** Each type's limit: its own `concurrency`, overridden by the construct's `typeConcurrency`. */
  readonly typeConcurrency: Readonly<Record<string, number>>;
  /** The names of the job types of `jobTypes.entry`. */
  readonly jobTypeNames: readonly string[];
  readonly queueTimeout: Duration;
  readonly sweeperStartWindow: Duration;
  readonly apiFunctionMemorySize: number;
  readonly apiFunctionTimeout: Duration;
  readonly completionMemorySize: number;
  readonly completionTimeout: Duration;
  readonly outcomeRetentionSeconds: number;
  readonly maxInputBytes: number;
  readonly maxEventBytes: number;
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly runtime: lambda.Runtime;
  readonly architecture: lambda.Architecture;
}

type PropsOfType<V> = {
  [K in keyof ResolvedProps]-?: ResolvedProps[K] extends V ? K : never;
}[keyof ResolvedProps];

/**
 * One prop's range. `duration`: between `min` and `max` inclusive; `integer`: a whole
 * number, then as `number`; `number`: finite and at least `min` (at most `max` if
 * given). `label` is the name in the message when it is not the prop's own. An
 * unresolved token, or an optional prop left out, is not checked.
 */
type RangeCheck =
  | {
      readonly prop: PropsOfType<Duration>;
      readonly kind: 'duration';
      readonly min: Duration;
      readonly max: Duration;
    }
  | {
      readonly prop: PropsOfType<number | undefined>;
      readonly label?: string;
      readonly kind: 'integer' | 'number';
      readonly min: number;
      readonly max?: number;
    };

/** A check across props: `condition` holds when the props are invalid. */
interface ValidationRule {
  readonly condition: (props: ResolvedProps) => boolean;
  readonly message: (props: ResolvedProps) => string;
}

/** Run in this order; the first that fails is the error. */
const RANGE_CHECKS: readonly RangeCheck[] = [
  { prop: 'workerTimeout', kind: 'duration', min: Duration.seconds(1), max: MAX_LAMBDA_TIMEOUT },
  {
    prop: 'workerMaxEventAge',
    kind: 'duration',
    min: Duration.seconds(60),
    max: Duration.hours(6),
  },
  {
    prop: 'apiFunctionTimeout',
    kind: 'duration',
    min: Duration.seconds(1),
    max: MAX_API_FUNCTION_TIMEOUT,
  },
  {
    prop: 'completionTimeout',
    kind: 'duration',
    min: Duration.seconds(1),
    max: MAX_LAMBDA_TIMEOUT,
  },
  { prop: 'workerRetryAttempts', kind: 'integer', min: 0, max: 2 },
  // 0 would send every job straight to the failure destination (AWS-FACTS).
  { prop: 'workerReservedConcurrency', kind: 'integer', min: 1 },
  { prop: 'ownerConcurrency', kind: 'integer', min: 1 },
  { prop: 'maxQueuedPerOwner', kind: 'integer', min: 1 },
  { prop: 'queueTimeout', kind: 'duration', min: Duration.minutes(1), max: Duration.days(14) },
  // Lambda's own timeout bounds how long start-job may take between the record and the invoke.
  {
    prop: 'sweeperStartWindow',
    kind: 'duration',
    min: Duration.seconds(60),
    max: Duration.hours(7),
  },
  { prop: 'workerMemorySize', kind: 'integer', min: MEMORY_MIN_MB, max: MEMORY_MAX_MB },
  { prop: 'apiFunctionMemorySize', kind: 'integer', min: MEMORY_MIN_MB, max: MEMORY_MAX_MB },
  { prop: 'completionMemorySize', kind: 'integer', min: MEMORY_MIN_MB, max: MEMORY_MAX_MB },
  {
    prop: 'outcomeRetentionSeconds',
    label: 'outcomeRetention (seconds)',
    kind: 'integer',
    min: 1,
  },
  { prop: 'maxInputBytes', kind: 'integer', min: 1 },
  { prop: 'maxEventBytes', kind: 'integer', min: 1, max: MAX_EVENT_BYTES_LIMIT },
  { prop: 'rateLimit', label: 'throttling.rateLimit', kind: 'number', min: 0 },
  { prop: 'burstLimit', label: 'throttling.burstLimit', kind: 'integer', min: 0 },
];

/** Run after the range checks, in this order. */
const RULES: readonly ValidationRule[] = [
  {
    condition: ({ maxInputBytes, maxEventBytes }) =>
      !Token.isUnresolved(maxInputBytes) &&
      !Token.isUnresolved(maxEventBytes) &&
      maxInputBytes + maxEventBytes > MAX_ITEM_PAYLOAD_BYTES,
    message: ({ maxInputBytes, maxEventBytes }) =>
      `maxInputBytes (${maxInputBytes}) + maxEventBytes ` +
      `(${maxEventBytes}) = ${maxInputBytes + maxEventBytes} bytes, ` +
      `more than ${MAX_ITEM_PAYLOAD_BYTES} (380 KiB): a job's input and its result are ` +
      'stored in the same DynamoDB item, which may be at most 400 KB including its keys ' +
      'and metadata. Lower one of them.',
  },
  {
    condition: ({ ownerModel }) => !OWNER_MODELS.includes(ownerModel),
    message: ({ ownerModel }) =>
      `ownerModel must be one of ${OWNER_MODELS.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(ownerModel)}`,
  },
  {
    condition: ({ runtime }) => runtime.family !== lambda.RuntimeFamily.NODEJS,
    message: ({ runtime }) => `runtime must be a Node.js runtime, got ${runtime.name}`,
  },
];

/** Applies the defaults and rejects values AWS would reject later, or that break the design. */
export function resolveProps(props: AsyncJobsProps): ResolvedProps {
  const resolved = applyDefaults(props);
  for (const check of RANGE_CHECKS) runRangeCheck(check, resolved);
  for (const rule of RULES) {
    if (rule.condition(resolved)) throw new Error(`AsyncJobs: ${rule.message(resolved)}`);
  }
  return resolved;
}

function applyDefaults(props: AsyncJobsProps): ResolvedProps {
  const workerMaxEventAge = props.workerMaxEventAge ?? Duration.hours(6);
  const jobTypes = resolveJobTypes(props.jobTypes);
  return {
    ...jobTypes,
    typeConcurrency: resolveTypeConcurrency(jobTypes.inspected, props.typeConcurrency),
    jobTypeNames: jobTypes.inspected.flatMap((type) =>
      type.name === undefined ? [] : [type.name],
    ),
    workerTimeout: props.workerTimeout ?? MAX_LAMBDA_TIMEOUT,
    workerMemorySize: props.workerMemorySize ?? 1024,
    workerRetryAttempts: props.workerRetryAttempts ?? 2,
    workerMaxEventAge,
    workerReservedConcurrency:
      props.workerReservedConcurrency ?? Defaults.workerReservedConcurrency,
    ownerModel: props.ownerModel ?? 'principal',
    ownerConcurrency: props.ownerConcurrency ?? Defaults.ownerConcurrency,
    maxQueuedPerOwner: props.maxQueuedPerOwner ?? Defaults.maxQueuedPerOwner,
    queueTimeout: props.queueTimeout ?? Duration.seconds(Defaults.queueTimeoutSeconds),
    sweeperStartWindow:
      props.sweeperStartWindow ?? Duration.seconds(workerMaxEventAge.toSeconds() + 60),
    apiFunctionMemorySize: props.apiFunctionMemorySize ?? 256,
    // Just under the HTTP API's 30 s: the function is never cut off while the gateway still
    // waits, so a start under load answers rather than dying after its write (a bare 500).
    apiFunctionTimeout: props.apiFunctionTimeout ?? Duration.seconds(29),
    completionMemorySize: props.completionMemorySize ?? 512,
    completionTimeout: props.completionTimeout ?? Duration.minutes(1),
    outcomeRetentionSeconds: wholeSeconds(
      'outcomeRetention',
      props.outcomeRetention ?? Duration.seconds(Defaults.outcomeRetentionSeconds),
    ),
    maxInputBytes: props.maxInputBytes ?? Defaults.maxInputBytes,
    maxEventBytes: props.maxEventBytes ?? Defaults.maxEventBytes,
    rateLimit: props.throttling?.rateLimit ?? 50,
    burstLimit: props.throttling?.burstLimit ?? 100,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    runtime: props.runtime ?? lambda.Runtime.NODEJS_24_X,
    architecture: props.architecture ?? lambda.Architecture.ARM_64,
  };
}

function runRangeCheck(check: RangeCheck, props: ResolvedProps): void {
  if (check.kind === 'duration') {
    checkDuration(check.prop, props[check.prop], check.min, check.max);
    return;
  }
  const value = props[check.prop];
  if (value === undefined) return;
  const name = check.label ?? check.prop;
  if (check.kind === 'integer') checkInteger(name, value, check.min, check.max);
  else checkNumber(name, value, check.min, check.max);
}

/** Lambda sets these itself; a function may not (AWS's reserved environment variables). */
const RESERVED_ENV = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);

/** Each type's limit: its own, then the construct's, which must name types that exist. */
function resolveTypeConcurrency(
  inspected: readonly InspectedExport[],
  overrides: Readonly<Record<string, number>> | undefined,
): Record<string, number> {
  const limits: Record<string, number> = {};
  const names = new Set<string>();
  for (const type of inspected) {
    if (type.name === undefined) continue;
    names.add(type.name);
    if (type.concurrency !== undefined) limits[type.name] = type.concurrency;
  }
  for (const [name, limit] of Object.entries(overrides ?? {})) {
    if (!names.has(name)) {
      throw new Error(
        `AsyncJobs: typeConcurrency names "${name}", which is not a job type of jobTypes.entry ` +
          `(its types: ${[...names].sort().join(', ')})`,
      );
    }
    checkInteger(`typeConcurrency.${name}`, limit, 1, undefined);
    limits[name] = limit;
  }
  return limits;
}

function resolveJobTypes(jobTypes: AsyncJobsJobTypes | undefined): Pick<
  ResolvedProps,
  'jobTypesEntry' | 'jobEnvironment'
> & {
  readonly inspected: readonly InspectedExport[];
} {
  if (typeof jobTypes?.entry !== 'string' || jobTypes.entry === '') {
    throw new Error(
      "AsyncJobs: jobTypes.entry is required: the module of your app whose exports are its job types, e.g. { jobTypes: { entry: 'src/jobs.ts' } }",
    );
  }
  const entry = resolveEntry(jobTypes.entry);
  let inspected: readonly InspectedExport[];
  try {
    inspected = checkJobTypesModule(entry);
  } catch (error) {
    throw new Error(`AsyncJobs: jobTypes.entry: ${(error as Error).message}`);
  }
  const ownVariables = new Set<string>(Object.values(EnvVar));
  const environment = jobTypes.environment ?? {};
  for (const [key, value] of Object.entries(environment)) {
    // Lambda's rule: a letter, then at least one letter, digit or underscore.
    if (!/^[A-Za-z][A-Za-z0-9_]+$/.test(key)) {
      throw new Error(`AsyncJobs: jobTypes.environment: "${key}" is not a valid variable name`);
    }
    if (RESERVED_ENV.has(key) || ownVariables.has(key) || key === 'NODE_OPTIONS') {
      throw new Error(
        `AsyncJobs: jobTypes.environment: ${key} is set by Lambda or by eventjobs itself; choose another name`,
      );
    }
    if (typeof value !== 'string') {
      throw new Error(`AsyncJobs: jobTypes.environment.${key} must be a string`);
    }
  }
  return { jobTypesEntry: entry, jobEnvironment: environment, inspected };
}

function checkDuration(name: string, value: Duration, min: Duration, max: Duration): void {
  if (value.isUnresolved()) return;
  const ms = value.toMilliseconds();
  if (ms < min.toMilliseconds() || ms > max.toMilliseconds()) {
    throw new Error(
      `AsyncJobs: ${name} must be between ${min.toHumanString()} and ${max.toHumanString()}, ` +
        `got ${value.toHumanString()}`,
    );
  }
}

function checkInteger(name: string, value: number, min: number, max: number | undefined): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value)) {
    throw new Error(`AsyncJobs: ${name} must be a whole number, got ${value}`);
  }
  checkNumber(name, value, min, max);
}

function checkNumber(name: string, value: number, min: number, max: number | undefined): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isFinite(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `at least ${min}` : `between ${min} and ${max}`;
    throw new Error(`AsyncJobs: ${name} must be ${range}, got ${value}`);
  }
}

function wholeSeconds(name: string, value: Duration): number {
  if (value.isUnresolved()) {
    throw new Error(`AsyncJobs: ${name} must be a concrete duration, not a token`);
  }
  const ms = value.toMilliseconds();
  if (ms % 1000 !== 0) {
    throw new Error(`AsyncJobs: ${name} must be a whole number of seconds, got ${ms} ms`);
  }
  return ms / 1000;
}
