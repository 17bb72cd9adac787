/**
 * AWS Signature Version 4, both sides: `signRequest`/`presignUrl` for clients
 * (the test suite, a CLI) and `verifyRequest` for the local cloud's endpoints.
 * Both sides build the canonical request with the same functions, so what one
 * signs the other accepts, and both match the AWS SDK and curl.
 *
 * Verification follows the order in which AWS checks a request, and fails
 * with AWS's own error codes and message texts, so that a client's error
 * handling sees what it would see in AWS.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { CredentialStore, LocalCredential } from './contracts';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** SHA-256 of the empty string. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/**
 * How far a request's date may be from the server's clock, either way, in
 * minutes: 5 for most services (API Gateway among them), 15 for some
 * (DynamoDB).
 */
export const DEFAULT_MAX_SKEW_MINUTES = 5;
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

function headerLookup(headers: HeaderValues, name: string): string | readonly string[] | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

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

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
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

// ------------------------------------------------------------ verification

/** The request as the server received it. */
export interface VerifiableRequest {
  readonly method: string;
  /** The path as received, still percent-encoded. */
  readonly rawPath: string;
  /** The query string as received, without `?`. */
  readonly rawQuery: string;
  /** Header names lower-cased; a repeated header as an array of its values. */
  readonly headers: HeaderValues;
  readonly body: string | Uint8Array;
  /** @default - the current time */
  readonly now?: Date | number;
}

export interface VerifyOptions {
  /** The region the credential scope must name. @default - any region */
  readonly region?: string;
  /** The service the credential scope must name. @default - any service */
  readonly service?: string;
  /** Allowed clock skew, either way. @default 5 */
  readonly maxSkewMinutes?: number;
}

/** AWS's exception names, as sent in `x-amzn-ErrorType`. */
export type SigV4ErrorCode =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'UnrecognizedClientException';

export type VerifyResult =
  | {
      readonly ok: true;
      readonly credential: LocalCredential;
      readonly service: string;
      readonly region: string;
    }
  | {
      readonly ok: false;
      readonly status: 403;
      readonly code: SigV4ErrorCode;
      /**
       * AWS's message text. For a request with no signature at all this is
       * `Missing Authentication Token`; API Gateway HTTP APIs answer that case
       * with `Forbidden` instead, which is the caller's to choose.
       */
      readonly message: string;
    };

type Failure = Extract<VerifyResult, { ok: false }>;

function fail(code: SigV4ErrorCode, message: string): Failure {
  return { ok: false, status: 403, code, message };
}

/** What a signature claims, wherever it was carried (header or query). */
interface SignatureClaim {
  readonly credential: string;
  readonly signedHeaders: string;
  readonly signature: string;
  readonly amzDate: string;
  /** Presigned URLs only. */
  readonly expires?: number;
  readonly sessionToken?: string;
  readonly presigned: boolean;
}

/**
 * Checks a SigV4 signature against the local credentials, in the order AWS
 * checks: form of the signature, date and clock skew, `host` signed,
 * algorithm, credential scope, access key, signature, session token.
 */
