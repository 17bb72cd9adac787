import { describe, expect, it } from 'vitest';
import { jobNameSchema } from '../../../../core/event-schemas';
import { ulid } from '../../../../functions/shared/ids';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

describe('ulid', () => {
  it("is 26 characters of Crockford's base32", () => {
    // Act
    const id = ulid();

    // Assess
    expect(id).toMatch(ULID);
  });

  it('can be used as a job name', () => {
    // Act & Assess
    expect(jobNameSchema.safeParse(ulid()).success).toBe(true);
  });

  it('encodes the milliseconds in its first 10 characters', () => {
    // Act & Assess
    expect(ulid(0).slice(0, 10)).toBe('0000000000');
    expect(ulid(31).slice(0, 10)).toBe('000000000Z');
    expect(ulid(32).slice(0, 10)).toBe('0000000010');
    expect(ulid(2 ** 48 - 1).slice(0, 10)).toBe('7ZZZZZZZZZ');
    // The example from the ULID specification's timestamp.
    expect(ulid(1469918176385).slice(0, 10)).toBe('01ARYZ6S41');
  });

  it('sorts in time order', () => {
    // Prepare: times across digit boundaries and decades, shuffled
    const times = [
      0,
      1,
      31,
      32,
      1023,
      1024,
      2 ** 40,
      1_700_000_000_000,
      1_764_324_000_000,
      2 ** 45,
    ];
    const shuffled = [...times].reverse();

    // Act
    const ids = shuffled.map((t) => ({ t, id: ulid(t) }));
    ids.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

    // Assess
    expect(ids.map(({ t }) => t)).toEqual(times);
  });

  it('is unique within one millisecond', () => {
    // Act
    const ids = new Set(Array.from({ length: 1000 }, () => ulid(1_764_324_000_000)));

    // Assess
    expect(ids.size).toBe(1000);
  });
});
