/** What the chaos scenarios share: the signed HTTP call, a bounded pool, and small helpers. */
import { type SigV4Credentials, signRequest } from '../../functions/shared/signer';

export interface Api {
  readonly apiUrl: string;
  readonly awsEndpoint: string;
  readonly region: string;
  readonly user: SigV4Credentials;
  readonly tableName: string;
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
  /** The `Retry-After` header, when the answer has one. */
  readonly retryAfter?: string;
}

export async function call(
  api: Api,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const url = `${api.apiUrl}${path}`;
  const payload = body === undefined ? '' : JSON.stringify(body);
  const headers: Record<string, string> =
    body === undefined ? {} : { 'content-type': 'application/json' };
  const signed = await signRequest({
    method,
    url,
    headers,
    body: payload,
    credentials: api.user,
    region: api.region,
    service: 'execute-api',
  });
  const response = await fetch(url, {
    method,
    headers: { ...headers, ...signed },
    body: body === undefined ? undefined : payload,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  const retryAfter = response.headers.get('retry-after') ?? undefined;
  return { status: response.status, body: parsed, ...(retryAfter ? { retryAfter } : {}) };
}

export async function pool<T>(
  items: T[],
  size: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      const item = items[index];
      if (item !== undefined) await work(item, index);
    }
  });
  await Promise.all(runners);
}

export function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** `202×3 429×1`, in the order the counts were first seen. */
export function formatCounts(counts: ReadonlyMap<string, number>): string {
  return counts.size === 0 ? 'none' : [...counts].map(([status, n]) => `${status}×${n}`).join(' ');
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}
