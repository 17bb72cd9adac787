/** A small signed HTTP client for the jobs API, as any SigV4 caller would use it. */
import { type SigV4Credentials, signRequest } from '../../functions/shared/signer';
import type { E2eTarget } from './target';

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly text: string;
}

export async function callApi(
  target: E2eTarget,
  who: SigV4Credentials | 'unsigned',
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiResponse> {
  const url = `${target.apiUrl}${path}`;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> =
    payload === undefined ? {} : { 'content-type': 'application/json' };
  const signed =
    who === 'unsigned'
      ? {}
      : await signRequest({
          method,
          url,
          headers,
          body: payload ?? '',
          credentials: who,
          region: target.region,
          service: 'execute-api',
        });
  const response = await fetch(url, { method, headers: { ...headers, ...signed }, body: payload });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last });
}

/** A job name no earlier run of the suite used. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
