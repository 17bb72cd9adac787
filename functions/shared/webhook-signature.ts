/**
 * Webhook signatures in the Standard Webhooks format (https://www.standardwebhooks.com):
 *
 *   webhook-id         the delivery id, the same on every attempt (receivers de-duplicate on it)
 *   webhook-timestamp  the attempt's Unix seconds
 *   webhook-signature  `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>`,
 *                      one per key, separated by spaces
 *
 * A key is given as a Standard Webhooks secret: the base64 of its bytes,
 * optionally prefixed `whsec_`. The stack's secret (64 letters and digits, see
 * `WebhookSecret` in `infra/async-jobs.ts`) is such a string as it is: 64
 * base64 characters, 48 key bytes. So a receiver passes the secret's value,
 * unchanged, to a Standard Webhooks library in any language. A secret value
 * may hold several secrets separated by spaces (during a rotation): every one
 * of them signs each delivery, and any one of them verifies it.
 *
 * The HMAC is node:crypto's: the spec is that one call, and the
 * `standardwebhooks` package would add pure-JS SHA-256 and base64 to every
 * bundle that signs (figures in docs/hand-written.md). The package stays what a
 * receiver may use, and the unit tests check every delivery against it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../../core/errors';

/** The header that carries the delivery id. */
export const WEBHOOK_ID_HEADER = 'webhook-id';
/** The header that carries the signing time, in Unix seconds. */
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
/** The header that carries the signatures. */
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';
/** The optional prefix of a Standard Webhooks secret. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** How far a delivery's timestamp may be from the receiver's clock, either way, by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** A webhook body: the raw bytes, or text that is sent as UTF-8. */
export type WebhookBody = string | Uint8Array;

/** A webhook secret that is not a Standard Webhooks secret. The message never contains the value. */
export class WebhookSecretError extends ConfigError {}

/** Padded standard base64, as every Standard Webhooks library decodes a secret. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** A `v1` signature: the base64 of the 32 bytes of an HMAC-SHA256. */
const V1_SIGNATURE = /^[A-Za-z0-9+/]{43}=$/;
/** A delivery id that can travel in a header as it is: visible ASCII, no spaces. */
const HEADER_TOKEN = /^[\x21-\x7e]+$/;

// ------------------------------------------------------------ keys

/**
 * The HMAC keys of one or more secret values. Each value holds one or more
 * Standard Webhooks secrets (`whsec_` + base64, or the base64 alone)
 * separated by whitespace. Throws a `WebhookSecretError` for an empty value
 * or a secret that is not padded standard base64.
 */
export function webhookKeys(secret: string | readonly string[]): Buffer[] {
  const values = typeof secret === 'string' ? [secret] : secret;
  const secrets = values.flatMap((value) => value.split(/\s+/)).filter((part) => part !== '');
  if (secrets.length === 0) throw new WebhookSecretError('No webhook secret was given.');
  return secrets.map((part, index) => {
    const text = part.startsWith(WEBHOOK_SECRET_PREFIX)
      ? part.slice(WEBHOOK_SECRET_PREFIX.length)
      : part;
    if (text === '' || !BASE64.test(text)) {
      const which = secrets.length > 1 ? ` (secret ${index + 1} of ${secrets.length})` : '';
      throw new WebhookSecretError(
        `The webhook secret${which} is not a Standard Webhooks secret: expected base64 ` +
          '(A-Z, a-z, 0-9, + and /, padded with = to a multiple of 4 characters), ' +
          `optionally prefixed ${WEBHOOK_SECRET_PREFIX}; got ${text.length} characters after the prefix.`,
      );
    }
    return Buffer.from(text, 'base64');
  });
}

// ------------------------------------------------------------ signing

function hmac(key: Buffer, id: string, timestamp: number, body: WebhookBody): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest();
}

/** Input of `signWebhook`. */
export interface SignWebhookInput {
  /** The secret value (one or more Standard Webhooks secrets), or several values. */
  readonly secret: string | readonly string[];
  /** The delivery id, sent as `webhook-id`. */
  readonly id: string;
  /** The signing time in Unix seconds, sent as `webhook-timestamp`. */
  readonly timestamp: number;
  readonly body: WebhookBody;
}

/** The `webhook-signature` value: `v1,<base64>` for each key, separated by spaces. */
export function signWebhook(input: SignWebhookInput): string {
  const { id, timestamp, body } = input;
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError(`timestamp must be a non-negative integer (seconds), got ${timestamp}`);
  }
  if (!HEADER_TOKEN.test(id)) {
    throw new RangeError('id must be visible ASCII characters without spaces, and not empty');
  }
  return webhookKeys(input.secret)
    .map((key) => `v1,${hmac(key, id, timestamp, body).toString('base64')}`)
    .join(' ');
}

/** The three Standard Webhooks headers of one delivery attempt. */
export function signatureHeaders(input: SignWebhookInput): Record<string, string> {
  return {
    [WEBHOOK_ID_HEADER]: input.id,
    [WEBHOOK_TIMESTAMP_HEADER]: String(input.timestamp),
    [WEBHOOK_SIGNATURE_HEADER]: signWebhook(input),
  };
}

// ------------------------------------------------------------ verification

