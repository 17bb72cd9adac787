/**
 * The jobs table's layout, shared by the store and by `infra/`, so the key
 * schema the code queries and the one CloudFormation creates are one definition.
 *
 * One job name of one owner is one partition: `ACTIVE` is the running job,
 * `RUN#<runId>` each retained outcome. Two sparse-free GSIs list an owner's jobs
 * newest first, all of them or by status; a third, sparse one holds only the
 * active records, for the sweeper.
 */
export const JobsTable = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  byOwner: { indexName: 'byOwner', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  byOwnerStatus: { indexName: 'byOwnerStatus', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
  /**
   * Sparse: only active records carry `gsi3pk`, so the sweeper reads every
   * running job (and nothing else) by querying each of the ACTIVE_SHARDS.
   */
  byActive: { indexName: 'byActive', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
  /** Attributes copied into `byActive`: what the sweeper needs to judge and end a run. */
  activeProjectedAttributes: [
    'owner',
    'jobName',
    'runId',
    'type',
    'createdAt',
    'startedAt',
    'attemptStartedAt',
    'attempt',
    'heartbeatAt',
    'deadlineAt',
    'cancelRequestedAt',
    'status',
    'dispatchedAt',
  ],
  /** Attributes copied into both indexes: what a list row shows. */
  projectedAttributes: [
    'jobName',
    'runId',
    'type',
    'status',
    'createdAt',
    'finishedAt',
    'progress',
    'expiresAt',
    'startedBy',
  ],
} as const;

export const ACTIVE_SORT_KEY = 'ACTIVE';
export const RUN_SORT_KEY_PREFIX = 'RUN#';

/** Active records are spread over this many index partitions, so no one of them gets hot. */
export const ACTIVE_SHARDS = 4;

export function activePartitionKey(shard: number): string {
  return `ACTIVE#${shard}`;
}

/** A stable shard for a job name: the same name always lands in the same partition. */
export function activeShardOf(owner: string, jobName: string): number {
  let hash = 0;
  for (const char of `${owner}#${jobName}`) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash % ACTIVE_SHARDS;
}

/** A job's partition: its active record, its outcomes, and the stream's events and subscriptions of it. */
export const JOB_PARTITION_PREFIX = 'JOB#';
/** A stream connection's own item (`pk = sk = CONN#<connectionId>`). */
export const CONNECTION_PARTITION_PREFIX = 'CONN#';

export function jobPartitionKey(owner: string, jobName: string): string {
  return `${JOB_PARTITION_PREFIX}${owner}#${jobName}`;
}

export function ownerPartitionKey(owner: string): string {
  return `OWNER#${owner}`;
}

export function ownerStatusPartitionKey(owner: string, status: string): string {
  return `OWNER#${owner}#${status}`;
}

export function listSortKey(createdAt: string, runId: string): string {
  return `${createdAt}#${runId}`;
}

/** Fair share (see `core/limits.ts`): one counter item per concurrency key. */
export function slotCounterKey(keyId: string): { pk: string; sk: string } {
  return { pk: `SLOTS#${keyId}`, sk: 'SLOTS' };
}

/** The partition of a key's queue: FIFO by `<createdAt>#<runId>`, or for a fair key by round first. */
export function queuePartitionKey(keyId: string): string {
  return `QUEUE#${keyId}`;
}

/** The last round an owner took in a fair key's queue. */
export function roundKey(keyId: string, owner: string): { pk: string; sk: string } {
  return { pk: `ROUND#${keyId}#${owner}`, sk: 'ROUND' };
}

/** A run's step and sleep checkpoints sit in its job's partition, after its records. */
export const STEP_SORT_KEY_PREFIX = 'STEP#';

export function stepSortKeyPrefix(runId: string): string {
  return `${STEP_SORT_KEY_PREFIX}${runId}#`;
}

export function stepSortKey(runId: string, name: string): string {
  return `${stepSortKeyPrefix(runId)}${name}`;
}

/** A signal sent to a run (`POST /jobs/{name}/signals/{signal}`), in its job's partition. */
export function signalSortKey(runId: string, name: string): string {
  return `SIGNAL#${runId}#${name}`;
}
