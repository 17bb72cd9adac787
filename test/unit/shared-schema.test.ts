import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as s from '../../functions/shared/schema';

/** The issues of a failed parse as `path: message` lines, or `ok`. */
function outcome(schema: s.Schema<unknown>, value: unknown): string[] | 'ok' {
  const parsed = schema.safeParse(value);
  return parsed.success
    ? 'ok'
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

function zodOutcome(schema: z.ZodType, value: unknown): string[] | 'ok' {
  const parsed = schema.safeParse(value);
  return parsed.success
    ? 'ok'
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('schemas: the same verdicts and messages as the zod schemas they replaced', () => {
  const cases: Array<[string, s.Schema<unknown>, z.ZodType, unknown[]]> = [
    ['string', s.string(), z.string(), ['a', '', 1, null, undefined, ['a'], {}]],
    [
      'string with a length range',
      s.string({ min: 1, max: 3 }),
      z.string().min(1).max(3),
      ['', 'a', 'abc', 'abcd'],
    ],
    [
      'string with a pattern',
      s.string({ pattern: /^[a-z]+$/, patternMessage: 'lower-case letters only' }),
      z.string().regex(/^[a-z]+$/, 'lower-case letters only'),
      ['abc', 'aBc', ''],
    ],
    [
      'number with a range',
      s.number({ min: 0, max: 900 }),
      z.number().min(0).max(900),
      [0, 900, 12.5, -1, 901, '5', Number.NaN, Number.POSITIVE_INFINITY, null],
    ],
    [
      'integer with a range',
      s.integer({ min: 1, max: 1024 }),
      z.number().int().min(1).max(1024),
      [1, 1024, 0, 1025, 1.5, '1', undefined],
    ],
    ['literal', s.literal('subscribe'), z.literal('subscribe'), ['subscribe', 'Subscribe', 1]],
    ['one of', s.oneOf(['a', 'b']), z.enum(['a', 'b']), ['a', 'b', 'c', null]],
    [
      'array',
      s.array(s.string()),
      z.array(z.string()),
      [[], ['a', 'b'], ['a', 1, 'c', 2], 'a', {}],
    ],
    [
      'ISO date-time with offset',
      s.isoDateTime(),
      z.iso.datetime({ offset: true }),
      [
        '2026-01-05T10:00:00Z',
        '2026-01-05T10:00:00.123Z',
        '2026-01-05T10:00:00+02:00',
        '2024-02-29T00:00:00Z',
        '2026-02-29T00:00:00Z',
        '2026-01-05T10:00Z',
        '2026-01-05 10:00:00Z',
        '2026-01-05T10:00:00',
        '2026-13-05T10:00:00Z',
        1,
      ],
    ],
    [
      'object (unknown keys dropped)',
      s.object({ a: s.string(), b: s.optional(s.integer({ min: 1 })) }),
      z.object({ a: z.string(), b: z.number().int().min(1).optional() }),
      [
        { a: 'x' },
        { a: 'x', b: 2 },
        { a: 'x', b: 0 },
        { b: 1 },
        {},
        [],
        null,
        'x',
        { a: 'x', c: 1 },
      ],
    ],
    [
      'strict object',
      s.strictObject({ a: s.string(), b: s.optional(s.unknown()) }),
      z.strictObject({ a: z.string(), b: z.unknown().optional() }),
      [{ a: 'x' }, { a: 'x', b: null }, { a: 'x', c: 1 }, { a: 1, c: 1, d: 2 }],
    ],
    [
      'loose object',
      s.looseObject({ a: s.string({ min: 1 }) }),
      z.looseObject({ a: z.string().min(1) }),
      [{ a: 'x', extra: true }, { a: '' }, {}],
    ],
    [
      'nested',
      s.object({ list: s.array(s.object({ n: s.integer() })) }),
      z.object({ list: z.array(z.object({ n: z.number().int() })) }),
      [{ list: [{ n: 1 }, { n: 'x' }, { n: 2.5 }] }, { list: [] }],
    ],
  ];

  for (const [name, schema, zodSchema, values] of cases) {
    it.each(
      values.map((value) => [
        typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value)),
        value,
      ]),
    )(`${name}: %s`, (_, value) => {
      // Act & Assess
      expect(outcome(schema, value)).toEqual(zodOutcome(zodSchema, value));
    });
  }
});

