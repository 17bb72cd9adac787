import { describe, expect, it } from 'vitest';
import { jobNameSchema, workerPayloadSchema } from '../../../../core/event-schemas';
import { isJobName, JOB_NAME_PATTERN, putEventsEntrySize } from '../../../../core/events';

describe('putEventsEntrySize', () => {
  it('is 14 bytes for the time when the entry is empty', () => {
    // Act & Assess
    expect(putEventsEntrySize({})).toBe(14);
  });

  it('adds the UTF-8 bytes of source, detail type, detail and every resource', () => {
    // Prepare
    const entry = {
      Source: 'eventjobs', // 9
      DetailType: 'Job Completed', // 13
      Detail: '{"v":"é"}', // 10 bytes: é is two
      Resources: ['arn:a', 'arn:bc'], // 5 + 6
    };

    // Act
    const size = putEventsEntrySize(entry);

    // Assess
    expect(size).toBe(14 + 9 + 13 + 10 + 5 + 6);
  });

  it('counts multi-byte characters by their encoded length', () => {
    // Act
    const size = putEventsEntrySize({ Detail: '🚀'.repeat(10) });

    // Assess
    expect(size).toBe(14 + 40);
  });
});

describe('jobNameSchema and isJobName', () => {
  it.each(['a', 'A-Z_0.9', '...x', 'x'.repeat(128), '-', '_'])('accepts %j', (name) => {
    // Act & Assess
    expect(jobNameSchema.safeParse(name).success).toBe(true);
    expect(isJobName(name)).toBe(true);
  });

  it.each([
    '',
    '.',
    '..',
    '...',
    'x'.repeat(129),
    'a b',
    'a/b',
    'a#b',
    'ä',
    'a\n',
    '\u0000',
    'a\u200bb',
  ])('refuses %j', (name) => {
    // Act & Assess
    expect(jobNameSchema.safeParse(name).success).toBe(false);
    expect(JOB_NAME_PATTERN.test(name)).toBe(false);
    expect(isJobName(name)).toBe(false);
  });

  it.each([undefined, null, 1, ['a']])('isJobName refuses the non-string %j', (value) => {
    // Act & Assess
    expect(isJobName(value)).toBe(false);
  });
});

describe('workerPayloadSchema', () => {
  const payload = {
    owner: 'arn:aws:iam::123456789012:user/alice',
    jobName: 'job',
    runId: '01JDXR3Y5Q6Z8A9B0C1D2E3F4G',
    type: 'echo',
    input: { value: 1 },
    submittedAt: '2025-11-28T12:00:00.000Z',
  };

  it('accepts what start-job sends', () => {
    // Act & Assess
    expect(workerPayloadSchema.parse(payload)).toEqual(payload);
  });

  it.each([
    ['a bad job name', { jobName: '..' }],
    ['a time without a zone', { submittedAt: '2025-11-28T12:00:00' }],
    ['an empty owner', { owner: '' }],
  ])('refuses %s', (_, change) => {
    // Act & Assess
    expect(workerPayloadSchema.safeParse({ ...payload, ...change }).success).toBe(false);
  });
});
