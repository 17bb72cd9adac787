/**
 * Fair share on the jobs table: a counter per concurrency key, and queues.
 *
 * Every change to what a run holds happens in one transaction with the change
 * to its active record: the slots are taken with the put of a RUNNING record,
 * released with the delete that ends it, and moved with the update that
 * promotes a QUEUED record. So a crash anywhere leaves the counters true, and a
 * duplicate event, finding the record gone, changes nothing.
 *
 * Each queued run has an entry in its owner's FIFO queue and one in the queue
 * of each shared (fair) key, ordered by round (see `core/limits.ts`). Queues and
 * counters are read with strongly consistent reads of their own partitions, so
 * an enqueue that runs `dispatch` after its write and a release that runs it
 * after its own cannot both miss each other: no queued run waits for an event
 * that has already passed.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  ALL_KEY,
  type ConcurrencyLimits,
  ownerKeyId,
  type SlotKey,
  slotKeysOf,
} from '../../core/limits';
import {
  ACTIVE_SORT_KEY,
  JobsTable,
  jobPartitionKey,
  ownerStatusPartitionKey,
  queuePartitionKey,
  roundKey,
  slotCounterKey,
} from '../../core/table';
import { type Item, TableClient, type TableWrite } from './dynamodb';

/** How long an owner's last round in a fair queue is remembered after its last enqueue. */
const ROUND_TTL_SECONDS = 24 * 60 * 60;
/** Queue entries read per page while looking for a run that can start. */
const SCAN_PAGE = 25;
/** Entries one dispatch looks at in one queue before it gives up on that queue. */
const SCAN_BUDGET = 200;
/** Promotions one dispatch makes at most; a release frees one slot per key, so a few suffice. */
const MAX_PROMOTIONS = 16;
/** Attempts at one promotion that lost a race with another transaction. */
const MAX_CONFLICTS = 5;

/** A queued run as its queue entries and its record describe it. */
export interface QueuedRun {
  readonly owner: string;
  readonly jobName: string;
  readonly runId: string;
  readonly type: string;
  /** `<createdAt>#<runId>`: the FIFO order. */
  readonly seq: string;
  /** The round of each fair key's entry, by key id. */
  readonly rounds: Readonly<Record<string, number>>;
}

export interface SlotCounter {
  readonly running: number;
  readonly queued: number;
  readonly round: number;
  readonly version: number;
  readonly changedAt?: string;
}

/**
 * How much one dispatch may do: a function with a caller waiting (start-job)
 * starts a few runs and answers; one without (completion) may do more.
 */
export interface DispatchBudget {
  /** @default 16 */
  readonly maxPromotions?: number;
  /** Stop looking for more after this long. @default - no limit */
  readonly timeMs?: number;
  /**
   * Stop at the first sign of another dispatch at work (a run it already promoted,
   * or a counter fuller than read), instead of looking further and again. For a
   * caller that only looks on the way (start-job): when many start at once, they
   * would all contend for the same first runs of the queue, and every transaction
   * that loses costs as much as one that wins. The slot went to a run either way,
   * and its release looks again. @default false
   */
  readonly yieldToOthers?: boolean;
}

/** What a promotion hands to whoever starts the run's worker. */
export type StartRun = (run: QueuedRun) => Promise<void>;

export class SlotStore {
  readonly #table: TableClient;
  readonly #limits: ConcurrencyLimits;
  readonly #now: () => Date;

  constructor(
    client: DynamoDBClient,
    tableName: string,
    limits: ConcurrencyLimits,
    now: () => Date = () => new Date(),
  ) {
    this.#table = new TableClient(client, tableName);
    this.#limits = limits;
    this.#now = now;
  }