/** A fetch `Headers`, or anything else with a case-insensitive `get`. */
export interface HeaderGetter {
  get(name: string): string | null;
}

/**
 * A request's headers as they come: Node's `req.headers`, a fetch `Headers`,
 * or a plain object (names in any case).
 */
export type WebhookHeaders =
  | HeaderGetter
  | Readonly<Record<string, string | readonly string[] | null | undefined>>;

/** Input of `verifyWebhook`: one secret value, or several while one is being rotated. */
export type VerifyWebhookInput = (
  | { readonly secret: string; readonly secrets?: undefined }
  | { readonly secrets: readonly string[]; readonly secret?: undefined }
) & {
  /** The request's headers; `webhook-id`, `webhook-timestamp` and `webhook-signature` are read. */
  readonly headers: WebhookHeaders;
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

/** The outcome of `verifyWebhook`: on success the delivery id and its timestamp (Unix seconds). */
export type VerifyWebhookResult =
  | { readonly ok: true; readonly id: string; readonly timestamp: number }
  | { readonly ok: false; readonly code: WebhookVerifyFailure; readonly reason: string };

function isHeaderGetter(headers: WebhookHeaders): headers is HeaderGetter {
  return typeof (headers as Partial<HeaderGetter>).get === 'function';
}

/** A header's value, whatever the shape of `headers`; a repeated header is joined with spaces. */
function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (isHeaderGetter(headers)) return headers.get(name) ?? undefined;
  const key = name in headers ? name : Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(' ');
}

/** The `v1` signatures of a `webhook-signature` value, or why it does not parse. */
function parseSignatures(header: string): Buffer[] | string {
  const signatures: Buffer[] = [];
  for (const entry of header.trim().split(/\s+/)) {
    const comma = entry.indexOf(',');
    if (comma <= 0) return `'${entry}' is not <version>,<signature>.`;
    if (entry.slice(0, comma) !== 'v1') continue; // other schemes (v1a, ...) are not ours to check
    const value = entry.slice(comma + 1);
    if (!V1_SIGNATURE.test(value)) return 'a v1 signature is not the base64 of 32 bytes.';
    signatures.push(Buffer.from(value, 'base64'));
  }
  return signatures.length > 0 ? signatures : 'it has no v1 signature.';
}

/**
 * Verifies a Standard Webhooks delivery: the three headers are present and
 * parse, one of the `v1` signatures is the HMAC of `<id>.<timestamp>.<body>`
 * under one of the keys (compared in constant time), and the timestamp is
 * within `toleranceSeconds` of `now`, either way. The signature is checked
 * before the timestamp, so a stale-timestamp failure always concerns an
 * authentic (replayed or delayed) delivery. Throws a `WebhookSecretError` for
 * a secret that is not a Standard Webhooks secret: that is the receiver's
 * setting, not the delivery's fault.
 */
export function verifyWebhook(input: VerifyWebhookInput): VerifyWebhookResult {
  const keys = webhookKeys(input.secrets ?? input.secret ?? []);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!(tolerance >= 0)) throw new RangeError(`toleranceSeconds must be >= 0, got ${tolerance}`);

  const id = headerValue(input.headers, WEBHOOK_ID_HEADER)?.trim() ?? '';
  const stamp = headerValue(input.headers, WEBHOOK_TIMESTAMP_HEADER)?.trim() ?? '';
  const signature = headerValue(input.headers, WEBHOOK_SIGNATURE_HEADER)?.trim() ?? '';
  const missing = [
    [WEBHOOK_ID_HEADER, id],
    [WEBHOOK_TIMESTAMP_HEADER, stamp],
    [WEBHOOK_SIGNATURE_HEADER, signature],
  ].flatMap(([name, value]) => (value === '' ? [name] : []));
  if (missing.length > 0) {
    const names = missing.join(', ');
    return failure(
      'missing_header',
      missing.length === 1
        ? `The ${names} header is missing.`
        : `The ${names} headers are missing.`,
    );
  }
  if (!/^\d{1,12}$/.test(stamp)) {
    return failure(
      'malformed_header',
      `The ${WEBHOOK_TIMESTAMP_HEADER} header '${stamp.slice(0, 40)}' is not Unix seconds.`,
    );
  }
  const timestamp = Number(stamp);
  const signatures = parseSignatures(signature);
  if (typeof signatures === 'string') {
    return failure(
      'malformed_header',
      `The ${WEBHOOK_SIGNATURE_HEADER} header is malformed: ${signatures}`,
    );
  }

  const matched = keys.some((key) => {
    const expected = hmac(key, id, timestamp, input.body);
    return signatures.some(
      (given) => given.length === expected.length && timingSafeEqual(given, expected),
    );
  });
  if (!matched) {
    return failure(
      'no_matching_signature',
      'No signature matches the id, timestamp and body under the secret.',
    );
  }

  const nowSeconds = Math.floor(new Date(input.now ?? Date.now()).getTime() / 1000);
  const age = nowSeconds - timestamp;
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
  return { ok: true, id, timestamp };
}

function failure(code: WebhookVerifyFailure, reason: string): VerifyWebhookResult {
  return { ok: false, code, reason };
}