describe('object schemas', () => {
  it('keep what they parse and drop or keep the other keys as their kind says', () => {
    // Prepare
    const value = { a: 'x', extra: 1 };

    // Act & Assess
    expect(s.object({ a: s.string() }).parse(value)).toEqual({ a: 'x' });
    expect(s.looseObject({ a: s.string() }).parse(value)).toEqual({ a: 'x', extra: 1 });
    expect(() => s.strictObject({ a: s.string() }).parse(value)).toThrow(
      'Unrecognized key: "extra"',
    );
  });

  it('leave an absent optional key out, and keep one that is present', () => {
    // Prepare
    const schema = s.object({ a: s.optional(s.string()), b: s.unknown() });

    // Act
    const absent = schema.parse({});
    const present = schema.parse({ a: 'x', b: null });

    // Assess
    expect(absent).toEqual({});
    expect(Object.keys(absent)).toEqual([]);
    expect(present).toEqual({ a: 'x', b: null });
  });
});

describe('json', () => {
  it.each(['text', 1.5, true, null, [1, 'a', [null]], { a: { b: [1, { c: 'd' }] } }])(
    'accepts %j',
    (value) => {
      // Act & Assess
      expect(s.json().parse(value)).toBe(value);
    },
  );

  it.each([
    ['undefined', undefined, ''],
    ['a function', () => 1, ''],
    ['NaN deep inside', { a: [1, Number.NaN] }, 'a.1'],
    ['a bigint', { n: 1n }, 'n'],
  ])('refuses %s, naming where', (_, value, path) => {
    // Act
    const parsed = s.json().safeParse(value);

    // Assess
    expect(parsed.success).toBe(false);
    expect(parsed.success ? undefined : parsed.error.issues[0]?.path.join('.')).toBe(path);
  });
});

describe('parse, SchemaError and Standard Schema', () => {
  it('throws a SchemaError naming every issue', () => {
    // Prepare
    const schema = s.object({ a: s.string(), b: s.integer() });

    // Act
    const error = (() => {
      try {
        schema.parse({ a: 1, b: 'x' });
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(s.SchemaError);
    expect(error).toMatchObject({
      name: 'SchemaError',
      message:
        'a: Invalid input: expected string, received number; b: Invalid input: expected number, received string',
    });
  });

  it('answers Standard Schema validate calls', () => {
    // Prepare
    const schema = s.object({ a: s.string() });

    // Act
    const good = schema['~standard'].validate({ a: 'x', b: 1 });
    const bad = schema['~standard'].validate({ a: 1 });

    // Assess
    expect(schema['~standard']).toMatchObject({ version: 1, vendor: 'eventjobs' });
    expect(good).toEqual({ value: { a: 'x' } });
    expect(bad).toEqual({
      issues: [{ path: ['a'], message: 'Invalid input: expected string, received number' }],
    });
  });

  it('validate() takes any synchronous Standard Schema, zod included', () => {
    // Prepare
    const zodSchema = z.strictObject({ count: z.number().int() });

    // Act
    const good = s.validate(zodSchema, { count: 2 });
    const bad = s.validate(zodSchema, { count: 1.5 });

    // Assess
    expect(good).toEqual({ success: true, data: { count: 2 } });
    expect(bad.success ? [] : bad.error.issues).toEqual([
      { path: ['count'], message: 'Invalid input: expected int, received number' },
    ]);
  });

  it('validate() refuses an asynchronous schema', () => {
    // Prepare
    const asyncSchema = z.string().refine(async () => true);

    // Act & Assess
    expect(() => s.validate(asyncSchema, 'x')).toThrow(/Asynchronous schemas are not supported/);
  });

  it('describeIssues joins paths and messages', () => {
    // Act & Assess
    expect(
      s.describeIssues([
        { path: ['input', 'seconds'], message: 'Too big' },
        { path: [], message: 'Bad' },
      ]),
    ).toBe('input.seconds: Too big; Bad');
  });
});
