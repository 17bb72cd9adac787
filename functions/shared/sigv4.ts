/**
 * AWS Signature Version 4, the client half: `signRequest` and `presignUrl`,
 * and the canonical-request helpers they are built from. The local cloud's
 * verifier (`local/sigv4.ts`) builds the canonical request with these same
 * functions, so what one side signs the other accepts; both match the AWS SDK
 * and curl.
 *
 * Lambda functions use it to call AWS APIs that the project reaches over plain
 * `fetch` (no SDK client), such as Secrets Manager.
 */
import { createHash, createHmac } from 'node:crypto';

/** The only signing algorithm SigV4 has. */
export const ALGORITHM = 'AWS4-HMAC-SHA256';
/** The payload hash a request declares when its body is not signed. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** SHA-256 of the empty string. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** The longest `X-Amz-Expires` a presigned URL may carry (7 days). */
export const MAX_PRESIGN_SECONDS = 604_800;

/** Headers a signer leaves out, as the AWS SDK does: proxies and clients change them. */
const UNSIGNABLE_HEADERS = new Set([
  'authorization',
  'cache-control',
  'connection',
  'expect',
  'from',
  'keep-alive',
  'max-forwards',
  'pragma',
  'referer',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);

/**
 * The credentials a request is signed with. A temporary credential (STS, or
 * what Lambda puts in `AWS_SESSION_TOKEN`) also has a session token, which is
 * sent as `x-amz-security-token` (or `X-Amz-Security-Token` in a presigned URL).
 */
export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

// ------------------------------------------------------------ canonical form

const HEX = '0123456789ABCDEF';

/** Whether a byte is RFC 3986 "unreserved" (never percent-encoded by SigV4). */
function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    byte === 0x2d || // -
    byte === 0x2e || // .
    byte === 0x5f || // _
    byte === 0x7e // ~
  );
}

/** Percent-encodes every byte except the unreserved ones, with upper-case hex. */
export function uriEncodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/** SigV4's `UriEncode()` of a string (UTF-8), `/` included. */
export function uriEncode(text: string): string {
  return uriEncodeBytes(Buffer.from(text, 'utf8'));
}

/**
 * Percent-decodes to bytes. A `%` not followed by two hex digits stays as it
 * is, and `+` stays a plus: SigV4 reads query strings by RFC 3986, not as a
 * form body.
 */
export function percentDecodeBytes(text: string): Buffer {
  const raw = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(raw.length);
  let length = 0;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i] as number;
    if (byte === 0x25 && i + 2 < raw.length && isHex(raw[i + 1]) && isHex(raw[i + 2])) {
      out[length++] = Number.parseInt(
        String.fromCharCode(raw[i + 1] as number, raw[i + 2] as number),
        16,
      );
      i += 2;
    } else {
      out[length++] = byte;
    }
  }
  return out.subarray(0, length);
}

function isHex(byte: number | undefined): boolean {
  return (
    byte !== undefined &&
    ((byte >= 0x30 && byte <= 0x39) ||
      (byte >= 0x41 && byte <= 0x46) ||
      (byte >= 0x61 && byte <= 0x66))
  );
}

/**
 * The canonical URI of a path as it travels on the wire (percent-encoded).
 *
 * For every service but S3, AWS normalizes the path (empty, `.` and `..`
 * segments removed) and then URI-encodes it as a whole, so what the client
 * had already encoded is encoded again (`%20` becomes `%2520`); `/` stays.
 * S3 encodes each segment once and does not normalize.
 */
export function canonicalUri(rawPath: string, service: string): string {
  const path = rawPath === '' ? '/' : rawPath;
  if (service === 's3') {
    return path
      .split('/')
      .map((segment) => uriEncodeBytes(percentDecodeBytes(segment)))
      .join('/');
  }
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  const normalized = `/${segments.join('/')}${trailing}`;
  return uriEncode(normalized).replace(/%2F/g, '/');
}

/** One `name=value` pair of a query string, decoded to bytes and re-encoded the SigV4 way. */
interface QueryPair {
  readonly key: string;
  readonly value: string;
}

