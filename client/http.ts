/**
 * Signed HTTP: every request SigV4-signed for `execute-api` (session token
 * included), JSON in and out, throttling retried (`retry.ts`), and the API's
 * error body turned into an `ApiError` (a `JobNotFoundError` for 404) with a
 * hint.
 */
import { signRequest, uriEncode } from '../functions/shared/signer';
import { ApiError, type ApiErrorDetail, JobNotFoundError, UnreachableError } from './errors';
import { delayBeforeRetry, type RetryOptions, readThrottling, sleep } from './retry';
import { DEFAULT_OPTION_NAMES, type OptionNames, type Target } from './target';

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

/** Query parameters; undefined ones are left out. */
export type Query = Readonly<Record<string, string | number | undefined>>;

export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** The path, e.g. `/jobs`; it may carry a query, though `query` is the way to give one. */
  readonly path: string;
  readonly query?: Query;
  readonly body?: unknown;
  readonly accept?: string;
  /** More headers, signed with the rest (`last-event-id` for a stream that resumes). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /**
   * A response that streams for as long as the caller reads (server-sent
   * events): no deadline beyond the caller's own signal.
   * @default false
   */
  readonly stream?: boolean;
}

export interface SignedHttpOptions {
  /** How long a request may take, answer included. @default 35000 */
  readonly timeoutMs?: number;
  readonly names?: OptionNames;
  /**
   * Retrying throttled answers. Here the default is one attempt, so that a
   * caller measuring the API (the benchmarks) sees every answer;
   * `createClient` retries by default.
   * @default - { maxAttempts: 1 }
   */
  readonly retry?: RetryOptions;
}

/** A response after retries, and how many attempts it took. */
export interface Exchange {
  readonly response: Response;
  readonly attempts: number;
}

/** API Gateway gives up on an integration after 30 s; a little more covers the way there and back. */
export const DEFAULT_TIMEOUT_MS = 35_000;

export class SignedHttp {
  readonly target: Target;
  readonly #fetch: FetchFn;
  readonly #timeoutMs: number;
  readonly #names: OptionNames;
  readonly #retry: RetryOptions;

  constructor(target: Target, fetchFn: FetchFn, options: SignedHttpOptions = {}) {
    this.target = target;
    this.#fetch = fetchFn;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#names = options.names ?? DEFAULT_OPTION_NAMES;
    this.#retry = options.retry ?? { maxAttempts: 1 };
  }

  /** The URL a request goes to: base URL, path, and the query sorted by name. */
  url(path: string, query?: Query): string {
    const search = query === undefined ? '' : queryString(query);
    return `${this.target.apiUrl}${path}${search === '' ? '' : `?${search}`}`;
  }

  /**
   * Sends a request, again while the answer is throttling and attempts are
   * left, and answers the last response, whatever its status. Each attempt
   * is signed anew: a signature carries its time, and a stale one is refused.
   */
  async exchange(request: ApiRequest): Promise<Exchange> {
    const maxAttempts = this.#retry.maxAttempts ?? 1;
    for (let attempt = 1; ; attempt++) {
      const response = await this.send(request);
      const throttled = maxAttempts > attempt ? await readThrottling(response) : undefined;
      const delayMs =
        throttled && delayBeforeRetry(throttled, attempt, maxAttempts, this.#retry.random);
      if (throttled === undefined || delayMs === undefined) return { response, attempts: attempt };
      await response.body?.cancel().catch(() => undefined);
      this.#retry.onRetry?.({
        method: request.method,
        path: request.path,
        status: throttled.status,
        code: throttled.code,
        attempt: attempt + 1,
        maxAttempts,
        delayMs,
      });
      await (this.#retry.sleep ?? sleep)(delayMs, request.signal);
    }
  }

