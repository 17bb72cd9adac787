/**
 * Starting jobs from events and schedules: what `AsyncJobs.startOn` and
 * `AsyncJobs.schedule` record at synth, and what the starter function reads
 * back at run time. One module, so the two sides cannot disagree about it.
 *
 * The configuration of a trigger or a schedule travels in the payload of its
 * rule target or schedule target (`encodeStarter`), not in the function's
 * environment: Lambda's environment holds 4 KB in all, which a handful of
 * input mappings would exhaust, and each target carries only its own.
 */
import { isJobName } from './events';

/** Where a value of a started job comes from: a JSON path into the event (`$.detail.requestId`). */
export interface EventPath {
  readonly path: string;
}

/**
 * A job's input from an event: the value at a path, or an object whose
 * members are paths or fixed JSON values, nested as deep as needed.
 */
export type InputMapping = EventPath | { readonly [key: string]: InputMappingValue };
export type InputMappingValue =
  | EventPath
  | string
  | number
  | boolean
  | null
  | readonly InputMappingValue[]
  | { readonly [key: string]: InputMappingValue };

/**
 * The owner of the jobs a trigger starts: one principal (carried in the
 * target's payload as `owner`, so a token such as `role.roleArn` resolves), or
 * a path into trusted events.
 */
export type OwnerSource = { readonly fixed: true } | EventPath;

/** A trigger as the starter function reads it. */
export interface TriggerConfig {
  readonly kind: 'trigger';
  /** The trigger's id, unique in the construct. */
  readonly id: string;
  readonly type: string | EventPath;
  /** @default - the event's id */
  readonly name?: EventPath;
  /** @default - the event's `detail` */
  readonly input?: InputMapping;
  readonly owner: OwnerSource;
  readonly timeoutSeconds?: number;
}

/** What a schedule does when it fires while its previous run still runs. */
export type OverlapPolicy = 'skip' | 'allow';

/** A schedule as the starter function reads it. */
export interface ScheduleConfig {
  readonly kind: 'schedule';
  readonly id: string;
  readonly type: string;
  /** The job name's template; `{scheduledTime}` and `{id}` are filled in. */
  readonly name: string;
  readonly overlap: OverlapPolicy;
  readonly timeoutSeconds?: number;
}

export type StarterConfig = TriggerConfig | ScheduleConfig;

/**
 * What a job started by a trigger, a schedule or a replay records about it
 * (GET, list and `Job Finished` show it); an API start records nothing.
 */
export type StartedBy =
  | {
      readonly kind: 'trigger';
      readonly id: string;
      /** The EventBridge event's id: a redelivery of it is recognised by it. */
      readonly eventId: string;
      readonly source?: string;
      readonly detailType?: string;
    }
  | {
      readonly kind: 'schedule';
      readonly id: string;
      /** The time the schedule fired for (Scheduler's `<aws.scheduler.scheduled-time>`). */
      readonly scheduledTime: string;
    }
  | {
      /** `POST /jobs/{name}/replay`: a new run of a finished job, with its input. */
      readonly kind: 'replay';
      /** The job that was replayed. */
      readonly jobName: string;
      /** Its run that was replayed: the newest retained outcome of that name at the time. */
      readonly runId: string;
    };

/** What a trigger or a schedule records on the jobs it starts (and on the events it rejects). */
export type StartedByStarter = Extract<StartedBy, { readonly kind: 'trigger' | 'schedule' }>;

/** The default name template of a schedule's jobs: unique per firing. */
export const DEFAULT_SCHEDULE_NAME = '{id}-{scheduledTime}';

/** A trigger's or a schedule's id: it appears in job names, item keys and construct ids. */
export const STARTER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

// ---------------------------------------------------------------------------
// The payload of a target: `{ "eventjobsStarter": "<base64url config>", ... }`
// ---------------------------------------------------------------------------

