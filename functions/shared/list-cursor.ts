/**
 * A list cursor is the query's LastEvaluatedKey, base64url-encoded. It is
 * checked against the caller's own partition before use, so a cursor can never
 * page into another owner's jobs.
 */
import { BadRequestError } from '../../core/errors';
import { JobsTable, jobPartitionKey } from '../../core/table';
import type { Item } from './dynamodb';

export function encodeCursor(key: Item): string {
  const plain: Record<string, string> = {};
  for (const [name, value] of Object.entries(key)) {
    if (value.S !== undefined) plain[name] = value.S;
  }
  return Buffer.from(JSON.stringify(plain), 'utf8').toString('base64url');
}

export function decodeCursor(
  cursor: string,
  indexPartitionKey: string,
  indexSortKey: string,
  expectedPartition: string,
  owner: string,
): Item {
  const invalid = () =>
    new BadRequestError('InvalidCursor', 'The cursor is not valid for this list');
  let plain: unknown;
  try {
    plain = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (error) {
    throw new BadRequestError('InvalidCursor', 'The cursor is not valid for this list', {
      cause: error,
    });
  }
  if (!plain || typeof plain !== 'object' || Array.isArray(plain)) throw invalid();
  const names = [JobsTable.partitionKey, JobsTable.sortKey, indexPartitionKey, indexSortKey];
  const record = plain as Record<string, unknown>;
  if (Object.keys(record).length !== names.length) throw invalid();
  const key: Item = {};
  for (const name of names) {
    const value = record[name];
    if (typeof value !== 'string' || value.length === 0 || value.length > 4096) throw invalid();
    key[name] = { S: value };
  }
  if (record[indexPartitionKey] !== expectedPartition) throw invalid();
  if (!String(record[JobsTable.partitionKey]).startsWith(jobPartitionKey(owner, '')))
    throw invalid();
  return key;
}