  /** The stack-wide key, which every run holds, when the stack has one. */
  get #stackWide(): SlotKey | undefined {
    const total = this.#limits.total;
    return total === undefined ? undefined : { id: ALL_KEY, limit: total, fair: true };
  }

  get limits(): ConcurrencyLimits {
    return this.#limits;
  }

  keysOf(owner: string, type: string): SlotKey[] {
    return slotKeysOf(owner, type, this.#limits);
  }

  /**
   * The fast path's items: one slot on each key, only if every key has room
   * and nobody waits on it (so a new run never overtakes a queued one).
   */
  takeItems(keys: readonly SlotKey[], at: string): TableWrite[] {
    return keys.map((key) =>
      this.#counterUpdate(key.id, at, 'ADD running :one, version :one', {
        condition:
          '(attribute_not_exists(running) OR running < :limit) AND ' +
          '(attribute_not_exists(queued) OR queued <= :zero)',
        values: { ':one': num(1), ':limit': num(key.limit), ':zero': num(0) },
      }),
    );
  }

  /** Gives back a running run's slots: added to the transaction that deletes its record. */
  releaseItems(keys: readonly SlotKey[], at: string): TableWrite[] {
    // Unconditional: a counter that drifted must never block the end of a run.
    return keys.map((key) =>
      this.#counterUpdate(key.id, at, 'ADD running :minus, version :one', {
        values: { ':minus': num(-1), ':one': num(1) },
      }),
    );
  }

  /**
   * The slow path's items: the run's queue entries and counts. The owner's
   * count is conditional on `maxQueuedPerOwner`, so a full queue cancels the
   * transaction at that item (index 0 of what this returns).
   */
  async enqueueItems(
    run: Omit<QueuedRun, 'rounds'>,
    keys: readonly SlotKey[],
    at: string,
  ): Promise<{ items: TableWrite[]; rounds: Record<string, number> }> {
    const rounds: Record<string, number> = {};
    const fairKeys = keys.filter((key) => key.fair);
    const { counters, lastRounds } = await this.#readRounds(fairKeys, run.owner);
    for (const key of fairKeys) {
      const current = counters.get(key.id)?.round ?? 0;
      const last = lastRounds.get(key.id) ?? 0;
      // A returning owner starts at the round being served, not where it left off.
      rounds[key.id] = Math.max(last + 1, current);
    }
    const expiresAt = Math.floor(this.#now().getTime() / 1000) + ROUND_TTL_SECONDS;
    const items: TableWrite[] = [];
    for (const key of keys) {
      const isOwner = key.id === ownerKeyId(run.owner);
      items.push(
        this.#counterUpdate(key.id, at, 'ADD queued :one, version :one', {
          values: {
            ':one': num(1),
            ...(isOwner ? { ':max': num(this.#limits.maxQueuedPerOwner) } : {}),
          },
          ...(isOwner ? { condition: 'attribute_not_exists(queued) OR queued < :max' } : {}),
        }),
      );
      items.push({ Put: { Item: entryItem(run, key, rounds) } });
      const round = rounds[key.id];
      if (round !== undefined) {
        items.push({
          Put: {
            Item: {
              ...keyAttrs(roundKey(key.id, run.owner)),
              last: num(round),
              [JobsTable.ttlAttribute]: num(expiresAt),
            },
          },
        });
      }
    }
    // The owner's counter first, so a full queue is reason 0 of the items this adds.
    return { items: ownerFirst(items, ownerKeyId(run.owner)), rounds };
  }

  /** Removes a queued run from its queues (its end while queued: cancel, queue timeout). */
  dequeueItems(run: QueuedRun, keys: readonly SlotKey[], at: string): TableWrite[] {
    return keys.flatMap((key) => [
      this.#counterUpdate(key.id, at, 'ADD queued :minus, version :one', {
        values: { ':minus': num(-1), ':one': num(1) },
      }),
      { Delete: { Key: entryKey(run, key) } },
    ]);
  }

  /** How many of its owner's runs wait before this one (1 is next). */
  async position(run: Pick<QueuedRun, 'owner' | 'seq'>): Promise<number> {
    let ahead = 0;
    let startKey: Item | undefined;
    do {
      const page = await this.#table.query({
        KeyConditionExpression: 'pk = :pk AND sk < :seq',
        ExpressionAttributeValues: {
          ':pk': str(queuePartitionKey(ownerKeyId(run.owner))),
          ':seq': str(run.seq),
        },
        Select: 'COUNT',
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      });
      ahead += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return ahead + 1;
  }

  /** Whether a new run could take its slots now: every key has room, and nobody waits on it. */
  async fits(keys: readonly SlotKey[]): Promise<boolean> {
    const counters = await this.readCounters(keys.map((key) => key.id));
    return keys.every((key) => {
      const counter = counters.get(key.id);
      return (counter?.running ?? 0) < key.limit && (counter?.queued ?? 0) <= 0;
    });
  }

  /** Whether every key has a free slot (waiting runs or not). */
  async hasRoom(keys: readonly SlotKey[]): Promise<boolean> {
    const counters = await this.readCounters(keys.map((key) => key.id));
    return keys.every((key) => (counters.get(key.id)?.running ?? 0) < key.limit);
  }

  /** Counters by key id, read consistently; a key never used reads as all zero. */
  async readCounters(keyIds: readonly string[]): Promise<Map<string, SlotCounter>> {
    const unique = [...new Set(keyIds)];
    const items = await this.#table.batchGet(unique.map((id) => keyAttrs(slotCounterKey(id))));
    const result = new Map<string, SlotCounter>();
    for (const item of items) {
      const id = item.pk?.S?.slice('SLOTS#'.length);
      if (id !== undefined) result.set(id, counterOf(item));
    }
    for (const id of unique) if (!result.has(id)) result.set(id, EMPTY_COUNTER);
    return result;
  }

  /**
   * Starts the queued runs that now fit, after a slot was freed on the keys of
   * a run of `type` by `owner`, or after a run of theirs was queued. Looks in
   * the fair queues first (the stack-wide one, then the type's), then in the
   * owner's FIFO, and promotes the first run that has room on every key.
   * Returns the runs it started.
   */
  async dispatch(
    trigger: { owner: string; type: string },
    start: StartRun,
    budget: DispatchBudget = {},
  ): Promise<QueuedRun[]> {
    const triggerKeys = this.keysOf(trigger.owner, trigger.type);
    const queues = [
      ...triggerKeys.filter((key) => key.fair).reverse(),
      ...triggerKeys.filter((key) => !key.fair),
    ];
    const most = budget.maxPromotions ?? MAX_PROMOTIONS;
    const until = budget.timeMs === undefined ? Infinity : Date.now() + budget.timeMs;
    const started: QueuedRun[] = [];
    // Within its budget: what is left for later is started by the next release, or by the sweep.
    const yieldToOthers = budget.yieldToOthers ?? false;
    while (started.length < most && Date.now() < until) {
      const promoted = await this.#promoteNext(queues, start, until, yieldToOthers);
      if (!promoted) break;
      started.push(promoted);
    }
    return started;
  }

  /**
   * Sets a counter to the true counts, unless it changed since `version` was
   * read or too recently for the index the counts came from to have caught up.
   * Returns whether it wrote.
   */
  async repairCounter(
    keyId: string,
    seen: SlotCounter,
    truth: { running: number; queued: number },
    settledBefore: string,
  ): Promise<boolean> {
    if (seen.running === truth.running && seen.queued === truth.queued) return false;
    if (seen.changedAt !== undefined && seen.changedAt >= settledBefore) return false;
    try {
      await this.#table.update({
        Key: keyAttrs(slotCounterKey(keyId)),
        UpdateExpression:
          'SET running = :running, queued = :queued, changedAt = :at ADD version :one',
        ConditionExpression: 'attribute_not_exists(version) OR version = :version',
        ExpressionAttributeValues: {
          ':running': num(truth.running),
          ':queued': num(truth.queued),
          ':at': str(this.#now().toISOString()),
          ':one': num(1),
          ':version': num(seen.version),
        },
      });
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Promotes one run, looking again (up to a few times) when a race made a counter fuller than read. */
  async #promoteNext(
    queues: readonly SlotKey[],
    start: StartRun,
    until: number,
    yieldToOthers: boolean,
  ): Promise<QueuedRun | undefined> {
    // A look that gives way is not repeated.
    const looks = yieldToOthers ? 1 : MAX_CONFLICTS;
    for (let look = 0; look < looks; look++) {
      const found = await this.#lookOnce(queues, until, yieldToOthers);
      if (found === 'none') return undefined;
      if (found !== 'race') {
        await start(found);
        return found;
      }
      if (look + 1 < looks) await jitter();
    }
    return undefined;
  }

  /** One pass over the queues, with counters read once: the run it promoted, a race, or none. */
  async #lookOnce(
    queues: readonly SlotKey[],
    until: number,
    yieldToOthers: boolean,
  ): Promise<QueuedRun | 'race' | 'none'> {
    const counters = new CounterCache(this);
    for (const queue of queues) {
      // The keys every run of this queue holds (its own, and the stack-wide one) full:
      // none of its runs can start, and there is no need to read a single entry.
      const shared = this.#stackWide && queue.id !== ALL_KEY ? [queue, this.#stackWide] : [queue];
      if (!(await counters.allHaveRoom(shared))) continue;
      let scanned = 0;
      let startKey: Item | undefined;
      do {
        const page = await this.#table.query({
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': str(queuePartitionKey(queue.id)) },
          ConsistentRead: true,
          Limit: SCAN_PAGE,
          ExclusiveStartKey: startKey,
        });
        for (const item of page.Items ?? []) {
          scanned += 1;
          const run = runOf(item);
          const keys = this.keysOf(run.owner, run.type);
          // Skipped: one of its other keys is full (its owner's, in a shared queue; its
          // type's, in its owner's queue). Runs behind it on free keys may start.
          if (!(await counters.allHaveRoom(keys))) continue;
          const outcome = await this.#promote(run, keys);
          if (outcome === 'promoted') return run;
          if (outcome === 'full') return 'race';
          // 'skip': cancelled or already gone (another dispatch promoted it); look further,
          // unless this look gives way to the others.
          if (yieldToOthers) return 'race';
        }
        startKey = page.LastEvaluatedKey;
        // Out of time: what is left waits for the next release, or the sweep.
        if (Date.now() >= until) return 'none';
      } while (startKey && scanned < SCAN_BUDGET);
    }
    return 'none';
  }

  /** One promotion: QUEUED → RUNNING, a slot on each key, out of every queue, in one transaction. */
  async #promote(run: QueuedRun, keys: readonly SlotKey[]): Promise<'promoted' | 'full' | 'skip'> {
    const at = this.#now().toISOString();
    const items: TableWrite[] = [
      {
        Update: {
          Key: { pk: str(jobPartitionKey(run.owner, run.jobName)), sk: str(ACTIVE_SORT_KEY) },
          UpdateExpression:
            'SET #status = :running, #gsi2pk = :statusPk, dispatchedAt = :at, updatedAt = :at',
          ConditionExpression:
            'runId = :runId AND #status = :queued AND attribute_not_exists(cancelRequestedAt)',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#gsi2pk': JobsTable.byOwnerStatus.partitionKey,
          },
          ExpressionAttributeValues: {
            ':running': str('RUNNING'),
            ':queued': str('QUEUED'),
            ':statusPk': str(ownerStatusPartitionKey(run.owner, 'RUNNING')),
            ':runId': str(run.runId),
            ':at': str(at),
          },
        },
      },
    ];
    for (const key of keys) {
      items.push(
        this.#counterUpdate(key.id, at, 'ADD running :one, queued :minus, version :one', {
          condition: 'attribute_not_exists(running) OR running < :limit',
          values: { ':one': num(1), ':minus': num(-1), ':limit': num(key.limit) },
        }),
      );
      items.push({ Delete: { Key: entryKey(run, key) } });
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#table.transactWrite(items);
        await this.#advanceRounds(run, keys);
        return 'promoted';
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'skip';
        if (reasons.some((reason) => reason.Code === 'ConditionalCheckFailed')) return 'full';
        if (attempt + 1 >= MAX_CONFLICTS) throw error;
        await jitter();
      }
    }
  }

  /** A fair key's current round follows the runs it starts, so a newcomer queues behind them. */
  async #advanceRounds(run: QueuedRun, keys: readonly SlotKey[]): Promise<void> {
    for (const key of keys) {
      const round = run.rounds[key.id];
      if (!key.fair || round === undefined) continue;
      try {
        await this.#table.update({
          Key: keyAttrs(slotCounterKey(key.id)),
          UpdateExpression: 'SET #round = :round',
          ConditionExpression: 'attribute_not_exists(#round) OR #round < :round',
          ExpressionAttributeNames: { '#round': 'round' },
          ExpressionAttributeValues: { ':round': num(round) },
        });
      } catch (error) {
        // Another promotion moved it further already.
        if (!isConditionFailure(error)) throw error;
      }
    }
  }

  /**
   * The fair keys' counters (the round each serves) and the owner's last round on
   * each, in one consistent read.
   */
  async #readRounds(
    fairKeys: readonly SlotKey[],
    owner: string,
  ): Promise<{ counters: Map<string, SlotCounter>; lastRounds: Map<string, number> }> {
    const keyIds = fairKeys.map((key) => key.id);
    const counters = new Map<string, SlotCounter>();
    const lastRounds = new Map<string, number>();
    const items = await this.#table.batchGet([
      ...keyIds.map((id) => keyAttrs(slotCounterKey(id))),
      ...keyIds.map((id) => keyAttrs(roundKey(id, owner))),
    ]);
    for (const item of items) {
      const pk = item.pk?.S;
      const counterId = keyIds.find((id) => slotCounterKey(id).pk === pk);
      if (counterId !== undefined) {
        counters.set(counterId, counterOf(item));
        continue;
      }
      const roundId = keyIds.find((id) => roundKey(id, owner).pk === pk);
      const last = Number(item.last?.N);
      if (roundId !== undefined && Number.isFinite(last)) lastRounds.set(roundId, last);
    }
    return { counters, lastRounds };
  }

  #counterUpdate(
    keyId: string,
    at: string,
    update: string,
    options: { condition?: string; values: Item },
  ): TableWrite {
    return {
      Update: {
        Key: keyAttrs(slotCounterKey(keyId)),
        UpdateExpression: `${update} SET changedAt = :changedAt`,
        ...(options.condition ? { ConditionExpression: options.condition } : {}),
        ExpressionAttributeValues: { ...options.values, ':changedAt': str(at) },
      },
    };
  }
}

