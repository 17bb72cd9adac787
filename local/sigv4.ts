/**
 * AWS Signature Version 4, the server half: `verifyRequest` for the local
 * cloud's endpoints. The client half (`signRequest`, `presignUrl` and the
 * canonical-request helpers) lives in `functions/shared/sigv4.ts`, which
 * Lambda functions bundle; it is re-exported here so that importers of this
 * module keep one place to import SigV4 from. Both halves build the canonical
 * request with the same functions, so what one signs the other accepts.
 *
 * Verification follows the order in which AWS checks a request, and fails
 * with AWS's own error codes and message texts, so that a client's error
 * handling sees what it would see in AWS.
 */
import { timingSafeEqual } from 'node:crypto';
import {
  ALGORITHM,
  canonicalRequest,
  formatAmzDate,
  type HeaderValues,
  headerLookup,
  hmac,
  MAX_PRESIGN_SECONDS,
  parseAmzDate,
  percentDecodeBytes,
  sha256Hex,
  signingKey,
  stringToSign,
  UNSIGNED_PAYLOAD,
} from '../functions/shared/sigv4';
import type { CredentialStore, LocalCredential } from './contracts';

export {
  ALGORITHM,
  type CanonicalRequestParts,
  canonicalHeaderValue,
  canonicalQueryString,
  canonicalRequest,
  canonicalUri,
  EMPTY_SHA256,
  formatAmzDate,
  type HeaderValues,
  MAX_PRESIGN_SECONDS,
  type PresignUrlInput,
  parseAmzDate,
  percentDecodeBytes,
  presignUrl,
  type SignRequestInput,
  type SigV4Credentials,
  sha256Hex,
  signingKey,
  signRequest,
  stringToSign,
  UNSIGNED_PAYLOAD,
  uriEncode,
  uriEncodeBytes,
} from '../functions/shared/sigv4';

/**
 * How far a request's date may be from the server's clock, either way, in
 * minutes: 5 for most services (API Gateway among them), 15 for some
 * (DynamoDB).
 */
export const DEFAULT_MAX_SKEW_MINUTES = 5;

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
  const expected = hmac(
    cachedSigningKey(credential.secretAccessKey, scopeDate, region, service),
    toSign,
  );
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

/**
 * Signing keys by secret and scope: a key is four HMACs to derive and stays the
 * same for a day, and the local cloud verifies thousands of requests a second
 * from a handful of credentials. (AWS caches them too.)
 */
const signingKeys = new Map<string, Buffer>();
const MAX_SIGNING_KEYS = 1024;

function cachedSigningKey(
  secretAccessKey: string,
  scopeDate: string,
  region: string,
  service: string,
): Buffer {
  const id = `${scopeDate}/${region}/${service}/${secretAccessKey}`;
  let key = signingKeys.get(id);
  if (!key) {
    key = signingKey(secretAccessKey, scopeDate, region, service);
    if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear();
    signingKeys.set(id, key);
  }
  return key;
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
