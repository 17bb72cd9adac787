/**
 * Fair share: the concurrency keys a run holds a slot on, and their limits.
 *
 * Every run holds one slot on each of its keys while it runs:
 * - `owner:<arn>`, the caller's own share (a FIFO queue per owner);
 * - `type:<name>`, for a job type that sets `concurrency`;
 * - `all`, the stack-wide cap, the worker's reserved concurrency.
 *
 * A start that finds a key full is queued. The type and stack-wide keys are
 * shared between owners, so their queues are fair: ordered by round, where an
 * owner's k-th waiting job has round k (or the key's current round, when the
 * owner arrives later), so every owner's first waiting job comes before anyone's
 * second. The owner's own key needs no such order: its queue is plain FIFO.
 */

export interface ConcurrencyLimits {
  /** Runs at once per owner. */
  readonly perOwner: number;
  /** Jobs one owner may have waiting; a start beyond it is refused with 429 QueueFull. */
  readonly maxQueuedPerOwner: number;
  /** Runs at once across the stack (the worker's reserved concurrency); undefined sets no such key. */
  readonly total?: number;
  /** Runs at once per job type, for the types that set a limit. */
  readonly perType: Readonly<Record<string, number>>;
}

export interface SlotKey {
  /** `owner:<arn>`, `type:<name>` or `all`. */
  readonly id: string;
  readonly limit: number;
  /** Shared between owners: its queue is ordered by round, not by arrival alone. */
  readonly fair: boolean;
}

export const ALL_KEY = 'all';

export function ownerKeyId(owner: string): string {
  return `owner:${owner}`;
}

export function typeKeyId(type: string): string {
  return `type:${type}`;
}

/** The keys a run of `type` started by `owner` holds a slot on: the owner's first. */
export function slotKeysOf(owner: string, type: string, limits: ConcurrencyLimits): SlotKey[] {
  const keys: SlotKey[] = [{ id: ownerKeyId(owner), limit: limits.perOwner, fair: false }];
  const typeLimit = Object.hasOwn(limits.perType, type) ? limits.perType[type] : undefined;
  if (typeLimit !== undefined) keys.push({ id: typeKeyId(type), limit: typeLimit, fair: true });
  if (limits.total !== undefined) keys.push({ id: ALL_KEY, limit: limits.total, fair: true });
  return keys;
}

/**
 * Who owns a caller's jobs (and so whose limits a run counts against):
 * `principal`, the IAM user or the role for all its sessions, or `session`, an
 * assumed role's session on its own. `functions/shared/identity.ts` explains both.
 */
export type OwnerModel = 'principal' | 'session';
export const OWNER_MODELS: readonly OwnerModel[] = ['principal', 'session'];
