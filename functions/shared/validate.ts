/**
 * Validation with any Standard Schema (https://standardschema.dev): the
 * functions' own zod/mini schemas and a job type's input schema, which may
 * come from zod, valibot, arktype or another library. Failures are one error
 * type with the issues' paths and messages, whatever the library.
 *
 * The functions check values only through `validate` and `parse`, never with
 * a schema's own methods, so this module is in every function that validates,
 * and configures zod's messages for all of them (below).
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';
import { AppError } from '../../core/errors';
import type { StandardSchemaV1 } from '../../core/standard-schema';

// zod/mini carries no messages of its own ("Invalid input" for everything): English ones, as
// classic zod has, so a 400's details say what is wrong ("Too big: expected number to be
// <=900"). The setting is global, so a job type's zod schemas get them too. It is here, in a
// module whose exports are used, because the package is `sideEffects: false`: esbuild drops
// a module imported only for its side effects (or only re-exported), and this call with it.
config(en());

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
 * Validates a value with any Standard Schema, synchronously. A schema that
 * answers with a promise (async refinements) is refused: inputs are validated
 * before a job starts, in one step.
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

/** The value as the schema parses it; throws `SchemaError` when it does not match. */
export function parse<T>(schema: StandardSchemaV1<unknown, T>, value: unknown): T {
  const result = validate(schema, value);
  if (!result.success) throw result.error;
  return result.data;
}
