/**
 * Webhook callbacks: a job's terminal outcome POSTed to a URL its caller gave.
 *
 * Signing is Stripe-style. `eventjobs-signature: t=<unix seconds>,v1=<hex>`,
 * where the hex is HMAC-SHA256(secret, `<t>.<raw body>`). A receiver checks
 * the HMAC over the exact bytes it received and that `t` is recent, so a
 * captured delivery cannot be replayed later. Several `v1=` entries may be
 * present while a secret is being rotated; one match is enough.
 *
 * Delivery goes through the SSRF guard before every attempt and connects to
 * the vetted address only (see `ssrf.ts`), never follows redirects, and
 * retries only what a retry can fix: network errors, timeouts, 408, 425, 429
 * and 5xx.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { checkCallbackUrl, type LookupAll, resolveSafeAddress } from './ssrf';

/** The header that carries the signature. */
export const SIGNATURE_HEADER = 'eventjobs-signature';
/** The header that carries the delivery id: the same on every attempt, so a receiver can de-duplicate. */
export const DELIVERY_HEADER = 'eventjobs-delivery';
/** The `user-agent` of every delivery. */
export const WEBHOOK_USER_AGENT = 'eventjobs-webhook/1';
/** How far a signature's timestamp may be from the receiver's clock, either way, by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** How much of a receiver's response body is read (and discarded). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** A webhook body: the raw bytes, or text that is sent as UTF-8. */
export type WebhookBody = string | Uint8Array;

// ------------------------------------------------------------ signing

function signatureHex(secret: string, timestamp: number, body: WebhookBody): string {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(body).digest('hex');
}

/** The `eventjobs-signature` value for a body signed at `nowSeconds` (Unix seconds). */
export function signWebhook(secret: string, body: WebhookBody, nowSeconds: number): string {
  if (!Number.isSafeInteger(nowSeconds) || nowSeconds < 0) {
    throw new RangeError(`nowSeconds must be a non-negative integer, got ${nowSeconds}`);
  }
  return `t=${nowSeconds},v1=${signatureHex(secret, nowSeconds, body)}`;
}

/** Input of `webhookHeaders`. */
export interface WebhookHeadersInput {
  readonly secret: string;
  readonly body: WebhookBody;
  /** The delivery's id, sent as `eventjobs-delivery`. */
  readonly deliveryId: string;
  /** The signing time (a `Date`, or epoch milliseconds). @default - the current time */
  readonly now?: Date | number;
}

/** Every header of a delivery: content type, user agent, signature and delivery id. */
export function webhookHeaders(input: WebhookHeadersInput): Record<string, string> {
  const seconds = Math.floor(new Date(input.now ?? Date.now()).getTime() / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': WEBHOOK_USER_AGENT,
    [SIGNATURE_HEADER]: signWebhook(input.secret, input.body, seconds),
    [DELIVERY_HEADER]: input.deliveryId,
  };
}

// ------------------------------------------------------------ verification

/** Input of `verifyWebhook`: one secret, or several while one is being rotated. */
export type VerifyWebhookInput = (
  | { readonly secret: string; readonly secrets?: undefined }
  | { readonly secrets: readonly string[]; readonly secret?: undefined }
) & {
  /** The `eventjobs-signature` header as received (Node gives a repeated header as an array). */
  readonly header: string | readonly string[] | null | undefined;
  /** The RAW body bytes as received: not re-serialised JSON, whose bytes may differ. */
  readonly body: WebhookBody;
  /** @default 300 */
  readonly toleranceSeconds?: number;
  /** The receiver's clock (a `Date`, or epoch milliseconds). @default - the current time */
  readonly now?: Date | number;
};

/** Why a delivery was not accepted. */
export type WebhookVerifyFailure =
  | 'missing_header'
  | 'malformed_header'
  | 'timestamp_too_old'
  | 'timestamp_in_future'
  | 'no_matching_signature';

/** The outcome of `verifyWebhook`; `timestamp` is the signature's, in Unix seconds. */
export type VerifyWebhookResult =
  | { readonly ok: true; readonly timestamp: number }
  | { readonly ok: false; readonly code: WebhookVerifyFailure; readonly reason: string };

interface ParsedSignature {
  readonly timestamp: number;
  readonly signatures: readonly Buffer[];
}

function parseSignatureHeader(header: string): ParsedSignature | string {
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const piece of header.split(',')) {
    const item = piece.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) return `'${item}' is not a key=value pair.`;
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (key === 't') {
      if (timestamp !== undefined) return 'It has more than one timestamp (t=).';
      if (!/^\d{1,12}$/.test(value)) return `Its timestamp '${value}' is not Unix seconds.`;
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(value))
        return `Its v1 signature '${value}' is not 64 hex digits.`;
      signatures.push(Buffer.from(value, 'hex'));
    }
    // Other schemes are ignored, so that a later scheme can be added alongside v1.
  }
  if (timestamp === undefined) return 'It has no timestamp (t=).';
  if (signatures.length === 0) return 'It has no v1 signature.';
  return { timestamp, signatures };
}

