/**
 * The validator at the functions' boundaries: request bodies, job inputs,
 * events and payloads. Schemas are built from a handful of functions
 * (`object`, `string`, `integer`, `optional`, ...), parse with `safeParse` or
 * `parse`, and report issues with a path and a message worded as zod words
 * them (`Too big: expected number to be <=900`).
 *
 * Why not zod, the house default: every function builds its schemas at init,
 * and zod's schema objects are costly to build. With `zod/mini` it was 7 to 16 ms
 * of each cold start, the largest share after the AWS SDK's (measured with
 * `npm run bench:bundles`, issue 6). A schema here is one closure, built in
 * microseconds, and the module is a few kilobytes.
 *
 * Schemas implement Standard Schema v1 (https://standardschema.dev), and what
 * takes a job type's input schema accepts any Standard Schema: a job type may
 * use zod (classic or mini) or another library instead, at the price of its
 * bundle size and init time.
 */
import type { StandardSchemaV1 } from '../../core/standard-schema';
import { AppError } from './errors';

// ------------------------------------------------------------ Standard Schema

export type {
  InferOutput,
  StandardIssue,
  StandardResult,
  StandardSchemaV1,
} from '../../core/standard-schema';

// ------------------------------------------------------------ results and errors

/** One problem with a value: where (keys and indexes from the root) and what. */
export interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

export type SafeParseResult<T> =
  | { readonly success: true; readonly data: T }
  | { readonly success: false; readonly error: SchemaError };

/** A value did not match its schema; `issues` says where and how. */
export class SchemaError extends AppError {
  readonly issues: readonly Issue[];

  constructor(issues: readonly Issue[], options?: ErrorOptions) {
    super(describeIssues(issues), options);
    this.issues = issues;
  }
}

/** Issues as one line: `path: message; path: message`. */
export function describeIssues(issues: readonly Issue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/**
 * Validates a value with any Standard Schema, synchronously (a job type's
 * input schema may come from another library). A schema that answers with a
 * promise (async refinements) is refused: inputs are validated before a job
 * starts, in one step.
 */
export function validate<T>(
  schema: StandardSchemaV1<unknown, T>,
  value: unknown,
): SafeParseResult<T> {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) {
    throw new TypeError('Asynchronous schemas are not supported; use synchronous validation only');
  }
  if (result.issues === undefined) return { success: true, data: result.value };
  return {
    success: false,
    error: new SchemaError(
      result.issues.map((issue) => ({
        path: (issue.path ?? []).map((item) => (typeof item === 'object' ? item.key : item)),
        message: issue.message,
      })),
    ),
  };
}

// ------------------------------------------------------------ schemas

/** What a check returns for a value it refused (after recording the issues). */
const INVALID: unique symbol = Symbol('invalid');
type Checked<T> = T | typeof INVALID;
type Check<T> = (value: unknown, path: PropertyKey[], issues: Issue[]) => Checked<T>;

/** A schema: `safeParse`, `parse`, and Standard Schema's `~standard`. */
export class Schema<T> implements StandardSchemaV1<unknown, T> {
  readonly '~standard': StandardSchemaV1<unknown, T>['~standard'];
  /** Checks a value at `path`, recording issues; for composing schemas. */
  readonly check: Check<T>;
  /** Whether an object may leave the key of this schema out. */
  readonly optional: boolean;

  constructor(check: Check<T>, optional = false) {
    this.check = check;
    this.optional = optional;
    this['~standard'] = {
      version: 1,
      vendor: 'eventjobs',
      validate: (value) => {
        const parsed = this.safeParse(value);
        return parsed.success ? { value: parsed.data } : { issues: parsed.error.issues };
      },
    };
  }

  safeParse(value: unknown): SafeParseResult<T> {
    const issues: Issue[] = [];
    const result = this.check(value, [], issues);
    if (result === INVALID || issues.length > 0) {
      return { success: false, error: new SchemaError(issues) };
    }
    return { success: true, data: result };
  }

