/** Usage snapshots of the local cloud (`RunningLocalCloud.usage()`), and the difference of two. */

/** Leaves that are settings, not counts: kept, not subtracted. */
export const SETTINGS = ['memoryMb', 'at'];

/** A tree of counters: numbers at the leaves. */
export type Counters = { readonly [key: string]: number | Counters };

/** `after - before`, leaf by leaf; a leaf missing before counts from zero. Non-counting leaves (e.g. memory sizes) are kept as they are after. */
export function diffCounters(
  before: Counters,
  after: Counters,
  keep: readonly string[] = SETTINGS,
): Counters {
  const out: Record<string, number | Counters> = {};
  for (const [key, value] of Object.entries(after)) {
    const prior = before[key];
    if (typeof value !== 'number' && typeof value !== 'object') continue;
    if (typeof value === 'number') {
      out[key] = keep.includes(key) ? value : value - (typeof prior === 'number' ? prior : 0);
    } else {
      out[key] = diffCounters(typeof prior === 'object' ? prior : {}, value, keep);
    }
  }
  return out;
}
