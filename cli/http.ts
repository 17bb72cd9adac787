/**
 * The signed HTTP client: every request SigV4-signed for `execute-api`
 * (session token included), JSON in and out, and the API's error body
 * `{ "error": { "code", "message", "details" } }` (or API Gateway's own
 * `{ "message" }`) turned into an `ApiError` with a hint.
 */
import { signRequest } from '../local/sigv4';
import { ApiError, type ApiErrorDetail, UnreachableError } from './errors';
import type { Target } from './target';

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, e.g. `/jobs?limit=5`. */
  readonly path: string;
  readonly body?: unknown;
  readonly accept?: string;
  readonly signal?: AbortSignal;
}

const REQUEST_TIMEOUT_MS = 35_000;

export class ApiClient {
  constructor(
    readonly target: Target,
    private readonly fetchFn: FetchFn,
  ) {}

  /** Sends a signed request and answers the response, whatever its status. */
  async send(request: ApiRequest): Promise<Response> {
    const url = `${this.target.apiUrl}${request.path}`;
    const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
    const headers: Record<string, string> = { accept: request.accept ?? 'application/json' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const credentials = await this.target.credentials();
    const signed = signRequest({
      method: request.method,
      url,
      headers,
      body: payload ?? '',
      credentials,
      region: this.target.region,
      service: 'execute-api',
    });
    try {
      return await this.fetchFn(url, {
        method: request.method,
        headers: { ...headers, ...signed },
        body: payload,
        signal: request.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw unreachable(this.target, error);
    }
  }

  /** Sends a request and answers its JSON body; an error status throws `ApiError`. */
  async json<T>(request: ApiRequest): Promise<T> {
    return (await this.call<T>(request)).body;
  }

  /** Like `json`, with the status code (start tells 202 "started" from 200 "already running"). */
  async call<T>(request: ApiRequest): Promise<{ readonly status: number; readonly body: T }> {
    const response = await this.send(request);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw unreachable(this.target, error);
    }
    if (!response.ok) throw apiErrorFrom(response.status, text, this.target);
    try {
      return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as T };
    } catch {
      throw new ApiError(response.status, 'InvalidResponse', 'the API answered with non-JSON', {
        body: text,
      });
    }
  }
}

/** A network failure as the user should read it: where, why, and what to try. */
export function unreachable(target: Target, error: unknown): UnreachableError {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const reason =
    error instanceof Error && error.name === 'TimeoutError'
      ? 'no answer in time'
      : cause instanceof Error
        ? cause.message
        : String(cause);
  return new UnreachableError(`cannot reach ${target.description}: ${reason}`, {
    hint:
      target.kind === 'local'
        ? 'is the local cloud still running? start it with `npm start`'
        : 'check --url and your network',
    cause: error,
  });
}

interface ErrorBody {
  readonly error?: { code?: unknown; message?: unknown; details?: unknown };
  readonly message?: unknown;
}

/** The API's error body as an `ApiError`, with a hint for the statuses people hit. */
export function apiErrorFrom(status: number, text: string, target: Target): ApiError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = (typeof body === 'object' && body !== null ? body : {}) as ErrorBody;
  const code =
    typeof parsed.error?.code === 'string' ? parsed.error.code : status === 403 ? 'Forbidden' : '';
  const message =
    typeof parsed.error?.message === 'string'
      ? parsed.error.message
      : typeof parsed.message === 'string'
        ? parsed.message
        : text.trim() || `HTTP ${status}`;
  const details = Array.isArray(parsed.error?.details)
    ? (parsed.error.details as ApiErrorDetail[]).filter(
        (d) => typeof d === 'object' && d !== null && typeof d.message === 'string',
      )
    : [];
  return new ApiError(status, code || `HTTP${status}`, message, {
    details,
    body,
    hint: hintFor(status, code, target),
  });
}

function hintFor(status: number, code: string, target: Target): string | undefined {
  switch (status) {
    case 403:
      return target.kind === 'local'
        ? 'the local cloud refused the signature; if it was restarted, its state file may be stale'
        : `check your AWS credentials (execute-api:Invoke) and the region (signing for ${target.region}; --region)`;
    case 404:
      return 'no job by that name is running or retained (eventjobs list shows yours)';
    case 409:
      return code === 'JobFinished' ? 'the job has already finished' : undefined;
    case 429:
    case 503:
      return 'try again in a moment';
    default:
      return undefined;
  }
}

/** `/jobs/<name>` with the name encoded as one path segment. */
export function jobPath(name: string, suffix = ''): string {
  return `/jobs/${encodeURIComponent(name)}${suffix}`;
}
