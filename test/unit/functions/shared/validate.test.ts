import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import type { StandardSchemaV1 } from '../../../../core/standard-schema';
import {
  describeIssues,
  parse,
  SchemaError,
  validate,
} from '../../../../functions/shared/validate';

// No classic `zod` in this file: importing it configures English messages itself, and the
// test of the messages below would then pass without `validate.ts` configuring them.

/** A Standard Schema made by hand, as a library other than zod would make one. */
function evenNumber(): StandardSchemaV1<unknown, number> {
  return {
    '~standard': {
      version: 1,
      vendor: 'hand-made',
      validate: (value) =>
        typeof value === 'number' && value % 2 === 0
          ? { value }
          : { issues: [{ message: 'Not even', path: [{ key: 'n' }, 0] }] },
    },
  };
}

describe('validate', () => {
  it('gives the parsed value of a zod/mini schema', () => {
    // Prepare
    const schema = z.object({ seconds: z.number() });

    // Act
    const result = validate(schema, { seconds: 5, extra: true });

    // Assess
    expect(result).toEqual({ success: true, data: { seconds: 5 } });
  });

  it("words zod/mini's issues in English, as classic zod does", () => {
    // Prepare
    const schema = z.strictObject({
      seconds: z.number().check(z.lte(900)),
      name: z.string(),
      count: z.int(),
    });
    const value = { seconds: 901, name: 7, count: 1.5, extra: 1 };

    // Act
    const result = validate(schema, value);

    // Assess
    expect(result.success ? [] : result.error.issues).toEqual([
      { path: ['seconds'], message: 'Too big: expected number to be <=900' },
      { path: ['name'], message: 'Invalid input: expected string, received number' },
      { path: ['count'], message: 'Invalid input: expected int, received number' },
      { path: [], message: 'Unrecognized key: "extra"' },
    ]);
  });

  it('takes any synchronous Standard Schema, not only zod', () => {
    // Act
    const even = validate(evenNumber(), 4);
    const odd = validate(evenNumber(), 3);

    // Assess
    expect(even).toEqual({ success: true, data: 4 });
    // Path segments given as `{ key }` are flattened to the key.
    expect(odd.success ? [] : odd.error.issues).toEqual([{ path: ['n', 0], message: 'Not even' }]);
  });

  it('refuses an asynchronous schema', () => {
    // Prepare
    const asyncSchema = z.string().check(z.refine(async () => true));

    // Act & Assess
    expect(() => validate(asyncSchema, 'x')).toThrow(/Asynchronous schemas are not supported/);
  });
});

describe('parse', () => {
  it('gives the parsed value', () => {
    // Act & Assess
    expect(parse(z.object({ a: z.string() }), { a: 'x', b: 1 })).toEqual({ a: 'x' });
  });

  it('throws a SchemaError naming every issue', () => {
    // Prepare
    const schema = z.object({ a: z.string(), b: z.int() });

    // Act
    const error = (() => {
      try {
        parse(schema, { a: 1, b: 'x' });
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(SchemaError);
    expect(error).toMatchObject({
      name: 'SchemaError',
      message:
        'a: Invalid input: expected string, received number; b: Invalid input: expected number, received string',
      issues: [
        { path: ['a'], message: 'Invalid input: expected string, received number' },
        { path: ['b'], message: 'Invalid input: expected number, received string' },
      ],
    });
  });
});

describe('describeIssues', () => {
  it('joins paths and messages, and leaves a root issue without a path', () => {
    // Act
    const text = describeIssues([
      { path: ['input', 'items', 2], message: 'Too big' },
      { path: [], message: 'Bad' },
    ]);

    // Assess
    expect(text).toBe('input.items.2: Too big; Bad');
  });
});
