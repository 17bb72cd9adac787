import { describe, expect, it } from 'vitest';
import {
  type AliceTally,
  type BobJob,
  type BobTally,
  classifyStart,
  loadChecks,
} from '../../../test/chaos/noisy';

const POSTED_AT = Date.parse('2026-01-01T00:00:00.000Z');

function bobJob(name: string, last: unknown): BobJob {
  return { name, type: 'echo', postedAt: POSTED_AT, startStatus: 202, last };
}

function alice(answers: Record<string, number>): AliceTally {
  return {
    answers: new Map(Object.entries(answers)),
    jobs: [],
    withoutRetryAfter: 0,
    largestPosition: 0,
  };
}

function bob(jobs: BobJob[], failures: string[] = []): BobTally {
  return {
    answers: new Map([['POST 202 RUNNING', jobs.length]]),
    jobs,
    failures,
    failed: failures.length,
  };
}

const FLOODED = { '202 RUNNING': 10, '202 QUEUED': 25, '429 QueueFull': 40 };

describe('classifyStart', () => {
  it('tells queued starts, queue-full refusals, the stage throttle and errors apart', () => {
    // Act
    const kinds = [
      classifyStart({ status: 202, body: { status: 'QUEUED' } }),
      classifyStart({ status: 429, body: { error: { code: 'QueueFull', message: 'full' } } }),
      classifyStart({ status: 429, body: { message: 'Too Many Requests' } }),
      classifyStart({ status: 429, body: { error: { code: 'Throttled', message: 'busy' } } }),
      classifyStart({ status: 500, body: { message: 'Internal Server Error' } }),
      classifyStart({ status: 0, body: undefined }),
    ];

    // Assess
    expect(kinds).toEqual([
      '202 QUEUED',
      '429 QueueFull',
      '429 gateway throttle',
      '429 Throttled',
      '500 Internal Server Error',
      '0',
    ]);
  });
});

describe('loadChecks', () => {
  it('passes when alice is queued and refused and bob starts within the bound', () => {
    // Prepare
    const started = bobJob('b-1', { status: 'SUCCEEDED', startedAt: '2026-01-01T00:00:00.400Z' });

    // Act
    const checks = loadChecks(alice(FLOODED), bob([started]), 10_000);

    // Assess
    expect(checks.filter((check) => !check.ok)).toEqual([]);
  });

  it("fails when bob's job starts after the bound", () => {
    // Prepare
    const late = bobJob('b-1', { status: 'SUCCEEDED', startedAt: '2026-01-01T00:00:12.000Z' });

    // Act
    const checks = loadChecks(alice(FLOODED), bob([late]), 10_000);

    // Assess
    const startCheck = checks.find((check) => check.name.startsWith("each of bob's jobs"));
    expect(startCheck?.ok).toBe(false);
    expect(startCheck?.detail).toContain('1 late (12.0 s)');
  });

  it('excuses only the jobs whose worker an injected fault killed or hung', () => {
    // Prepare
    const crashed = bobJob('b-1', { status: 'FAILED', error: { name: 'Runtime.ExitError' } });
    const hung = bobJob('b-2', { status: 'TIMED_OUT', error: { name: 'WorkerTimeout' } });
    const stuck = bobJob('b-3', { status: 'QUEUED' });

    // Act
    const checks = loadChecks(alice(FLOODED), bob([crashed, hung, stuck]), 10_000);

    // Assess
    const startCheck = checks.find((check) => check.name.startsWith("each of bob's jobs"));
    expect(startCheck?.ok).toBe(false);
    expect(startCheck?.detail).toContain('2 never started because a fault');
    expect(startCheck?.detail).toContain('1 never started otherwise: b-3');
  });

  it('fails on a 500 to alice, and on a load that never filled her queue', () => {
    // Prepare
    const started = bobJob('b-1', { status: 'SUCCEEDED', startedAt: '2026-01-01T00:00:00.400Z' });

    // Act
    const checks = loadChecks(
      alice({ '202 RUNNING': 10, '202 QUEUED': 5, '500 Internal Server Error': 1 }),
      bob([started]),
      10_000,
    );

    // Assess
    expect(checks.filter((check) => !check.ok).map((check) => check.name)).toEqual([
      'alice filled her share and her queue',
      'alice got only 202 or 429 with Retry-After',
    ]);
  });

  it("fails when any of bob's requests failed", () => {
    // Prepare
    const started = bobJob('b-1', { status: 'SUCCEEDED', startedAt: '2026-01-01T00:00:00.400Z' });

    // Act
    const checks = loadChecks(
      alice(FLOODED),
      bob([started], ['GET 503 ServiceUnavailable']),
      10_000,
    );

    // Assess
    const bobCheck = checks.find((check) => check.name.startsWith('every one of bob'));
    expect(bobCheck?.ok).toBe(false);
    expect(bobCheck?.detail).toContain('GET 503 ServiceUnavailable');
  });
});