function canonicalQueryPairs(rawQuery: string): QueryPair[] {
  const pairs: QueryPair[] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push({
      key: uriEncodeBytes(percentDecodeBytes(rawKey)),
      value: uriEncodeBytes(percentDecodeBytes(rawValue)),
    });
  }
  return pairs;
}

/**
 * The canonical query string: every parameter decoded and re-encoded with
 * RFC 3986 rules, sorted by name then value (byte order), `X-Amz-Signature`
 * left out; a parameter without `=` gets an empty value.
 */
export function canonicalQueryString(rawQuery: string): string {
  return canonicalQueryPairs(rawQuery)
    .filter((pair) => pair.key.toLowerCase() !== 'x-amz-signature')
    .map((pair) => `${pair.key}=${pair.value}`)
    .sort((a, b) => {
      const ka = a.slice(0, a.indexOf('='));
      const kb = b.slice(0, b.indexOf('='));
      if (ka !== kb) return ka < kb ? -1 : 1;
      return a < b ? -1 : a > b ? 1 : 0;
    })
    .join('&');
}

/** Header values as a request carries them: one string, or one per repeated header. */
export type HeaderValues = Readonly<Record<string, string | readonly string[] | undefined>>;

/** A header's value for the canonical request: each value trimmed, runs of spaces collapsed, repeats joined with `,`. */
export function canonicalHeaderValue(value: string | readonly string[] | undefined): string {
  const values = value === undefined ? [] : typeof value === 'string' ? [value] : value;
  return values
    .map((v) =>
      v
        .replace(/[\r\n]+/g, ' ')
        .replace(/[ \t]+/g, ' ')
        .trim(),
    )
    .join(',');
}

/** A header's value by its lower-case name, whatever the case of the key it is stored under. */
export function headerLookup(
  headers: HeaderValues,
  name: string,
): string | readonly string[] | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/** What the canonical request is built from. */
export interface CanonicalRequestParts {
  readonly method: string;
  /** The path as it travels on the wire (percent-encoded). */
  readonly rawPath: string;
  /** The query string without `?`, as it travels on the wire. */
  readonly rawQuery: string;
  readonly headers: HeaderValues;
  /** The `SignedHeaders` list, e.g. `host;x-amz-date`. */
  readonly signedHeaders: string;
  readonly payloadHash: string;
  readonly service: string;
}

/** The canonical request, as AWS spells it in a signature-mismatch message. */
export function canonicalRequest(parts: CanonicalRequestParts): string {
  const names = parts.signedHeaders === '' ? [] : parts.signedHeaders.split(';');
  const headerLines = names.map(
    (name) => `${name}:${canonicalHeaderValue(headerLookup(parts.headers, name))}\n`,
  );
  return [
    parts.method.toUpperCase(),
    canonicalUri(parts.rawPath, parts.service),
    canonicalQueryString(parts.rawQuery),
    headerLines.join(''),
    parts.signedHeaders,
    parts.payloadHash,
  ].join('\n');
}

/** SHA-256 as lower-case hex, the form SigV4 uses for payload and canonical-request hashes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** HMAC-SHA256 of UTF-8 text; the step of both the key derivation and the signature. */
export function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** The key that signs requests of one day, region and service. */
export function signingKey(
  secretAccessKey: string,
  date: string,
  region: string,
  service: string,
): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request');
}

/** The string the derived key signs: algorithm, timestamp, scope and the canonical request's hash. */
export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
}

/** `20260128T100000Z`, the SigV4 timestamp. */
export function formatAmzDate(time: Date | number): string {
  return new Date(time)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Parses `YYYYMMDDTHHMMSSZ`; undefined when it is not that. */
export function parseAmzDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const time = Date.UTC(y, mo - 1, d, h, mi, s);
  return formatAmzDate(time) === text ? time : undefined;
}

// ------------------------------------------------------------ signing

/** A request to sign with `signRequest` (or, less `unsignedPayload`, `presignUrl`). */
export interface SignRequestInput {
  readonly method: string;
  /** The full URL; its path and query are signed as they will travel (WHATWG-encoded). */
  readonly url: string | URL;
  /** Headers the request will carry; all of them are signed except hop-by-hop ones and `user-agent`. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  readonly credentials: SigV4Credentials;
  readonly region: string;
  readonly service: string;
  /** @default - the current time */
  readonly now?: Date | number;
  /**
   * Signs `UNSIGNED-PAYLOAD` instead of the body's hash (and sends it as
   * `x-amz-content-sha256`).
   * @default false
   */
  readonly unsignedPayload?: boolean;
}

