/** An owner's jobs, newest first, optionally of one status, a page at a time. */
import { BadRequestError } from '../../core/errors';
import { JOB_STATUSES, type JobStatus } from '../../core/model';
import type { JobStore, ListOptions, ListPage } from '../shared/store';

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

const QUERY_PARAMS = ['status', 'limit', 'cursor'];

export interface ListJobsDeps {
  readonly store: JobStore;
  readonly now: () => Date;
}

/**
 * Reads `status`, `limit` and `cursor` from a query string. Any other
 * parameter is refused, so a misspelt filter fails instead of being ignored.
 * The cursor stays opaque here; the store checks it belongs to this list.
 */
/**
 * SigV4's query-string signing parameters: a presigned `GET /jobs` carries them
 * in its query, and API Gateway passes the query on as it came.
 */
const PRESIGN_PARAMS: ReadonlySet<string> = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
]);

export function parseListQuery(
  params: Readonly<Record<string, string | undefined>> | undefined,
): ListOptions {
  const query = params ?? {};
  const unknown = Object.keys(query).filter(
    (key) => !QUERY_PARAMS.includes(key) && !PRESIGN_PARAMS.has(key),
  );
  if (unknown.length > 0) {
    throw new BadRequestError(
      'InvalidQuery',
      `Unknown query parameter(s): ${unknown.join(', ')}; allowed: ${QUERY_PARAMS.join(', ')}`,
    );
  }

  const { status, limit, cursor } = query;
  if (status !== undefined && !isJobStatus(status)) {
    throw new BadRequestError('InvalidStatus', `status must be one of ${JOB_STATUSES.join(', ')}`);
  }
  if (cursor !== undefined && cursor.length === 0) {
    throw new BadRequestError('InvalidCursor', 'The cursor is not valid for this list');
  }
  return { status, limit: parseLimit(limit), cursor };
}

export async function listJobs(
  owner: string,
  options: ListOptions,
  deps: ListJobsDeps,
): Promise<ListPage> {
  try {
    return await deps.store.list(owner, options, Math.floor(deps.now().getTime() / 1000));
  } catch (error) {
    // The cursor is the only part of the query the caller writes freely. One that
    // passes the store's ownership checks can still name keys DynamoDB refuses as
    // a start key (a sort key over 1,024 bytes, say): that is the caller's bad
    // cursor, not a server fault.
    if (options.cursor !== undefined && isValidationException(error)) {
      throw new BadRequestError('InvalidCursor', 'The cursor is not valid for this list', {
        cause: error,
      });
    }
    throw error;
  }
}

function isValidationException(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException';
}

function isJobStatus(value: string): value is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(value);
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const limit = /^\d{1,3}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) {
    throw new BadRequestError(
      'InvalidLimit',
      `limit must be a whole number from 1 to ${MAX_LIMIT}`,
    );
  }
  return limit;
}
