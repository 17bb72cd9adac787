/**
 * What a request claims about its SigV4 signature, read as AWS reads it: the
 * Authorization header, or the presigned query (`X-Amz-*`). A malformed claim
 * fails with AWS's own error code and message text. The signature itself is
 * checked in `sigv4.ts`.
 */

/** The longest `X-Amz-Expires` AWS accepts on a presigned URL (7 days). */
export const MAX_PRESIGN_SECONDS = 604_800;

/** Header values as a request carries them: one string, or one per repeated header. */
export type HeaderValues = Readonly<Record<string, string | readonly string[] | undefined>>;

/** AWS's exception names, as sent in `x-amzn-ErrorType`. */
export type SigV4ErrorCode =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'UnrecognizedClientException';

/** A refused request, as AWS answers it. */
export interface SigV4Failure {
  readonly ok: false;
  readonly status: 403;
  readonly code: SigV4ErrorCode;
  /**
   * AWS's message text. For a request with no signature at all this is
   * `Missing Authentication Token`; API Gateway HTTP APIs answer that case
   * with `Forbidden` instead, which is the caller's to choose.
   */
  readonly message: string;
}

export function fail(code: SigV4ErrorCode, message: string): SigV4Failure {
  return { ok: false, status: 403, code, message };
}

/** What a signature claims, wherever it was carried (header or query). */
export interface SignatureClaim {
  /** The algorithm named, e.g. `AWS4-HMAC-SHA256`. */
  readonly algorithm: string;
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
 * The claim of a request: its Authorization header, else its presigned query
 * (`query` holds the first value of each decoded parameter).
 */
export function readClaim(
  headers: HeaderValues,
  query: ReadonlyMap<string, string>,
): SignatureClaim | SigV4Failure {
  const authorization = firstValue(headerLookup(headers, 'authorization'));
  if (authorization !== undefined) return parseAuthorizationHeader(authorization, headers);
  if (query.has('X-Amz-Algorithm')) return parsePresignedQuery(query);
  return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
}

function parseAuthorizationHeader(
  authorization: string,
  headers: HeaderValues,
): SignatureClaim | SigV4Failure {
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
    algorithm: trimmed.split(/\s+/, 1)[0] ?? '',
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

function parsePresignedQuery(query: ReadonlyMap<string, string>): SignatureClaim | SigV4Failure {
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
    algorithm: query.get('X-Amz-Algorithm') ?? '',
    credential: query.get('X-Amz-Credential') ?? '',
    signedHeaders: query.get('X-Amz-SignedHeaders') ?? '',
    signature: query.get('X-Amz-Signature') ?? '',
    amzDate: query.get('X-Amz-Date') ?? '',
    expires,
    sessionToken: query.get('X-Amz-Security-Token'),
    presigned: true,
  };
}

/** A header's value by its lower-case name, whatever the case of the key it is stored under. */
export function headerLookup(
  headers: HeaderValues,
  name: string,
): string | readonly string[] | undefined {
  // Own properties only: `constructor`, say, is a header name, not the prototype's member.
  const direct = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

export function firstValue(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/** `20260128T100000Z`, the SigV4 timestamp, for messages. */
export function formatAmzDate(time: number): string {
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