  /** The parsed value; throws `SchemaError` when it does not match. */
  parse(value: unknown): T {
    const parsed = this.safeParse(value);
    if (!parsed.success) throw parsed.error;
    return parsed.data;
  }
}

/** The type a schema parses to. */
export type Infer<S extends Schema<unknown>> = S extends Schema<infer T> ? T : never;

function fail(issues: Issue[], path: PropertyKey[], message: string): typeof INVALID {
  issues.push({ path: [...path], message });
  return INVALID;
}

/** How zod names a value's type in "expected X, received Y". */
function received(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : 'Infinity';
  }
  return typeof value;
}

function invalidType(
  issues: Issue[],
  path: PropertyKey[],
  expected: string,
  value: unknown,
): typeof INVALID {
  return fail(issues, path, `Invalid input: expected ${expected}, received ${received(value)}`);
}

export interface StringOptions {
  /** The fewest characters (UTF-16 code units, as `String.length` counts). */
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: RegExp;
  /** What a value that does not match `pattern` is told. @default - `Invalid string: must match pattern <pattern>` */
  readonly patternMessage?: string;
}

export function string(options: StringOptions = {}): Schema<string> {
  const { min, max, pattern } = options;
  return new Schema<string>((value, path, issues) => {
    if (typeof value !== 'string') return invalidType(issues, path, 'string', value);
    if (min !== undefined && value.length < min) {
      return fail(issues, path, `Too small: expected string to have >=${min} characters`);
    }
    if (max !== undefined && value.length > max) {
      return fail(issues, path, `Too big: expected string to have <=${max} characters`);
    }
    if (pattern !== undefined && !pattern.test(value)) {
      return fail(
        issues,
        path,
        options.patternMessage ?? `Invalid string: must match pattern ${String(pattern)}`,
      );
    }
    return value;
  });
}

export interface NumberOptions {
  readonly min?: number;
  readonly max?: number;
}

function numberSchema(kind: 'number' | 'int', options: NumberOptions): Schema<number> {
  const { min, max } = options;
  return new Schema<number>((value, path, issues) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return invalidType(issues, path, 'number', value);
    }
    if (kind === 'int' && !Number.isSafeInteger(value)) {
      return fail(issues, path, 'Invalid input: expected int, received number');
    }
    if (min !== undefined && value < min) {
      return fail(issues, path, `Too small: expected number to be >=${min}`);
    }
    if (max !== undefined && value > max) {
      return fail(issues, path, `Too big: expected number to be <=${max}`);
    }
    return value;
  });
}

/** A finite number. */
export function number(options: NumberOptions = {}): Schema<number> {
  return numberSchema('number', options);
}

/** A safe integer. */
export function integer(options: NumberOptions = {}): Schema<number> {
  return numberSchema('int', options);
}

/** Any value, unchecked. */
export function unknown(): Schema<unknown> {
  return new Schema((value) => value, true);
}

/** A value JSON can carry: string, finite number, boolean, null, or arrays and objects of them. */
export function json(): Schema<JsonValue> {
  return new Schema((value, path, issues) =>
    isJson(value, path, issues) ? (value as JsonValue) : INVALID,
  );
}

export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

function isJson(value: unknown, path: PropertyKey[], issues: Issue[]): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      if (Number.isFinite(value)) return true;
      break;
    case 'object': {
      if (value === null) return true;
      let ok = true;
      for (const [key, item] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
        path.push(key);
        ok = isJson(item, path, issues) && ok;
        path.pop();
      }
      return ok;
    }
  }
  fail(issues, path, `Invalid input: expected a JSON value, received ${received(value)}`);
  return false;
}

/** A value of this schema, or the key left out (or `undefined`). */
export function optional<T>(schema: Schema<T>): Schema<T | undefined> {
  return new Schema<T | undefined>(
    (value, path, issues) => (value === undefined ? undefined : schema.check(value, path, issues)),
    true,
  );
}