/**
 * The payload key that carries a starter's configuration. Beside it: `owner`
 * (a fixed owner), `input` (a schedule's), `event` (a trigger's event), and a
 * schedule's `scheduledTime` and `executionId`; values CloudFormation resolves.
 */
export const STARTER_KEY = 'eventjobsStarter';

/**
 * The configuration as base64url of its JSON. An input transformer's template
 * treats `<name>` as a placeholder wherever it appears, so fixed values of a
 * mapping (`"<b>"`) cannot be put in the template as they are.
 */
export function encodeStarter(config: StarterConfig): string {
  return Buffer.from(JSON.stringify(config), 'utf8').toString('base64url');
}

export function decodeStarter(encoded: unknown): StarterConfig {
  if (typeof encoded !== 'string') throw new Error('The payload carries no starter configuration');
  const config = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as StarterConfig;
  if (config?.kind !== 'trigger' && config?.kind !== 'schedule') {
    throw new Error('The payload carries an unknown starter configuration');
  }
  return config;
}

// ---------------------------------------------------------------------------
// JSON paths: the subset EventBridge's input paths use
// ---------------------------------------------------------------------------

type PathStep = string | number;

const NAME_STEP = /^\.([A-Za-z0-9_-]+)/;
const INDEX_STEP = /^\[(\d+)\]/;
const QUOTED_STEP = /^\['([^'\\]*)'\]/;

/**
 * Parses `$`, `$.a.b`, `$.a[0]` and `$['a.b']`; throws naming the path
 * otherwise. No wildcards or filters: a value of a job comes from one place.
 */
export function parsePath(path: string): readonly PathStep[] {
  if (!path.startsWith('$')) throw new Error(`The path "${path}" does not start with $`);
  const steps: PathStep[] = [];
  let rest = path.slice(1);
  while (rest !== '') {
    const name = NAME_STEP.exec(rest) ?? QUOTED_STEP.exec(rest);
    const index = name ? undefined : INDEX_STEP.exec(rest);
    const match = name ?? index;
    if (!match)
      throw new Error(`The path "${path}" is not a JSON path of .names, [n] and ['names']`);
    steps.push(name ? (match[1] as string) : Number(match[1]));
    rest = rest.slice(match[0].length);
  }
  return steps;
}

/** The value at `path` in `value`, or undefined when it names nothing. */
export function selectPath(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const step of parsePath(path)) {
    if (typeof step === 'number') {
      if (!Array.isArray(current) || step >= current.length) return undefined;
      current = current[step];
    } else {
      if (current === null || typeof current !== 'object' || Array.isArray(current)) {
        return undefined;
      }
      if (!Object.hasOwn(current, step)) return undefined;
      current = (current as Record<string, unknown>)[step];
    }
  }
  return current;
}

export function isEventPath(value: unknown): value is EventPath {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as { path?: unknown }).path === 'string'
  );
}

/** A path that matched nothing in the event. */
export class MissingValueError extends Error {
  override readonly name = 'MissingValueError';
  constructor(
    readonly field: string,
    readonly path: string,
  ) {
    super(`The event has no value at ${path} (the job's ${field})`);
  }
}

/** Fills an input mapping from `event`: a missing path is an error naming it. */
export function mapInput(mapping: InputMappingValue, event: unknown, field = 'input'): unknown {
  if (isEventPath(mapping)) {
    const value = selectPath(event, mapping.path);
    if (value === undefined) throw new MissingValueError(field, mapping.path);
    return value;
  }
  if (Array.isArray(mapping)) {
    return mapping.map((item, index) => mapInput(item, event, `${field}[${index}]`));
  }
  if (mapping !== null && typeof mapping === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(mapping)) {
      out[key] = mapInput(value as InputMappingValue, event, `${field}.${key}`);
    }
    return out;
  }
  return mapping;
}

/** Every path of a mapping, for checks at synth. */
export function pathsOf(mapping: InputMappingValue): string[] {
  if (isEventPath(mapping)) return [mapping.path];
  if (Array.isArray(mapping)) return mapping.flatMap(pathsOf);
  if (mapping !== null && typeof mapping === 'object') {
    return Object.values(mapping).flatMap((value) => pathsOf(value as InputMappingValue));
  }
  return [];
}

