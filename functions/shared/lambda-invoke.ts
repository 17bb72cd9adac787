/**
 * Lambda `Invoke` over a SigV4-signed HTTP request (`POST
 * /2015-03-31/functions/{name}/invocations`, Lambda's REST-JSON API): the one
 * Lambda call the functions make, without bundling `@aws-sdk/client-lambda`
 * (some 90 KB and a share of every cold start of the function that has it).
 *
 * It sends with `node:http`/`node:https`, which the bundled SDK clients load
 * anyway (the global `fetch` would load undici on the first call, tens of
 * milliseconds of the first invoke), and retries what the SDK's standard
 * retry mode retries: network errors, timeouts, throttling and 5xx, with
 * exponential backoff and full jitter. An asynchronous invoke that is sent
 * twice is delivered twice; the worker's run lease makes that harmless.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { credentialsFromEnv } from './credentials';
import { AppError, AwsServiceError } from './errors';
import { nonEmpty, parseJson, stringField } from './json';
import { type SigV4Credentials, signRequest } from './sigv4';

/** How long one attempt may take by default. */
export const DEFAULT_INVOKE_TIMEOUT_MS = 5000;
/** Attempts per call by default, the first one included (the SDK's standard mode: 3). */
export const DEFAULT_INVOKE_ATTEMPTS = 3;
/** The first retry waits up to this long; each later one up to twice as long as the one before. */
const BASE_RETRY_DELAY_MS = 100;
/** The longest a retry waits. */
const MAX_RETRY_DELAY_MS = 5000;

/** One HTTP request, as the transport sends it. */
export interface HttpRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
}

/** The response: status, headers (lower-case names) and the body as text. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Sends one request; rejects on a network error or timeout. */
export type SendHttp = (request: HttpRequest) => Promise<HttpResponse>;

/** How a function is invoked: `Event` (queued, answers 202) or `RequestResponse` (waits, 200). */
export type InvocationType = 'Event' | 'RequestResponse';

export interface InvokeInput {
  /** The function's name, ARN or partial ARN, optionally with a qualifier (`name:alias`). */
  readonly functionName: string;
  readonly invocationType: InvocationType;
  /** The event, as JSON text. */
  readonly payload: string;
}

export interface InvokeOutput {
  /** 202 for an accepted `Event` invoke, 200 for `RequestResponse`. */
  readonly statusCode: number;
  /** `Handled` or `Unhandled` when a synchronous invoke's function failed. */
  readonly functionError?: string;
  /** The function's response (synchronous invokes; empty for `Event`). */
  readonly payload: string;
}

/** Invokes Lambda functions. */
export interface LambdaInvoker {
  /** Rejects with `LambdaServiceError` when Lambda refuses, or with the last network error. */
  invoke(input: InvokeInput): Promise<InvokeOutput>;
}

/** Lambda answered an Invoke with an error. */
export class LambdaServiceError extends AwsServiceError {}

export interface LambdaInvokerOptions {
  /** The functions' region, e.g. `eu-west-1`. */
  readonly region: string;
  /**
   * The service's base URL.
   * @default - `AWS_ENDPOINT_URL_LAMBDA`, else `AWS_ENDPOINT_URL`, else
   * `https://lambda.<region>.amazonaws.com` (`amazonaws.com.cn` in China regions)
   */
  readonly endpoint?: string;
  /**
   * @default - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`
   * from `env` (what Lambda provides), read on each call
   */
  readonly credentials?: SigV4Credentials;
  /** Where the endpoint and credential variables are read from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** One attempt's time limit, in milliseconds. @default 5000 */
  readonly timeoutMs?: number;
  /** Attempts per call, the first one included. @default 3 */
  readonly maxAttempts?: number;
  /** @default - `node:http` / `node:https` with their global (keep-alive) agents */
  readonly send?: SendHttp;
  /** Waits between attempts. @default - a timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) that spreads the retries (full jitter). @default Math.random */
  readonly random?: () => number;
}