/**
 * Verifies a delivery: the header parses, one of its `v1` signatures is the
 * HMAC of `<t>.<body>` under one of the secrets (compared in constant time),
 * and `t` is within `toleranceSeconds` of `now`, either way. The signature is
 * checked before the timestamp, so a stale-timestamp failure always concerns
 * an authentic (replayed or delayed) delivery.
 */
export function verifyWebhook(input: VerifyWebhookInput): VerifyWebhookResult {
  const secrets = input.secrets ?? (input.secret === undefined ? [] : [input.secret]);
  if (secrets.length === 0) throw new TypeError('verifyWebhook needs a secret or secrets');
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;

  const header = typeof input.header === 'string' ? input.header : input.header?.join(',');
  if (header === undefined || header.trim() === '') {
    return failure('missing_header', `The ${SIGNATURE_HEADER} header is missing.`);
  }
  const parsed = parseSignatureHeader(header);
  if (typeof parsed === 'string') {
    return failure('malformed_header', `The ${SIGNATURE_HEADER} header is malformed: ${parsed}`);
  }

  const matched = secrets.some((secret) => {
    const expected = Buffer.from(signatureHex(secret, parsed.timestamp, input.body), 'hex');
    return parsed.signatures.some(
      (given) => given.length === expected.length && timingSafeEqual(given, expected),
    );
  });
  if (!matched) {
    return failure('no_matching_signature', 'No signature matches the body and the secret.');
  }

  const nowSeconds = Math.floor(new Date(input.now ?? Date.now()).getTime() / 1000);
  const age = nowSeconds - parsed.timestamp;
  if (age > tolerance) {
    return failure(
      'timestamp_too_old',
      `The signature is ${age} seconds old; at most ${tolerance} are accepted.`,
    );
  }
  if (-age > tolerance) {
    return failure(
      'timestamp_in_future',
      `The signature is ${-age} seconds in the future; at most ${tolerance} are accepted.`,
    );
  }
  return { ok: true, timestamp: parsed.timestamp };
}

function failure(code: WebhookVerifyFailure, reason: string): VerifyWebhookResult {
  return { ok: false, code, reason };
}

// ------------------------------------------------------------ delivery

/** Input of `deliverWebhook`. */
export interface DeliverWebhookInput {
  /** The callback URL; checked again, and its host resolved and vetted, before every attempt. */
  readonly url: string;
  /** The JSON body, sent as it is (the signature covers these exact bytes). */
  readonly body: string;
  readonly secret: string;
  /** The delivery's id, the same on every attempt. */
  readonly deliveryId: string;
  /** Attempts in all, the first included. @default 5 */
  readonly attempts?: number;
  /** The backoff before the first retry, before jitter; it doubles on each retry. @default 500 */
  readonly baseDelayMs?: number;
  /** The longest backoff, before jitter. @default 8000 */
  readonly maxDelayMs?: number;
  /** One attempt's limit, from connecting to reading the response. @default 5000 */
  readonly timeoutMs?: number;
  /** Allows `http:` to localhost and loopback addresses (the local cloud). @default false */
  readonly allowHttpLocalhost?: boolean;
  /** @default - `dns.promises.lookup` */
  readonly lookup?: LookupAll;
  /** @default - a `setTimeout` promise */
  readonly sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
}

/** What happened to a delivery. */
export interface DeliveryResult {
  readonly delivered: boolean;
  /** Attempts made. */
  readonly attempts: number;
  /** The last attempt's HTTP status, when the receiver answered. */
  readonly status?: number;
  /** Why the last attempt failed, when it did. */
  readonly error?: string;
  /** When the receiver accepted it (ISO 8601), when it did. */
  readonly deliveredAt?: string;
  /** When the last attempt started (ISO 8601). */
  readonly lastAttemptAt: string;
}

/** Statuses worth another attempt: the receiver is busy, slow or broken, not refusing. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * The wait before retry number `retry` (1 for the first retry): exponential
 * backoff with full jitter, `random() * min(maxDelayMs, baseDelayMs * 2^(retry-1))`,
 * so that receivers recovering from an outage are not hit by every sender at once.
 */
export function retryDelayMs(
  retry: number,
  options: {
    readonly baseDelayMs: number;
    readonly maxDelayMs: number;
    readonly random: () => number;
  },
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(options.random() * ceiling);
}

/** One attempt's outcome: delivered, worth a retry, or final. */
type AttemptOutcome =
  | { readonly kind: 'delivered'; readonly status: number }
  | { readonly kind: 'retry' | 'final'; readonly status?: number; readonly error: string };

/**
 * POSTs a signed webhook, retrying with backoff. Never throws for what the
 * receiver or the network does: the result says whether it was delivered and
 * why not. Throws only for invalid options (a `RangeError`).
 */
