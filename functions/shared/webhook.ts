/**
 * Webhook callbacks: a job's terminal outcome POSTed to a URL its caller gave,
 * signed in the Standard Webhooks format (`webhook-signature.ts`).
 *
 * Delivery goes through the SSRF guard before every attempt and connects to
 * the vetted address only (see `ssrf.ts`), never follows redirects, and
 * retries only what a retry can fix: network errors, timeouts, 408, 425, 429
 * and 5xx.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { checkCallbackUrl, type LookupAll, resolveSafeAddress } from './ssrf';
import { signatureHeaders, type WebhookBody, webhookKeys } from './webhook-signature';

export {
  DEFAULT_TOLERANCE_SECONDS,
  type HeaderGetter,
  type SignWebhookInput,
  signatureHeaders,
  signWebhook,
  type VerifyWebhookInput,
  type VerifyWebhookResult,
  verifyWebhook,
  WEBHOOK_ID_HEADER,
  WEBHOOK_SECRET_PREFIX,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  type WebhookBody,
  type WebhookHeaders,
  WebhookSecretError,
  type WebhookVerifyFailure,
  webhookKeys,
} from './webhook-signature';

/** The `user-agent` of every delivery. */
export const WEBHOOK_USER_AGENT = 'eventjobs-webhook/1';
/** How much of a receiver's response body is read (and discarded). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** Input of `webhookHeaders`. */
export interface WebhookHeadersInput {
  /** The secret value: one or more Standard Webhooks secrets, separated by spaces. */
  readonly secret: string;
  readonly body: WebhookBody;
  /** The delivery's id, sent as `webhook-id`. */
  readonly deliveryId: string;
  /** The signing time (a `Date`, or epoch milliseconds). @default - the current time */
  readonly now?: Date | number;
}

/** Every header of a delivery: content type, user agent, and the Standard Webhooks three. */
export function webhookHeaders(input: WebhookHeadersInput): Record<string, string> {
  const timestamp = Math.floor(new Date(input.now ?? Date.now()).getTime() / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': WEBHOOK_USER_AGENT,
    ...signatureHeaders({
      secret: input.secret,
      id: input.deliveryId,
      timestamp,
      body: input.body,
    }),
  };
}

// ------------------------------------------------------------ delivery

/** Input of `deliverWebhook`. */
export interface DeliverWebhookInput {
  /** The callback URL; checked again, and its host resolved and vetted, before every attempt. */
  readonly url: string;
  /** The JSON body, sent as it is (the signature covers these exact bytes). */
  readonly body: string;
  /** The secret value: one or more Standard Webhooks secrets, separated by spaces (see `webhookKeys`). */
  readonly secret: string;
  /** The delivery's id, the same on every attempt. */
  readonly deliveryId: string;
  /** Attempts in all, the first included. @default 5 */
  readonly attempts?: number;
  /** The backoff before the first retry, before jitter; it doubles on each retry. @default 500 */
  readonly baseDelayMs?: number;
  /** The longest backoff, before jitter. @default 8000 */
  readonly maxDelayMs?: number;
  /**
   * One attempt's limit, from the DNS lookup of the host to reading the
   * response: a slow name server uses up the same time as a slow receiver.
   * @default 5000
   */
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
 * why not. Throws only for invalid options: a `RangeError`, or a
 * `WebhookSecretError` for a secret that is not a Standard Webhooks secret
 * (checked before the first attempt, so nothing unsigned is ever sent).
 */
export async function deliverWebhook(input: DeliverWebhookInput): Promise<DeliveryResult> {
  const attempts = input.attempts ?? 5;
  if (!Number.isSafeInteger(attempts) || attempts < 1) {
    throw new RangeError(`attempts must be a positive integer, got ${attempts}`);
  }
  // A secret that cannot sign is a deployment mistake: said at once, whatever the URL is.
  webhookKeys(input.secret);
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
  // One deadline for the lookup and the request: the host, and so how long its
  // name servers take, is the caller's choice.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  try {
    const resolved = await resolveSafeAddress(url.hostname, {
      allowHttpLocalhost,
      signal: deadline.signal,
      ...(input.lookup ? { lookup: input.lookup } : {}),
    });
    if (!resolved.ok) {
      const error = resolved.timedOut
        ? `The callback host ${url.hostname} did not resolve within ${timeoutMs} ms.`
        : resolved.reason;
      return { kind: resolved.blocked ? 'final' : 'retry', error };
    }
    // Signed afresh on every attempt, so a retry late in the backoff is not
    // refused by the receiver as a stale timestamp.
    const headers = webhookHeaders({ secret: input.secret, body, deliveryId: input.deliveryId });
    const answer = await post(url, resolved, headers, body, {
      signal: deadline.signal,
      timeoutMs,
    });
    return answerOutcome(answer);
  } finally {
    clearTimeout(timer);
  }
}

function answerOutcome(answer: { status: number } | { error: string }): AttemptOutcome {
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
  deadline: { readonly signal: AbortSignal; readonly timeoutMs: number },
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

  const timedOut = `The receiver did not answer within ${deadline.timeoutMs} ms.`;
  // The lookup may have used up the whole deadline.
  if (deadline.signal.aborted) return Promise.resolve({ error: timedOut });
  return new Promise((resolve) => {
    let settled = false;
    let status: number | undefined;
    const settle = (outcome: { status: number } | { error: string }): void => {
      if (settled) return;
      settled = true;
      deadline.signal.removeEventListener('abort', onDeadline);
      request.destroy();
      resolve(outcome);
    };
    const settleWithStatusOr = (error: string): void => {
      settle(status === undefined ? { error } : { status });
    };
    const onDeadline = (): void => settleWithStatusOr(timedOut);
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
    // Registered once the request exists, as settling destroys it.
    deadline.signal.addEventListener('abort', onDeadline, { once: true });
    request.end(body);
  });
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