/** Creates an invoker; build it once at module scope so its connections are reused. */
export function createLambdaInvoker(options: LambdaInvokerOptions): LambdaInvoker {
  const env = options.env ?? process.env;
  const endpoint =
    options.endpoint ??
    nonEmpty(env.AWS_ENDPOINT_URL_LAMBDA) ??
    nonEmpty(env.AWS_ENDPOINT_URL) ??
    `https://lambda.${options.region}.${options.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_INVOKE_TIMEOUT_MS;
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_INVOKE_ATTEMPTS);
  const send = options.send ?? sendWithNode;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;

  async function attempt(input: InvokeInput): Promise<InvokeOutput> {
    const url = new URL(
      `2015-03-31/functions/${encodeURIComponent(input.functionName)}/invocations`,
      endpoint.endsWith('/') ? endpoint : `${endpoint}/`,
    );
    const headers = {
      'content-type': 'application/json',
      'x-amz-invocation-type': input.invocationType,
    };
    const signed = signRequest({
      method: 'POST',
      url,
      headers,
      body: input.payload,
      credentials: options.credentials ?? credentialsFromEnv(env),
      region: options.region,
      service: 'lambda',
    });
    const response = await send({
      method: 'POST',
      url,
      headers: { ...headers, ...signed },
      body: input.payload,
      timeoutMs,
    });
    if (response.status >= 300) throw serviceError(response, input.functionName);
    const functionError = header(response.headers, 'x-amz-function-error');
    return {
      statusCode: response.status,
      ...(functionError !== undefined ? { functionError } : {}),
      payload: response.body,
    };
  }

  return {
    async invoke(input) {
      for (let attemptNumber = 1; ; attemptNumber++) {
        try {
          return await attempt(input);
        } catch (error) {
          if (attemptNumber >= maxAttempts || !isRetryable(error)) throw error;
          const ceiling = Math.min(
            MAX_RETRY_DELAY_MS,
            BASE_RETRY_DELAY_MS * 2 ** (attemptNumber - 1),
          );
          await sleep(Math.floor(random() * ceiling));
        }
      }
    },
  };
}

/** Network errors and timeouts (not Lambda's answer) are retried, and so are throttling and 5xx. */
function isRetryable(error: unknown): boolean {
  if (!(error instanceof LambdaServiceError)) return !(error instanceof AppError);
  return error.statusCode === 429 || error.statusCode >= 500;
}

/** A REST-JSON error: the type from `x-amzn-errortype` (or the body), the message from the body. */
function serviceError(response: HttpResponse, functionName: string): LambdaServiceError {
  const parsed = parseJson(response.body);
  const rawType =
    header(response.headers, 'x-amzn-errortype') ??
    stringField(parsed, '__type') ??
    stringField(parsed, 'code') ??
    'UnknownError';
  const code = rawType.split(':', 1)[0]?.split('#').pop() || 'UnknownError';
  const message =
    stringField(parsed, 'message') ??
    stringField(parsed, 'Message') ??
    (response.body.trim().slice(0, 200) || `status ${response.status}`);
  return new LambdaServiceError(
    code,
    response.status,
    `Lambda Invoke of ${functionName} failed with ${response.status} ${code}: ${message}`,
  );
}

/** The default transport; `timeoutMs` bounds the whole exchange, response body included. */
export function sendWithNode(request: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const secure = request.url.protocol === 'https:';
    const outgoing = (secure ? httpsRequest : httpRequest)(
      request.url,
      {
        method: request.method,
        headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', fail);
        response.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    const timer = setTimeout(() => {
      outgoing.destroy(
        new Error(
          `${request.method} ${request.url.origin} timed out after ${request.timeoutMs} ms`,
        ),
      );
    }, request.timeoutMs);
    function fail(error: Error): void {
      clearTimeout(timer);
      reject(error);
    }
    outgoing.on('error', fail);
    outgoing.end(request.body);
  });
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
