/**
 * Reads secrets from AWS Secrets Manager (`GetSecretValue`) over its JSON 1.1
 * protocol with a SigV4-signed `fetch`: no SDK client to bundle for one call.
 *
 * Values are cached per secret id for a while (a Lambda sandbox serves many
 * invocations; Secrets Manager bills and throttles per call), and concurrent
 * reads of one id share a single request.
 */
import { credentialsFromEnv } from './credentials';
import { AwsServiceError } from './errors';
import { nonEmpty, parseJson, stringField } from './json';
import { type SigV4Credentials, signRequest } from './sigv4';

/** How long a secret's value is reused by default: 5 minutes. */
export const DEFAULT_SECRET_TTL_MS = 5 * 60_000;

/** How long one `GetSecretValue` call may take by default. */
export const DEFAULT_SECRET_TIMEOUT_MS = 5000;

/** The `fetch` the reader calls; the global one fits. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Options of `createSecretReader`. */
export interface SecretReaderOptions {
  /** The region of the secrets, e.g. `eu-west-1`. */
  readonly region: string;
  /**
   * The service's base URL.
   * @default - `AWS_ENDPOINT_URL_SECRETS_MANAGER`, else `AWS_ENDPOINT_URL`, else
   * `https://secretsmanager.<region>.amazonaws.com`
   */
  readonly endpoint?: string;
  /**
   * @default - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`
   * from the environment (what Lambda provides), read on each call
   */
  readonly credentials?: SigV4Credentials;
  /** @default - the global `fetch` */
  readonly fetch?: FetchLike;
  /** How long a value is reused, in milliseconds; 0 disables the cache. @default 300000 */
  readonly ttlMs?: number;
  /** One call's time limit, in milliseconds. @default 5000 */
  readonly timeoutMs?: number;
  /** Where the endpoint and credential variables are read from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The clock the cache uses, in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** Reads secret strings, cached. */
export interface SecretReader {
  /**
   * The `SecretString` of a secret's current version (`AWSCURRENT`). Rejects
   * with a `SecretsManagerError` when the service refuses, and with an
   * `Error` when it cannot be reached or the secret has no string value.
   */
  getSecretString(secretId: string): Promise<string>;
}

/** Secrets Manager answered with an error. */
export class SecretsManagerError extends AwsServiceError {}

interface CachedValue {
  readonly value: string;
  readonly expiresAt: number;
}

/** Creates a reader; build it once at module scope so its cache outlives an invocation. */
export function createSecretReader(options: SecretReaderOptions): SecretReader {
  const env = options.env ?? process.env;
  const endpoint =
    options.endpoint ??
    nonEmpty(env.AWS_ENDPOINT_URL_SECRETS_MANAGER) ??
    nonEmpty(env.AWS_ENDPOINT_URL) ??
    `https://secretsmanager.${options.region}.amazonaws.com`;
  const url = new URL('/', endpoint).href;
  const ttlMs = options.ttlMs ?? DEFAULT_SECRET_TTL_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_SECRET_TIMEOUT_MS;
  const now = options.now ?? Date.now;
  const doFetch: FetchLike = options.fetch ?? ((target, init) => fetch(target, init));
  const cache = new Map<string, CachedValue>();
  const inFlight = new Map<string, Promise<string>>();

  async function fetchSecret(secretId: string): Promise<string> {
    const credentials = options.credentials ?? credentialsFromEnv(env);
    const body = JSON.stringify({ SecretId: secretId });
    const headers = {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
    };
    const signed = signRequest({
      method: 'POST',
      url,
      headers,
      body,
      credentials,
      region: options.region,
      service: 'secretsmanager',
    });
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: { ...headers, ...signed },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new Error(
        `Secrets Manager GetSecretValue for ${secretId} failed: ${describe(error)} (${url})`,
        { cause: error },
      );
    }
    const parsed = parseJson(text);
    if (!response.ok) {
      const rawType =
        stringField(parsed, '__type') ?? response.headers.get('x-amzn-errortype') ?? 'UnknownError';
      const code = rawType.split(':', 1)[0]?.split('#').pop() || 'UnknownError';
      const message =
        stringField(parsed, 'message') ??
        stringField(parsed, 'Message') ??
        (text.trim().slice(0, 200) || response.statusText);
      throw new SecretsManagerError(
        code,
        response.status,
        `Secrets Manager GetSecretValue for ${secretId} failed with ${response.status} ${code}: ${message}`,
      );
    }
    const value = stringField(parsed, 'SecretString');
    if (value === undefined) {
      throw new Error(
        `Secret ${secretId} has no SecretString (a binary secret, or an unexpected response)`,
      );
    }
    return value;
  }

  return {
    getSecretString(secretId: string): Promise<string> {
      const cached = cache.get(secretId);
      if (cached !== undefined && cached.expiresAt > now()) return Promise.resolve(cached.value);
      const pending = inFlight.get(secretId);
      if (pending !== undefined) return pending;
      const request = fetchSecret(secretId)
        .then((value) => {
          if (ttlMs > 0) cache.set(secretId, { value, expiresAt: now() + ttlMs });
          return value;
        })
        .finally(() => inFlight.delete(secretId));
      inFlight.set(secretId, request);
      return request;
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}
