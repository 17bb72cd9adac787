/**
 * No leaked slot: once every job of a scenario has ended, every fair-share
 * counter must read running = 0 and queued = 0, and no queue entry may remain.
 *
 * The counters move in the same transactions as the records they count, so
 * they should be zero as soon as the last record is gone. If one is not, that
 * is drift, and it is reported as such (the first reading is kept); the run
 * then gives the sweeper its chance, since it repairs a counter only after the
 * counter has been still for a minute (`functions/sweeper/slot-repair.ts`), and
 * the check judges the reading after that wait.
 */

import { type Api, sleep } from './http';
import type { Check } from './jobs';
import { readSlots, type SlotSnapshot } from './table';

/** The sweeper's settle time (60 s) plus a few of the run's 3 s sweeps. */
export const REPAIR_WAIT_MS = 75_000;
const REREAD_MS = 5000;

export interface SlotReadings {
  /** Read as soon as no job was active. */
  readonly first: SlotSnapshot;
  /** The same, or a later reading when the first was not all zero. */
  readonly last: SlotSnapshot;
  readonly waitedMs: number;
}

export async function readSettledSlots(
  api: Api,
  repairWaitMs: number = REPAIR_WAIT_MS,
): Promise<SlotReadings> {
  const first = await readSlots(api);
  let last = first;
  const started = Date.now();
  while (!isClean(last) && Date.now() - started < repairWaitMs) {
    await sleep(REREAD_MS);
    last = await readSlots(api);
  }
  return { first, last, waitedMs: isClean(first) ? 0 : Date.now() - started };
}

export function isClean(snapshot: SlotSnapshot): boolean {
  return (
    snapshot.queueEntries.length === 0 &&
    snapshot.counters.every((counter) => counter.running === 0 && counter.queued === 0)
  );
}

export function slotChecks(readings: SlotReadings): Check[] {
  const { first, last } = readings;
  const leaked = last.counters.filter((c) => c.running !== 0 || c.queued !== 0);
  const drift = isClean(first)
    ? ''
    : `; DRIFT: the first reading was not zero (${describe(first)}), ` +
      `${isClean(last) ? 'repaired' : 'still not zero'} after ${Math.round(readings.waitedMs / 1000)} s`;
  return [
    {
      name: 'no leaked slot (counters)',
      ok: leaked.length === 0 && last.counters.length > 0,
      detail:
        last.counters.length === 0
          ? 'no SLOTS# counter in the table: fair share was not exercised'
          : `${last.counters.length} counter(s), ${leaked.length} not zero${
              leaked.length > 0 ? `: ${describe({ counters: leaked, queueEntries: [] })}` : ''
            }${drift}`,
    },
    {
      name: 'no queue entry left (table)',
      ok: last.queueEntries.length === 0,
      detail: `${last.queueEntries.length} QUEUE# item(s)${
        last.queueEntries.length > 0
          ? `: ${last.queueEntries
              .slice(0, 10)
              .map((entry) => `${entry.keyId} ${entry.jobName}`)
              .join(', ')}`
          : ''
      }`,
    },
  ];
}

/** One line per counter, for the report. */
export function formatSlots(snapshot: SlotSnapshot): string {
  const lines = ['', '  Slot counters (SLOTS# items) after the run:'];
  for (const c of snapshot.counters) {
    const extra = [
      c.round !== undefined ? `round ${c.round}` : '',
      c.version !== undefined ? `version ${c.version}` : '',
      c.changedAt ? `changed ${c.changedAt}` : '',
    ].filter(Boolean);
    lines.push(
      `    ${c.keyId}: running=${c.running} queued=${c.queued}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`,
    );
  }
  if (snapshot.counters.length === 0) lines.push('    (none)');
  lines.push(`  Queue entries (QUEUE# items) left: ${snapshot.queueEntries.length}`);
  return `${lines.join('\n')}\n`;
}

function describe(snapshot: SlotSnapshot): string {
  const parts = snapshot.counters
    .filter((c) => c.running !== 0 || c.queued !== 0)
    .map((c) => `${c.keyId} running=${c.running} queued=${c.queued}`);
  if (snapshot.queueEntries.length > 0) parts.push(`${snapshot.queueEntries.length} queue entries`);
  return parts.join('; ');
}
