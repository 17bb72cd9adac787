/**
 * Locks for what the backend cannot isolate on its own: an emulated
 * transaction spans several backend calls, and a failed conditional write is
 * followed by a read of the item it failed on. AWS isolates per item, so
 * the locks are per item, with two coarser levels so that reads of many
 * items never see a transaction half applied (a state that never existed):
 *
 * | Who                               | Table  | Partition | Item      |
 * | --------------------------------- | ------ | --------- | --------- |
 * | GetItem                           |        |           | shared    |
 * | PutItem, UpdateItem, DeleteItem   |        |           | exclusive |
 * | BatchWriteItem (each item)        |        |           | exclusive |
 * | emulated transaction (each item)  | intent | exclusive | exclusive |
 * | Query on the table (ConsistentRead or not) |  | shared |           |
 * | Scan                              | shared |           |           |
 *
 * Queries of a global secondary index take nothing: AWS propagates a
 * transaction to its indexes gradually, so they may see part of one.
 * `intent` locks are compatible with each other and conflict with `shared`
 * ones, so transactions on different partitions run side by side while a
 * Scan waits for them (and they for it).
 *
 * Locks are taken in one sorted order, so two callers cannot deadlock; the
 * waiters of one lock are served in arrival order, so a writer is not starved
 * by a stream of readers.
 */

export type LockMode = 'shared' | 'exclusive' | 'intent';

export interface LockRequest {
  readonly id: string;
  readonly mode: LockMode;
}

interface Waiter {
  readonly mode: LockMode;
  readonly grant: () => void;
}

interface Lock {
  shared: number;
  intent: number;
  exclusive: boolean;
  readonly waiting: Waiter[];
}

export class ItemLocks {
  readonly #locks = new Map<string, Lock>();
  #running = 0;
  readonly #idleWaiters: (() => void)[] = [];

  /**
   * Runs `work` holding `requests` (the strongest mode wins for an id asked for
   * twice). An empty list runs at once, still counted by {@link whenIdle}.
   */
  async run<T>(requests: readonly LockRequest[], work: () => Promise<T>): Promise<T> {
    const wanted = new Map<string, LockMode>();
    for (const { id, mode } of requests) wanted.set(id, strongest(wanted.get(id), mode));
    const ordered = [...wanted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.#running += 1;
    const taken: [string, LockMode][] = [];
    try {
      for (const [id, mode] of ordered) {
        await this.#acquire(id, mode);
        taken.push([id, mode]);
      }
      return await work();
    } finally {
      for (const [id, mode] of taken.reverse()) this.#release(id, mode);
      this.#running -= 1;
      if (this.#running === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  /** Resolves when no work runs or waits under these locks. */
  whenIdle(): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #acquire(id: string, mode: LockMode): Promise<void> {
    let lock = this.#locks.get(id);
    if (!lock) {
      lock = { shared: 0, intent: 0, exclusive: false, waiting: [] };
      this.#locks.set(id, lock);
    }
    if (lock.waiting.length === 0 && compatible(lock, mode)) {
      take(lock, mode);
      return Promise.resolve();
    }
    const target = lock;
    return new Promise((grant) => target.waiting.push({ mode, grant }));
  }

  #release(id: string, mode: LockMode): void {
    const lock = this.#locks.get(id);
    if (!lock) return;
    if (mode === 'exclusive') lock.exclusive = false;
    else if (mode === 'shared') lock.shared -= 1;
    else lock.intent -= 1;
    for (;;) {
      const next = lock.waiting[0];
      if (!next || !compatible(lock, next.mode)) break;
      take(lock, next.mode);
      lock.waiting.shift();
      next.grant();
    }
    if (!lock.exclusive && lock.shared === 0 && lock.intent === 0 && lock.waiting.length === 0) {
      this.#locks.delete(id);
    }
  }
}

function compatible(lock: Lock, mode: LockMode): boolean {
  if (lock.exclusive) return false;
  switch (mode) {
    case 'exclusive':
      return lock.shared === 0 && lock.intent === 0;
    case 'shared':
      return lock.intent === 0;
    case 'intent':
      return lock.shared === 0;
  }
}

function take(lock: Lock, mode: LockMode): void {
  if (mode === 'exclusive') lock.exclusive = true;
  else if (mode === 'shared') lock.shared += 1;
  else lock.intent += 1;
}

function strongest(a: LockMode | undefined, b: LockMode): LockMode {
  if (a === undefined || a === b) return b;
  // shared + intent together behave as exclusive for everyone else.
  return 'exclusive';
}

/** The lock of a whole table (Scans shared, transactions intent). */
export function tableLock(table: string): string {
  return `T\u0000${table}`;
}

/** The lock of one partition (Queries shared, transactions exclusive). */
export function partitionLock(table: string, hashValue: unknown): string {
  return `P\u0000${table}\u0000${JSON.stringify(hashValue ?? null)}`;
}

/** The lock of one item: its table and its key attributes in key-schema order. */
export function itemLock(
  table: string,
  key: Readonly<Record<string, unknown>>,
  schema: { readonly hash: string; readonly range?: string },
): string {
  const hash = JSON.stringify(key[schema.hash] ?? null);
  const range = schema.range === undefined ? '' : JSON.stringify(key[schema.range] ?? null);
  return `I\u0000${table}\u0000${hash}\u0000${range}`;
}