/** Exactly this value. */
export function literal<const T extends string | number | boolean | null>(expected: T): Schema<T> {
  return new Schema((value, path, issues) =>
    value === expected
      ? expected
      : fail(issues, path, `Invalid input: expected ${JSON.stringify(expected)}`),
  );
}

/** One of these strings. */
export function oneOf<const T extends readonly [string, ...string[]]>(
  options: T,
): Schema<T[number]> {
  const allowed: ReadonlySet<unknown> = new Set(options);
  const listed = options.map((option) => JSON.stringify(option)).join('|');
  return new Schema((value, path, issues) =>
    allowed.has(value)
      ? (value as T[number])
      : fail(issues, path, `Invalid option: expected one of ${listed}`),
  );
}

export function array<T>(item: Schema<T>): Schema<T[]> {
  return new Schema<T[]>((value, path, issues) => {
    if (!Array.isArray(value)) return invalidType(issues, path, 'array', value);
    const out: T[] = [];
    let ok = true;
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      const result = item.check(value[i], path, issues);
      path.pop();
      if (result === INVALID) ok = false;
      else out.push(result);
    }
    return ok ? out : INVALID;
  });
}

/** `YYYY-MM-DDTHH:MM:SS(.fraction)` with `Z` or a `±HH:MM` offset; a real calendar date. */
const ISO_DATETIME =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** An ISO 8601 date and time with seconds and a `Z` or `±HH:MM` offset. */
export function isoDateTime(): Schema<string> {
  return new Schema<string>((value, path, issues) => {
    if (typeof value !== 'string') return invalidType(issues, path, 'string', value);
    return ISO_DATETIME.test(value) ? value : fail(issues, path, 'Invalid ISO datetime');
  });
}

type Shape = Readonly<Record<string, Schema<unknown>>>;

type OptionalKeys<S extends Shape> = {
  [K in keyof S]: undefined extends Infer<S[K]> ? K : never;
}[keyof S];

/** What an object schema parses to; keys whose schema admits `undefined` are optional. */
export type ObjectOutput<S extends Shape> = {
  -readonly [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]>;
} & { -readonly [K in OptionalKeys<S>]?: Infer<S[K]> } extends infer O
  ? { [K in keyof O]: O[K] }
  : never;

/** What an object does with keys its shape does not name. */
type UnknownKeys = 'strip' | 'strict' | 'keep';

function objectSchema<S extends Shape, T>(shape: S, unknownKeys: UnknownKeys): Schema<T> {
  const keys = Object.keys(shape);
  const known: ReadonlySet<string> = new Set(keys);
  return new Schema<T>((value, path, issues) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return invalidType(issues, path, 'object', value);
    }
    const input = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const key of keys) {
      const schema = shape[key] as Schema<unknown>;
      const present = Object.hasOwn(input, key);
      if (!present && schema.optional) continue;
      path.push(key);
      const result = schema.check(input[key], path, issues);
      path.pop();
      if (result === INVALID) ok = false;
      else if (present || result !== undefined) out[key] = result;
    }
    if (unknownKeys !== 'strip') {
      const extra = Object.keys(input).filter((key) => !known.has(key));
      if (unknownKeys === 'keep') {
        for (const key of extra) out[key] = input[key];
      } else if (extra.length > 0) {
        const listed = extra.map((key) => JSON.stringify(key)).join(', ');
        fail(issues, path, `Unrecognized key${extra.length > 1 ? 's' : ''}: ${listed}`);
        ok = false;
      }
    }
    return ok ? (out as T) : INVALID;
  });
}

/** An object with these keys; other keys are dropped from the result. */
export function object<S extends Shape>(shape: S): Schema<ObjectOutput<S>> {
  return objectSchema(shape, 'strip');
}

/** An object with these keys and no others. */
export function strictObject<S extends Shape>(shape: S): Schema<ObjectOutput<S>> {
  return objectSchema(shape, 'strict');
}

/** An object with at least these keys; the others are kept as they are. */
export function looseObject<S extends Shape>(
  shape: S,
): Schema<ObjectOutput<S> & Record<string, unknown>> {
  return objectSchema(shape, 'keep');
}