  /** Sends a signed request once and answers the response, whatever its status. */
  async send(request: ApiRequest): Promise<Response> {
    const url = this.url(request.path, request.query);
    const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
    const headers: Record<string, string> = {
      ...request.headers,
      accept: request.accept ?? 'application/json',
    };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const credentials = await this.target.credentials();
    // The very URL that is sent is the one signed, query order included.
    const signed = await signRequest({
      method: request.method,
      url,
      headers,
      body: payload ?? '',
      credentials,
      region: this.target.region,
      service: 'execute-api',
    });
    try {
      return await this.#fetch(url, {
        method: request.method,
        headers: { ...headers, ...signed },
        body: payload,
        signal: this.#signal(request),
      });
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw this.unreachable(error);
    }
  }

  /** Sends a request and answers its JSON body; an error status throws `ApiError`. */
  async json<T>(request: ApiRequest): Promise<T> {
    return (await this.call<T>(request)).body;
  }

  /** Like `json`, with the status code (start tells 202 "started" from 200 "already running"). */
  async call<T>(request: ApiRequest): Promise<{ readonly status: number; readonly body: T }> {
    const { response, attempts } = await this.exchange(request);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      throw this.unreachable(error);
    }
    if (!response.ok) throw this.apiError(response.status, text, attempts);
    try {
      return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as T };
    } catch (error) {
      throw new ApiError(response.status, 'InvalidResponse', 'the API answered with non-JSON', {
        body: text,
        cause: error,
      });
    }
  }

  /** A network failure as a person should read it: where, why, and what to try. */
  unreachable(error: unknown): UnreachableError {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? 'no answer in time'
        : cause instanceof Error
          ? cause.message
          : String(cause);
    return new UnreachableError(`cannot reach ${this.target.description}: ${reason}`, {
      hint:
        this.target.kind === 'local'
          ? 'is the local cloud still running? start it with `npm start`'
          : `check ${this.#names.url} and your network`,
      cause: error,
    });
  }

  /**
   * An error status and its body as an `ApiError`, with a hint for the
   * statuses people hit; `attempts` is how many answers the call had.
   */
  apiError(status: number, text: string, attempts = 1): ApiError {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const parsed = (typeof body === 'object' && body !== null ? body : {}) as ErrorBody;
    const code =
      typeof parsed.error?.code === 'string'
        ? parsed.error.code
        : status === 403
          ? 'Forbidden'
          : '';
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
    const ErrorClass = status === 404 ? JobNotFoundError : ApiError;
    return new ErrorClass(status, code || `HTTP${status}`, message, {
      details,
      body,
      attempts,
      hint: this.#hintFor(status, code, attempts),
    });
  }

  #signal(request: ApiRequest): AbortSignal | undefined {
    if (request.stream) return request.signal;
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    return request.signal ? AbortSignal.any([request.signal, deadline]) : deadline;
  }

  #hintFor(status: number, code: string, attempts: number): string | undefined {
    switch (status) {
      case 403:
        return this.target.kind === 'local'
          ? 'the local cloud refused the signature; if it was restarted, its state file may be stale'
          : `check your AWS credentials (execute-api:Invoke) and the region (signing for ${this.target.region}; ${this.#names.region})`;
      case 404:
        return 'no job by that name is running or retained';
      case 409:
        if (code === 'JobFinished') return 'the job has already finished';
        if (code === 'JobStillRunning') return 'replay it once it has finished';
        return undefined;
      case 429:
      case 503:
        return attempts > 1
          ? `still ${code === 'QueueFull' ? 'full' : 'throttled'} after ${attempts} attempts; try again later`
          : 'try again in a moment';
      case 500:
        // Only API Gateway's bare 500 is retried: Lambda throttling the function behind it.
        return attempts > 1
          ? `API Gateway still answered 500 after ${attempts} attempts (the function may be throttled); try again later`
          : undefined;
      default:
        return undefined;
    }
  }
}

interface ErrorBody {
  readonly error?: { code?: unknown; message?: unknown; details?: unknown };
  readonly message?: unknown;
}

/**
 * `a=1&b=2`: parameters sorted by name (then value) and encoded the RFC 3986
 * way, which is how SigV4 canonicalizes a query; so the query sent reads
 * exactly as the one signed.
 */
export function queryString(query: Query): string {
  return Object.entries(query)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => [uriEncode(name), uriEncode(String(value))] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** `/jobs/<name>` with the name encoded as one path segment. */
export function jobPath(name: string, suffix = ''): string {
  return `/jobs/${encodeURIComponent(name)}${suffix}`;
}
