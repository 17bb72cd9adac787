import { describe, expect, it } from 'vitest';
import { formatSlots, type SlotReadings, slotChecks } from '../../../test/chaos/slots';
import type { SlotCounterItem, SlotSnapshot } from '../../../test/chaos/table';

const ALICE = 'owner:arn:aws:iam::000000000000:user/alice';

function snapshot(counters: SlotCounterItem[], queued = 0): SlotSnapshot {
  return {
    counters,
    queueEntries: Array.from({ length: queued }, (_, i) => ({
      keyId: ALICE,
      jobName: `job-${i}`,
      runId: `run-${i}`,
    })),
  };
}

function readings(first: SlotSnapshot, last: SlotSnapshot = first, waitedMs = 0): SlotReadings {
  return { first, last, waitedMs };
}

const zero = (keyId: string): SlotCounterItem => ({ keyId, running: 0, queued: 0 });

describe('slotChecks', () => {
  it('passes when every counter is zero and no queue entry is left', () => {
    // Prepare
    const clean = snapshot([zero('all'), zero(ALICE)]);

    // Act
    const checks = slotChecks(readings(clean));

    // Assess
    expect(checks.map((check) => check.ok)).toEqual([true, true]);
    expect(checks[0]?.detail).toBe('2 counter(s), 0 not zero');
  });

  it('fails on a counter that still holds a slot or a queued job, naming the key', () => {
    // Prepare
    const leaked = snapshot([zero('all'), { keyId: ALICE, running: 0, queued: 2 }]);

    // Act
    const [counters] = slotChecks(readings(leaked, leaked, 75_000));

    // Assess
    expect(counters?.ok).toBe(false);
    expect(counters?.detail).toContain(`${ALICE} running=0 queued=2`);
    expect(counters?.detail).toContain('still not zero after 75 s');
  });

  it('reports drift that the sweeper repaired, and judges the repaired reading', () => {
    // Prepare
    const drifted = snapshot([{ keyId: 'all', running: -1, queued: 0 }]);
    const repaired = snapshot([zero('all')]);

    // Act
    const [counters] = slotChecks(readings(drifted, repaired, 65_000));

    // Assess
    expect(counters?.ok).toBe(true);
    expect(counters?.detail).toContain('DRIFT');
    expect(counters?.detail).toContain('all running=-1 queued=0');
    expect(counters?.detail).toContain('repaired after 65 s');
  });

  it('fails when the table has no counter at all (fair share never ran)', () => {
    // Act
    const [counters] = slotChecks(readings(snapshot([])));

    // Assess
    expect(counters?.ok).toBe(false);
    expect(counters?.detail).toContain('no SLOTS# counter');
  });

  it('fails on a queue entry left behind', () => {
    // Act
    const [, queue] = slotChecks(readings(snapshot([zero('all')], 2)));

    // Assess
    expect(queue?.ok).toBe(false);
    expect(queue?.detail).toContain('2 QUEUE# item(s)');
  });
});

describe('formatSlots', () => {
  it('prints one line per counter', () => {
    // Prepare
    const counters = snapshot([
      { keyId: 'all', running: 0, queued: 0, round: 3, version: 12 },
      zero('type:sleep'),
    ]);

    // Act
    const text = formatSlots(counters);

    // Assess
    expect(text).toContain('    all: running=0 queued=0 (round 3, version 12)\n');
    expect(text).toContain('    type:sleep: running=0 queued=0\n');
    expect(text).toContain('Queue entries (QUEUE# items) left: 0');
  });
});