/**
 * Signs a request; returns the headers to add to it: `authorization`,
 * `x-amz-date`, `x-amz-security-token` when the credentials have one, and
 * `x-amz-content-sha256` for S3 or an unsigned payload (other services
 * neither need nor expect it).
 */
export function signRequest(input: SignRequestInput): Record<string, string> {
  const url = typeof input.url === 'string' ? new URL(input.url) : input.url;
  const amzDate = formatAmzDate(input.now ?? Date.now());
  const date = amzDate.slice(0, 8);
  const body = input.body ?? '';
  const payloadHash = input.unsignedPayload ? UNSIGNED_PAYLOAD : sha256Hex(body);

  const added: Record<string, string> = { 'x-amz-date': amzDate };
  if (input.credentials.sessionToken !== undefined) {
    added['x-amz-security-token'] = input.credentials.sessionToken;
  }
  if (input.unsignedPayload || input.service === 's3') added['x-amz-content-sha256'] = payloadHash;

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    const lower = name.toLowerCase();
    if (UNSIGNABLE_HEADERS.has(lower) || lower === 'x-amz-date') continue;
    headers[lower] = value;
  }
  Object.assign(headers, added);
  if (headers.host === undefined) headers.host = url.host;

  const signedHeaders = Object.keys(headers).sort().join(';');
  const scope = `${date}/${input.region}/${input.service}/aws4_request`;
  const canonical = canonicalRequest({
    method: input.method,
    rawPath: url.pathname,
    rawQuery: url.search.slice(1),
    headers,
    signedHeaders,
    payloadHash,
    service: input.service,
  });
  const key = signingKey(input.credentials.secretAccessKey, date, input.region, input.service);
  const signature = hmac(key, stringToSign(amzDate, scope, canonical)).toString('hex');
  return {
    ...added,
    authorization: `${ALGORITHM} Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

/** A request to presign with `presignUrl`. */
export interface PresignUrlInput extends Omit<SignRequestInput, 'unsignedPayload'> {
  /**
   * Seconds the URL stays valid, 1 to 604800.
   * @default 900
   */
  readonly expiresIn?: number;
}

/** A URL with the signature in its query string (`X-Amz-Algorithm`, `X-Amz-Signature`, ...); only `host` and given headers are signed. */
export function presignUrl(input: PresignUrlInput): string {
  const url = new URL(typeof input.url === 'string' ? input.url : input.url.href);
  const amzDate = formatAmzDate(input.now ?? Date.now());
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${input.region}/${input.service}/aws4_request`;
  const expires = input.expiresIn ?? 900;
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_SECONDS) {
    throw new RangeError(`expiresIn must be an integer from 1 to ${MAX_PRESIGN_SECONDS}`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    const lower = name.toLowerCase();
    if (!UNSIGNABLE_HEADERS.has(lower)) headers[lower] = value;
  }
  if (headers.host === undefined) headers.host = url.host;
  const signedHeaders = Object.keys(headers).sort().join(';');

  const params: Array<[string, string]> = [
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${input.credentials.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(expires)],
    ['X-Amz-SignedHeaders', signedHeaders],
  ];
  if (input.credentials.sessionToken !== undefined) {
    params.push(['X-Amz-Security-Token', input.credentials.sessionToken]);
  }
  const extra = params.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
  const rawQuery = url.search.length > 1 ? `${url.search.slice(1)}&${extra}` : extra;

  const canonical = canonicalRequest({
    method: input.method,
    rawPath: url.pathname,
    rawQuery,
    headers,
    signedHeaders,
    payloadHash: sha256Hex(input.body ?? ''),
    service: input.service,
  });
  const key = signingKey(input.credentials.secretAccessKey, date, input.region, input.service);
  const signature = hmac(key, stringToSign(amzDate, scope, canonical)).toString('hex');
  url.search = `?${rawQuery}&X-Amz-Signature=${signature}`;
  return url.href;
}