/** Counters read once per look through the queues. */
class CounterCache {
  readonly #store: SlotStore;
  readonly #counters = new Map<string, SlotCounter>();

  constructor(store: SlotStore) {
    this.#store = store;
  }

  async allHaveRoom(keys: readonly SlotKey[]): Promise<boolean> {
    const missing = keys.map((key) => key.id).filter((id) => !this.#counters.has(id));
    if (missing.length > 0) {
      for (const [id, counter] of await this.#store.readCounters(missing)) {
        this.#counters.set(id, counter);
      }
    }
    return keys.every((key) => (this.#counters.get(key.id)?.running ?? 0) < key.limit);
  }

  clear(): void {
    this.#counters.clear();
  }
}

const EMPTY_COUNTER: SlotCounter = { running: 0, queued: 0, round: 0, version: 0 };

/** The queue entry's key: FIFO by seq, or by round then seq in a fair key's queue. */
function entryKey(run: Pick<QueuedRun, 'seq' | 'rounds'>, key: SlotKey): Item {
  const round = run.rounds[key.id];
  const sk = key.fair ? `${String(round ?? 0).padStart(12, '0')}#${run.seq}` : run.seq;
  return { pk: str(queuePartitionKey(key.id)), sk: str(sk) };
}

function entryItem(
  run: Omit<QueuedRun, 'rounds'>,
  key: SlotKey,
  rounds: Readonly<Record<string, number>>,
): Item {
  return {
    ...entryKey({ seq: run.seq, rounds }, key),
    owner: str(run.owner),
    jobName: str(run.jobName),
    runId: str(run.runId),
    type: str(run.type),
    seq: str(run.seq),
    rounds: { M: Object.fromEntries(Object.entries(rounds).map(([id, n]) => [id, num(n)])) },
  };
}

function runOf(item: Item): QueuedRun {
  const rounds: Record<string, number> = {};
  for (const [id, value] of Object.entries(item.rounds?.M ?? {})) rounds[id] = Number(value.N);
  return {
    owner: item.owner?.S ?? '',
    jobName: item.jobName?.S ?? '',
    runId: item.runId?.S ?? '',
    type: item.type?.S ?? '',
    seq: item.seq?.S ?? '',
    rounds,
  };
}

function counterOf(item: Item): SlotCounter {
  return {
    running: Number(item.running?.N ?? 0),
    queued: Number(item.queued?.N ?? 0),
    round: Number(item.round?.N ?? 0),
    version: Number(item.version?.N ?? 0),
    changedAt: item.changedAt?.S,
  };
}

function ownerFirst(items: TableWrite[], ownerId: string): TableWrite[] {
  const ownerPk = slotCounterKey(ownerId).pk;
  const index = items.findIndex((item) => 'Update' in item && item.Update.Key?.pk?.S === ownerPk);
  if (index <= 0) return items;
  const [owner] = items.splice(index, 1);
  return owner ? [owner, ...items] : items;
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function keyAttrs(key: { pk: string; sk: string }): Item {
  return { pk: str(key.pk), sk: str(key.sk) };
}

function str(value: string): AttributeValue {
  return { S: value };
}

function num(value: number): AttributeValue {
  return { N: String(value) };
}

function jitter(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
}