export async function deliverWebhook(input: DeliverWebhookInput): Promise<DeliveryResult> {
  const attempts = input.attempts ?? 5;
  if (!Number.isSafeInteger(attempts) || attempts < 1) {
    throw new RangeError(`attempts must be a positive integer, got ${attempts}`);
  }
  const timeoutMs = input.timeoutMs ?? 5000;
  const backoff = {
    baseDelayMs: input.baseDelayMs ?? 500,
    maxDelayMs: input.maxDelayMs ?? 8000,
    random: input.random ?? Math.random,
  };
  const sleep = input.sleep ?? defaultSleep;
  const body = Buffer.from(input.body, 'utf8');

  let lastAttemptAt = new Date().toISOString();
  let last: AttemptOutcome = { kind: 'final', error: 'No attempt was made.' };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(retryDelayMs(attempt - 1, backoff));
    lastAttemptAt = new Date().toISOString();
    last = await attemptDelivery(input, body, timeoutMs);
    if (last.kind === 'delivered') {
      return {
        delivered: true,
        attempts: attempt,
        status: last.status,
        deliveredAt: new Date().toISOString(),
        lastAttemptAt,
      };
    }
    if (last.kind === 'final') {
      return { delivered: false, attempts: attempt, ...statusAndError(last), lastAttemptAt };
    }
  }
  return { delivered: false, attempts, ...statusAndError(last), lastAttemptAt };
}

function statusAndError(outcome: AttemptOutcome): { status?: number; error?: string } {
  if (outcome.kind === 'delivered') return { status: outcome.status };
  return outcome.status === undefined
    ? { error: outcome.error }
    : { status: outcome.status, error: outcome.error };
}

async function attemptDelivery(
  input: DeliverWebhookInput,
  body: Buffer,
  timeoutMs: number,
): Promise<AttemptOutcome> {
  const allowHttpLocalhost = input.allowHttpLocalhost === true;
  const checked = checkCallbackUrl(input.url, { allowHttpLocalhost });
  if (!checked.ok) return { kind: 'final', error: checked.reason };
  const url = checked.url;
  const resolved = await resolveSafeAddress(url.hostname, {
    allowHttpLocalhost,
    ...(input.lookup ? { lookup: input.lookup } : {}),
  });
  if (!resolved.ok) return { kind: resolved.blocked ? 'final' : 'retry', error: resolved.reason };

  // Signed afresh on every attempt, so a retry late in the backoff is not
  // refused by the receiver as a stale timestamp.
  const headers = webhookHeaders({
    secret: input.secret,
    body,
    deliveryId: input.deliveryId,
  });
  const answer = await post(url, resolved, { ...headers }, body, timeoutMs);
  if ('error' in answer) return { kind: 'retry', error: answer.error };
  const { status } = answer;
  if (status >= 200 && status <= 299) return { kind: 'delivered', status };
  if (status >= 300 && status <= 399) {
    return {
      kind: 'final',
      status,
      error: `The receiver answered ${status}, a redirect; redirects are not followed.`,
    };
  }
  return {
    kind: isRetryableStatus(status) ? 'retry' : 'final',
    status,
    error: `The receiver answered ${status}.`,
  };
}

/**
 * One POST to the vetted address. The socket is pinned to that address
 * through `lookup`, while the URL's host name stays the TLS server name (SNI
 * and certificate check) and the `Host` header, so the receiver sees an
 * ordinary request and a second DNS answer is never consulted.
 */
function post(
  url: URL,
  target: { readonly address: string; readonly family: 4 | 6 },
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs: number,
): Promise<{ status: number } | { error: string }> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const secure = url.protocol === 'https:';
  const pinned: LookupFunction = (_host, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const options: RequestOptions = {
    method: 'POST',
    host: hostname,
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    headers: { ...headers, host: url.host, 'content-length': String(body.length) },
    agent: false,
    lookup: pinned,
    ...(secure && isIP(hostname) === 0 ? { servername: hostname } : {}),
  };

  return new Promise((resolve) => {
    let settled = false;
    let status: number | undefined;
    const settle = (outcome: { status: number } | { error: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(outcome);
    };
    const settleWithStatusOr = (error: string): void => {
      settle(status === undefined ? { error } : { status });
    };
    const timer = setTimeout(
      () => settleWithStatusOr(`The receiver did not answer within ${timeoutMs} ms.`),
      timeoutMs,
    );
    const request = (secure ? httpsRequest : httpRequest)(options, (response: IncomingMessage) => {
      status = response.statusCode ?? 0;
      const answered = { status };
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        // The body is only drained, never used: stop once the cap is reached.
        if (read >= MAX_RESPONSE_BYTES) settle(answered);
      });
      response.on('end', () => settle(answered));
      response.on('error', () => settle(answered));
      response.on('close', () => settle(answered));
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      settleWithStatusOr(`The request failed: ${error.code ?? error.name}: ${error.message}`);
    });
    request.end(body);
  });
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