export function verifyRequest(
  request: VerifiableRequest,
  credentials: CredentialStore,
  options: VerifyOptions = {},
): VerifyResult {
  const now = new Date(request.now ?? Date.now()).getTime();
  const authorization = firstValue(headerLookup(request.headers, 'authorization'));
  const query = queryParams(request.rawQuery);

  let parsed: SignatureClaim | Failure;
  let algorithm: string;
  if (authorization !== undefined) {
    algorithm = authorization.trim().split(/\s+/, 1)[0] ?? '';
    parsed = parseAuthorizationHeader(authorization, request.headers);
  } else if (query.has('X-Amz-Algorithm')) {
    algorithm = query.get('X-Amz-Algorithm') ?? '';
    parsed = parsePresignedQuery(query);
  } else {
    return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  if ('ok' in parsed) return parsed;
  const claim = parsed;

  const signedAt = parseAmzDate(claim.amzDate);
  if (signedAt === undefined) {
    return fail(
      'IncompleteSignatureException',
      `Date must be in ISO-8601 'basic format'. Got '${claim.amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`,
    );
  }
  const skewMinutes = options.maxSkewMinutes ?? DEFAULT_MAX_SKEW_MINUTES;
  const maxSkewMs = skewMinutes * 60_000;
  if (signedAt > now + maxSkewMs) {
    return fail(
      'InvalidSignatureException',
      `Signature not yet current: ${claim.amzDate} is still later than ${formatAmzDate(now + maxSkewMs)} (${formatAmzDate(now)} + ${skewMinutes} min.)`,
    );
  }
  if (claim.presigned) {
    const expires = claim.expires ?? 0;
    if (signedAt + expires * 1000 < now) {
      return fail(
        'InvalidSignatureException',
        `Signature expired: ${claim.amzDate} is now earlier than ${formatAmzDate(now - expires * 1000)} (${formatAmzDate(now)} - ${expires} sec.)`,
      );
    }
  } else if (signedAt < now - maxSkewMs) {
    return fail(
      'InvalidSignatureException',
      `Signature expired: ${claim.amzDate} is now earlier than ${formatAmzDate(now - maxSkewMs)} (${formatAmzDate(now)} - ${skewMinutes} min.)`,
    );
  }

  const signedNames = claim.signedHeaders.split(';').map((name) => name.trim().toLowerCase());
  if (!signedNames.includes('host')) {
    return fail(
      'InvalidSignatureException',
      "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }
  if (algorithm !== ALGORITHM) {
    return fail(
      'IncompleteSignatureException',
      `Unsupported AWS 'algorithm': '${algorithm}' (only ${ALGORITHM} for now). `,
    );
  }

  const scopeParts = claim.credential.replace(/\/+$/, '').split('/');
  if (scopeParts.length !== 5) {
    return fail(
      'IncompleteSignatureException',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${claim.credential}'`,
    );
  }
  const [accessKeyId, scopeDate, region, service, terminator] = scopeParts as [
    string,
    string,
    string,
    string,
    string,
  ];
  let scopeErrors = '';
  if (options.region !== undefined && region !== options.region) {
    scopeErrors += `Credential should be scoped to a valid region, not '${region}'. `;
  }
  if (options.service !== undefined && service !== options.service) {
    scopeErrors += `Credential should be scoped to correct service: '${options.service}'. `;
  }
  if (terminator !== 'aws4_request') {
    scopeErrors += `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'. `;
  }
  if (scopeDate !== claim.amzDate.slice(0, 8)) {
    scopeErrors += `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${claim.amzDate.slice(0, 8)}', from '${claim.amzDate}'.`;
  }
  if (scopeErrors !== '') return fail('InvalidSignatureException', scopeErrors);

  const credential = credentials.lookup(accessKeyId);
  if (credential === undefined) {
    return fail(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  }

  const canonical = canonicalRequest({
    method: request.method,
    rawPath: request.rawPath,
    rawQuery: request.rawQuery,
    headers: request.headers,
    signedHeaders: claim.signedHeaders,
    payloadHash: payloadHashOf(request, query),
    service,
  });
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const toSign = stringToSign(claim.amzDate, scope, canonical);
  const expected = hmac(signingKey(credential.secretAccessKey, scopeDate, region, service), toSign);
  if (!sameSignature(expected, claim.signature)) {
    return fail(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.' +
        `\n\nThe Canonical String for this request should have been\n'${canonical}'\n\n` +
        `The String-to-Sign should have been\n'${toSign}'\n`,
    );
  }

  if (credential.sessionToken !== claim.sessionToken) {
    return fail(
      'UnrecognizedClientException',
      'The security token included in the request is invalid',
    );
  }
  return { ok: true, credential, service, region };
}

function sameSignature(expected: Buffer, given: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

function firstValue(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/** The body's hash as the canonical request takes it: declared `UNSIGNED-PAYLOAD`, or the real body's hash. */
function payloadHashOf(request: VerifiableRequest, query: Map<string, string>): string {
  const declared =
    firstValue(headerLookup(request.headers, 'x-amz-content-sha256')) ??
    query.get('X-Amz-Content-Sha256');
  if (declared === UNSIGNED_PAYLOAD) return UNSIGNED_PAYLOAD;
  // A declared hash is not trusted: the body's own hash is signed, so a
  // declared one that does not match it fails as a signature mismatch.
  return sha256Hex(request.body);
}

/** Decoded query parameters, first value of each (for the `X-Amz-*` ones). */
function queryParams(rawQuery: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = percentDecodeBytes(eq < 0 ? part : part.slice(0, eq)).toString('utf8');
    const value = percentDecodeBytes(eq < 0 ? '' : part.slice(eq + 1)).toString('utf8');
    if (!params.has(key)) params.set(key, value);
  }
  return params;
}

function parseAuthorizationHeader(
  authorization: string,
  headers: HeaderValues,
): SignatureClaim | Failure {
  const trimmed = authorization.trim();
  const space = trimmed.search(/\s/);
  const rest = space < 0 ? '' : trimmed.slice(space + 1);
  const params = new Map<string, string>();
  const isAws4 = trimmed.startsWith('AWS4-');
  for (const piece of rest.split(',')) {
    const item = piece.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) {
      if (isAws4) {
        return fail(
          'IncompleteSignatureException',
          `'${item}' not a valid key=value pair (missing equal-sign) in Authorization header: '${authorization}'.`,
        );
      }
      continue;
    }
    params.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
  }
  const amzDate = firstValue(headerLookup(headers, 'x-amz-date')) ?? dateHeaderAsAmz(headers);
  let missing = '';
  for (const name of ['Credential', 'Signature', 'SignedHeaders']) {
    if (!params.get(name)) missing += `Authorization header requires '${name}' parameter. `;
  }
  if (amzDate === undefined) {
    missing +=
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (missing !== '') {
    return fail('IncompleteSignatureException', `${missing}Authorization=${authorization}`);
  }
  return {
    credential: params.get('Credential') ?? '',
    signedHeaders: params.get('SignedHeaders') ?? '',
    signature: params.get('Signature') ?? '',
    amzDate: amzDate ?? '',
    sessionToken: firstValue(headerLookup(headers, 'x-amz-security-token')),
    presigned: false,
  };
}

/** A `Date` header (HTTP date) in SigV4's basic format, or as given when it is not a date. */
function dateHeaderAsAmz(headers: HeaderValues): string | undefined {
  const date = firstValue(headerLookup(headers, 'date'));
  if (date === undefined) return undefined;
  if (parseAmzDate(date) !== undefined) return date;
  const time = Date.parse(date);
  return Number.isNaN(time) ? date : formatAmzDate(time);
}

const PRESIGN_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Signature',
  'X-Amz-Date',
  'X-Amz-SignedHeaders',
  'X-Amz-Expires',
] as const;

function parsePresignedQuery(query: Map<string, string>): SignatureClaim | Failure {
  const missing = PRESIGN_PARAMS.filter((name) => !query.get(name));
  if (missing.length > 0) {
    return fail(
      'IncompleteSignatureException',
      `${missing.map((name) => `AWS query-string parameters must include '${name}'. `).join('')}Re-examine the query-string parameters.`,
    );
  }
  const expiresText = query.get('X-Amz-Expires') ?? '';
  const expires = Number(expiresText);
  if (!/^\d+$/.test(expiresText) || expires < 1 || expires > MAX_PRESIGN_SECONDS) {
    return fail(
      'IncompleteSignatureException',
      `X-Amz-Expires must be a number of seconds from 1 to ${MAX_PRESIGN_SECONDS}, got '${expiresText}'.`,
    );
  }
  return {
    credential: query.get('X-Amz-Credential') ?? '',
    signedHeaders: query.get('X-Amz-SignedHeaders') ?? '',
    signature: query.get('X-Amz-Signature') ?? '',
    amzDate: query.get('X-Amz-Date') ?? '',
    expires,
    sessionToken: query.get('X-Amz-Security-Token'),
    presigned: true,
  };
}
