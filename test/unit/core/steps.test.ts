import { describe, expect, it } from 'vitest';
import { AppError } from '../../../core/errors';
import {
  DuplicateStepNameError,
  InvalidStepError,
  isNonRetryable,
  NonRetryableError,
  notJsonReason,
  StepTooLongError,
  sleepMs,
} from '../../../core/steps';

describe('sleepMs: a number of seconds', () => {
  it.each([
    [0, 0],
    [1, 1000],
    [1.5, 1500],
    [0.0004, 0],
    [0.0006, 1],
    [86_400, 86_400_000],
  ])('%s s is %s ms', (seconds, ms) => {
    // Act
    const result = sleepMs(seconds);

    // Assess
    expect(result).toBe(ms);
  });

  it.each([-1, -0.001, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    'refuses %s with a message naming it',
    (seconds) => {
      // Act
      const result = sleepMs(seconds);

      // Assess
      expect(typeof result).toBe('string');
      expect(result).toContain('finite number of seconds');
      expect(result).toContain(String(seconds));
    },
  );
});

describe('sleepMs: units', () => {
  it('adds days, hours, minutes and seconds', () => {
    // Act
    const result = sleepMs({ days: 1, hours: 2, minutes: 3, seconds: 4.5 });

    // Assess
    expect(result).toBe(86_400_000 + 2 * 3_600_000 + 3 * 60_000 + 4500);
  });

  it.each([
    [{ hours: 1.5 }, 5_400_000],
    [{ minutes: 0 }, 0],
    [{}, 0],
    [{ seconds: 0.25 }, 250],
  ])('%j is %s ms', (duration, ms) => {
    // Act
    const result = sleepMs(duration);

    // Assess
    expect(result).toBe(ms);
  });

  it('refuses a unit it does not know, naming it', () => {
    // Act
    const result = sleepMs({ weeks: 1 } as never);

    // Assess
    expect(result).toBe('a sleep\'s duration has no unit "weeks"');
  });

  it.each([
    [{ seconds: -1 }, 'seconds'],
    [{ minutes: Number.NaN }, 'minutes'],
    [{ hours: Number.POSITIVE_INFINITY }, 'hours'],
    [{ days: '1' }, 'days'],
    [{ seconds: 5, minutes: null }, 'minutes'],
  ])('refuses %j, naming %s', (duration, unit) => {
    // Act
    const result = sleepMs(duration as never);

    // Assess
    expect(result).toBe(`a sleep's ${unit} must be a finite number, at least 0`);
  });

  it.each([null, '5', true, undefined])('refuses %j, which is neither', (duration) => {
    // Act
    const result = sleepMs(duration as never);

    // Assess
    expect(result).toBe('a sleep takes a number of seconds or { days, hours, minutes, seconds }');
  });
});

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('notJsonReason: values JSON carries faithfully', () => {
  const shared = { id: 1 };
  it.each([
    ['null', null],
    ['a string', 'text'],
    ['a number', 42.5],
    ['zero', 0],
    ['a boolean', false],
    ['an empty object', {}],
    ['an empty array', []],
    ['nested plain data', { a: [1, 'two', { b: [true, null] }], c: { d: { e: 'f' } } }],
    ['an object without a prototype', Object.assign(Object.create(null), { a: 1 })],
    ['an object with undefined keys', { a: 1, skipped: undefined, nested: { gone: undefined } }],
    ['the same object twice (not a cycle)', { left: shared, right: shared, list: [shared] }],
  ])('accepts %s', (_what, value) => {
    // Act
    const reason = notJsonReason(value);

    // Assess
    expect(reason).toBeUndefined();
  });
});

describe('notJsonReason: values JSON cannot carry', () => {
  it.each([
    ['NaN', Number.NaN, 'result is NaN, which JSON has no form for'],
    ['Infinity', Number.POSITIVE_INFINITY, 'result is Infinity, which JSON has no form for'],
    ['-Infinity', Number.NEGATIVE_INFINITY, 'result is -Infinity, which JSON has no form for'],
    ['a bigint', 10n, 'result is a bigint, which JSON has no form for'],
    ['a function', () => 1, 'result is a function, which JSON has no form for'],
    ['a symbol', Symbol('s'), 'result is a symbol, which JSON has no form for'],
    ['undefined at the top', undefined, 'result is a undefined, which JSON has no form for'],
  ])('refuses %s', (_what, value, reason) => {
    // Act
    const result = notJsonReason(value);

    // Assess
    expect(result).toBe(reason);
  });

  it.each([
    ['a Date', new Date(0), 'Date'],
    ['a Map', new Map([['a', 1]]), 'Map'],
    ['a Set', new Set([1]), 'Set'],
    ['a class instance', new Point(1, 2), 'Point'],
  ])('refuses %s, naming its class and what to return instead', (_what, value, name) => {
    // Act
    const result = notJsonReason(value);

    // Assess
    expect(result).toBe(
      `result is a ${name}, not a plain object (return its JSON form, e.g. a Date's ISO string)`,
    );
  });

  it('names the path to a value deep inside', () => {
    // Prepare
    const value = { rows: [{ ok: 1 }, { total: Number.NaN }] };

    // Act
    const result = notJsonReason(value);

    // Assess
    expect(result).toBe('result.rows[1].total is NaN, which JSON has no form for');
  });

  it('names a Date inside an object', () => {
    // Act
    const result = notJsonReason({ when: new Date(0) });

    // Assess
    expect(result).toMatch(/^result\.when is a Date, not a plain object/);
  });

  it('refuses undefined in an array, which JSON turns into null', () => {
    // Act
    const result = notJsonReason([1, undefined]);

    // Assess
    expect(result).toBe('result[1] is a undefined, which JSON has no form for');
  });

  it('refuses an object that refers to itself', () => {
    // Prepare
    const node: Record<string, unknown> = { name: 'a' };
    node.self = node;

    // Act
    const result = notJsonReason(node);

    // Assess
    expect(result).toBe('result.self refers to itself');
  });

  it('refuses an array cycle', () => {
    // Prepare
    const list: unknown[] = [1];
    list.push({ back: list });

    // Act
    const result = notJsonReason(list);

    // Assess
    expect(result).toBe('result[1].back refers to itself');
  });

  it('uses the path it is given', () => {
    // Act
    const result = notJsonReason({ a: 1n }, 'output');

    // Assess
    expect(result).toBe('output.a is a bigint, which JSON has no form for');
  });
});

describe('isNonRetryable', () => {
  it('is true for NonRetryableError and its subclasses', () => {
    expect(isNonRetryable(new NonRetryableError('no'))).toBe(true);
    expect(isNonRetryable(new DuplicateStepNameError('dup'))).toBe(true);
    expect(isNonRetryable(new InvalidStepError('bad'))).toBe(true);
    expect(isNonRetryable(new StepTooLongError('long'))).toBe(true);
  });

  it('is true for a subclass the job defines', () => {
    // Prepare
    class QuotaGone extends NonRetryableError {}

    // Act
    const result = isNonRetryable(new QuotaGone('the quota is gone for good'));

    // Assess
    expect(result).toBe(true);
  });

  it('is true for a NonRetryableError of another copy of the module, and its subclasses', () => {
    // Prepare: a class of the same name that is not this module's.
    class NonRetryableError extends AppError {}
    class Fatal extends NonRetryableError {}

    // Act
    const own = isNonRetryable(new NonRetryableError('copy'));
    const sub = isNonRetryable(new Fatal('copy subclass'));

    // Assess
    expect(own).toBe(true);
    expect(sub).toBe(true);
  });

  it('is false for other errors, even one whose name says NonRetryableError', () => {
    // Prepare
    const renamed = new Error('named only');
    renamed.name = 'NonRetryableError';
    class OtherError extends AppError {}

    // Act / Assess
    expect(isNonRetryable(new Error('plain'))).toBe(false);
    expect(isNonRetryable(new OtherError('other'))).toBe(false);
    expect(isNonRetryable(renamed)).toBe(false);
  });

  it.each([undefined, null, 'NonRetryableError', { name: 'NonRetryableError' }])(
    'is false for %j, which is not an error',
    (value) => {
      expect(isNonRetryable(value)).toBe(false);
    },
  );
});
