/**
 * The sweeper's second duty under fair share: every counter back to the truth.
 * The counters move only in transactions with the records they count, so they
 * should never drift; this is the backstop that makes "should" certain. From
 * the sweep's read of every active record it counts the running and queued
 * runs per key, sets a counter that disagrees (only once the counter has been
 * still long enough for the index the sweep read to have caught up), and then
 * starts whatever queued runs now fit: that also heals a release whose own
 * look at the queue was lost in a crash.
 */
import { JobStatus } from '../../core/model';
import type { SlotCounter, SlotStore } from '../shared/slots';
import type { ActiveSummary } from '../shared/store-items';

/** How long a counter must have been unchanged before the index's counts are trusted over it. */
export const COUNTER_SETTLE_MS = 60_000;

/** How long one sweep spends starting queued runs. */
const DISPATCH_WINDOW_MS = 30_000;

export interface SlotRepairResult {
  /** Counters set to the true counts. */
  readonly repaired: number;
  /** Owner and type pairs whose queues were looked at for a run that fits. */
  readonly dispatched: number;
}

/** Counts per key of the runs a sweep saw. */
export class SlotTally {
  readonly #slots: SlotStore;
  readonly #counts = new Map<string, { running: number; queued: number }>();
  /** One queued run's owner and type per pair, to look for runs that fit. */
  readonly #waiting = new Map<string, { owner: string; type: string }>();

  constructor(slots: SlotStore) {
    this.#slots = slots;
  }

  add(job: ActiveSummary): void {
    const queued = job.status === JobStatus.Queued;
    for (const key of this.#slots.keysOf(job.owner, job.type)) {
      const count = this.#counts.get(key.id) ?? { running: 0, queued: 0 };
      if (queued) count.queued += 1;
      else count.running += 1;
      this.#counts.set(key.id, count);
    }
    if (queued)
      this.#waiting.set(`${job.owner}\u0000${job.type}`, { owner: job.owner, type: job.type });
  }

  /** Repairs the counters of the keys seen, then looks for queued runs that fit. */
  async settle(
    scanStartedAt: Date,
    dispatch: ((trigger: { owner: string; type: string }) => Promise<void>) | undefined,
  ): Promise<SlotRepairResult> {
    const counters = await this.#slots.readCounters([...this.#counts.keys()]);
    const settledBefore = new Date(scanStartedAt.getTime() - COUNTER_SETTLE_MS).toISOString();
    let repaired = 0;
    for (const [keyId, truth] of this.#counts) {
      const seen: SlotCounter = counters.get(keyId) ?? {
        running: 0,
        queued: 0,
        round: 0,
        version: 0,
      };
      if (await this.#slots.repairCounter(keyId, seen, truth, settledBefore)) repaired += 1;
    }
    let dispatched = 0;
    if (dispatch) {
      // Within half of the sweeper's minute; what is left waits for a release or the next sweep.
      const until = Date.now() + DISPATCH_WINDOW_MS;
      for (const trigger of this.#waiting.values()) {
        if (Date.now() > until) break;
        await dispatch(trigger);
        dispatched += 1;
      }
    }
    return { repaired, dispatched };
  }
}
