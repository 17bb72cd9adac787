/**
 * The jobs table's layout, shared by the store and by `infra/`, so the key
 * schema the code queries and the one CloudFormation creates are one definition.
 *
 * One job name of one owner is one partition: `ACTIVE` is the running job,
 * `RUN#<runId>` each retained outcome. Two sparse-free GSIs list an owner's jobs
 * newest first, all of them or by status.
 */
export const JobsTable = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  byOwner: { indexName: 'byOwner', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  byOwnerStatus: { indexName: 'byOwnerStatus', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
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
  ],
} as const;

export const ACTIVE_SORT_KEY = 'ACTIVE';
export const RUN_SORT_KEY_PREFIX = 'RUN#';

export function jobPartitionKey(owner: string, jobName: string): string {
  return `JOB#${owner}#${jobName}`;
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