// ---------------------------------------------------------------------------
// Owners
// ---------------------------------------------------------------------------

// An IAM user or role, or an STS assumed-role session: the identities the API's
// IAM authorizer reports, and so the owners whose reads can ever match.
const PRINCIPAL_ARN =
  /^arn:aws(-[a-z]+)*:(iam::\d{12}:(user|role)(\/[\w+=,.@-]+)+|sts::\d{12}:assumed-role\/[\w+=,.@-]+(\/[\w+=,.@-]+)?)$/;
const ASSUMED_ROLE_SESSION = /^(arn:[^:]+:sts::\d{12}:assumed-role\/[^/]+)\/.+$/;
const ASSUMED_ROLE = /^arn:[^:]+:sts::\d{12}:assumed-role\/[^/]+$/;
// A role, with or without a path: its callers are its sessions, `sts::A:assumed-role/Name/...`.
const ROLE = /^arn:([^:]+):iam::(\d{12}):role\/(?:[^/]+\/)*([^/]+)$/;

/** An IAM user or role ARN, or an assumed role's (`.../assumed-role/Name`, with or without a session). */
export function isPrincipalArn(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 2048 && PRINCIPAL_ARN.test(value);
}

/**
 * The owner a principal ARN stands for under the stack's owner model, the way
 * the API derives a caller's (`functions/shared/identity.ts`), or undefined
 * when no caller can ever be that owner:
 * - `principal`: a user is itself; a role, an assumed role and any of its
 *   sessions are `arn:...:sts::A:assumed-role/Name` (the role's path is not
 *   part of its sessions' ARNs).
 * - `session`: a user, or one session (`.../assumed-role/Name/session`); a
 *   role as a whole owns nothing.
 */
export function ownerOfPrincipal(arn: string, model: 'principal' | 'session'): string | undefined {
  if (!isPrincipalArn(arn)) return undefined;
  const role = ROLE.exec(arn);
  if (model === 'session') {
    return role || ASSUMED_ROLE.test(arn) ? undefined : arn;
  }
  if (role) return `arn:${role[1]}:sts::${role[2]}:assumed-role/${role[3]}`;
  return ASSUMED_ROLE_SESSION.exec(arn)?.[1] ?? arn;
}

// ---------------------------------------------------------------------------
// Schedules' job names
// ---------------------------------------------------------------------------

const TEMPLATE_FIELD = /\{([A-Za-z]+)\}/g;
const TEMPLATE_FIELDS = ['id', 'scheduledTime'] as const;

/**
 * A scheduled time as it may appear in a job name (which allows no `:`):
 * `2026-12-07T06:00:00Z` becomes `20261207T060000Z`.
 */
export function compactTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new Error(`"${iso}" is not a time`);
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** Checks a name template at synth: only known fields, and a valid job name once filled. */
export function checkNameTemplate(template: string, id: string): string | undefined {
  for (const match of template.matchAll(TEMPLATE_FIELD)) {
    const field = match[1] as string;
    if (!(TEMPLATE_FIELDS as readonly string[]).includes(field)) {
      return `name "${template}" has {${field}}; the fields are ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(', ')}`;
    }
  }
  const filled = renderName(template, { id, scheduledTime: '2026-12-31T23:59:59Z' });
  if (!isJobName(filled)) {
    return `name "${template}" gives "${filled}", which is not a job name (1 to 128 characters of A-Z a-z 0-9 . _ -)`;
  }
  return undefined;
}

export function renderName(
  template: string,
  fields: { id: string; scheduledTime: string },
): string {
  return template.replace(TEMPLATE_FIELD, (whole, field: string) => {
    if (field === 'id') return fields.id;
    if (field === 'scheduledTime') return compactTime(fields.scheduledTime);
    return whole;
  });
}
