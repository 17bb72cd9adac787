/**
 * What the dashboard server asks the jobs API, signed by `SignedHttp` (the
 * client's own signing, with the user's credentials): requests passed on as
 * they are, the list filtered by type, and the per-type statistics over the
 * retained outcomes.
 */

import type { ApiRequest, SignedHttp } from '../client/http';
import type { JobPage } from '../client/types';
import type { JobStatus, JobSummary } from '../core/model';

/** An answer to pass on to the page: the API's status and JSON body, as they came. */
export interface Forwarded {
  readonly status: number;
  readonly body: string;
}

/** Sends a request to the API and answers its status and body unchanged (errors included). */
export async function forward(http: SignedHttp, request: ApiRequest): Promise<Forwarded> {
  const { response } = await http.exchange(request);
  const text = await response.text();
  return { status: response.status, body: text === '' ? '{}' : text };
}

/** API pages one filtered list request may read before it answers what it found. */
export const MAX_PAGES_PER_LIST = 25;

export interface ListQuery {
  readonly status?: string;
  readonly type?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export interface FilteredPage extends JobPage {
  /** Rows of the API read to find these (a type filter reads past other types). */
  readonly scanned: number;
}

/**
 * One page of the list. Without a type it is the API's page. With one, the
 * API's pages are read (each asking for as many rows as are still wanted, so
 * that its `nextCursor` resumes right after the last row read) until `limit`
 * rows of that type are found, the list ends, or `MAX_PAGES_PER_LIST` pages
 * were read; then the page may be short and still have a `nextCursor`.
 */
export async function listJobs(http: SignedHttp, query: ListQuery): Promise<FilteredPage> {
  const jobs: JobSummary[] = [];
  let cursor = query.cursor;
  let scanned = 0;
  for (let pages = 0; pages < MAX_PAGES_PER_LIST; pages++) {
    const wanted = query.limit - jobs.length;
    const page = await http.json<JobPage>({
      method: 'GET',
      path: '/jobs',
      query: { status: query.status, limit: wanted, cursor },
    });
    scanned += page.jobs.length;
    jobs.push(...page.jobs.filter((job) => query.type === undefined || job.type === query.type));
    cursor = page.nextCursor;
    if (cursor === undefined || jobs.length >= query.limit || query.type === undefined) break;
  }
  return { jobs, ...(cursor === undefined ? {} : { nextCursor: cursor }), scanned };
}

export const TERMINAL_STATUSES = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;
type Outcome = (typeof TERMINAL_STATUSES)[number];

/** Outcomes read per status for the statistics; beyond it they are marked `truncated`. */
export const MAX_OUTCOMES_PER_STATUS = 2000;

export interface TypeStats {
  readonly type: string;
  readonly counts: Readonly<Record<Outcome, number>>;
  /** Runs with both times, from which the percentiles are taken. */
  readonly timed: number;
  /** Nearest-rank percentiles of `finishedAt - createdAt`, in milliseconds. */
  readonly p50Ms?: number;
  readonly p95Ms?: number;
}

export interface Stats {
  readonly types: readonly TypeStats[];
  readonly outcomes: number;
  /** Some status had more retained outcomes than were read. */
  readonly truncated: boolean;
}

/**
 * Per type: how many retained outcomes ended each way, and the p50 and p95
 * of their durations. The list API's rows carry `createdAt` and `finishedAt`
 * (its index projects no `startedAt`), so a duration here runs from the start
 * request to the end: queue wait included. Each terminal status is listed in
 * pages of 100, up to `MAX_OUTCOMES_PER_STATUS`.
 */
export async function outcomeStats(http: SignedHttp): Promise<Stats> {
  const byType = new Map<string, { counts: Record<Outcome, number>; durations: number[] }>();
  let outcomes = 0;
  let truncated = false;
  for (const status of TERMINAL_STATUSES) {
    let cursor: string | undefined;
    let read = 0;
    do {
      const page = await http.json<JobPage>({
        method: 'GET',
        path: '/jobs',
        query: { status, limit: 100, cursor },
      });
      for (const job of page.jobs) {
        const entry = byType.get(job.type) ?? { counts: zeroCounts(), durations: [] };
        byType.set(job.type, entry);
        entry.counts[status] += 1;
        const duration = durationOf(job);
        if (duration !== undefined) entry.durations.push(duration);
      }
      read += page.jobs.length;
      cursor = page.nextCursor;
    } while (cursor !== undefined && read < MAX_OUTCOMES_PER_STATUS);
    outcomes += read;
    if (cursor !== undefined) truncated = true;
  }
  const types = [...byType.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, { counts, durations }]) => {
      durations.sort((a, b) => a - b);
      const p50Ms = percentile(durations, 50);
      const p95Ms = percentile(durations, 95);
      return {
        type,
        counts,
        timed: durations.length,
        ...(p50Ms === undefined ? {} : { p50Ms }),
        ...(p95Ms === undefined ? {} : { p95Ms }),
      };
    });
  return { types, outcomes, truncated };
}

function zeroCounts(): Record<Outcome, number> {
  return { SUCCEEDED: 0, FAILED: 0, CANCELLED: 0, TIMED_OUT: 0 };
}

function durationOf(job: JobSummary): number | undefined {
  if (job.finishedAt === undefined) return undefined;
  const ms = Date.parse(job.finishedAt) - Date.parse(job.createdAt);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** The nearest-rank percentile of sorted values; undefined for none. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Whether `value` is a status the list takes. */
export function isJobStatus(value: string): value is JobStatus {
  return ['QUEUED', 'RUNNING', ...TERMINAL_STATUSES].includes(value);
}
