/**
 * AWS Signature Version 4, the server half: `verifyRequest` for the local
 * cloud's endpoints. The signature is recomputed with `@smithy/signature-v4`,
 * the signer the AWS SDK uses: its canonical request, string to sign and
 * derived key, over the request as received with exactly the headers the
 * signature names. (Clients sign with the same library; this module has no
 * client half.)
 *
 * What the library does not do is a server's part: reading the claim
 * (`sigv4-claim.ts`) and checking it in the order AWS does, failing with AWS's
 * own error codes and message texts, so that a client's error handling sees
 * what it would see in AWS.
 */
import { timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { escapeUri } from '@smithy/core/protocols';
import {
  ALGORITHM_IDENTIFIER,
  getCanonicalHeaders,
  getPayloadHash,
  SignatureV4,
  UNSIGNED_PAYLOAD,
} from '@smithy/signature-v4';
import type { CredentialStore, LocalCredential } from './contracts';
import { parseQuery, type QueryParams } from './percent-decode';
import {
  fail,
  firstValue,
  formatAmzDate,
  type HeaderValues,
  headerLookup,
  parseAmzDate,
  readClaim,
  type SignatureClaim,
  type SigV4Failure,
} from './sigv4-claim';

export type { HeaderValues, SigV4ErrorCode } from './sigv4-claim';

/**
 * How far a request's date may be from the server's clock, either way, in
 * minutes: 5 for most services (API Gateway among them), 15 for some
 * (DynamoDB).
 */
export const DEFAULT_MAX_SKEW_MINUTES = 5;

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

export type VerifyResult =
  | {
      readonly ok: true;
      readonly credential: LocalCredential;
      readonly service: string;
      readonly region: string;
    }
  | SigV4Failure;

/** The credential scope: `AKID/20261128/eu-west-1/execute-api/aws4_request`. */
interface Scope {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
}

/**
 * Checks a SigV4 signature against the local credentials, in the order AWS
 * checks: form of the signature, date and clock skew, `host` signed,
 * algorithm, credential scope, access key, signature, session token.
 */
export async function verifyRequest(
  request: VerifiableRequest,
  credentials: CredentialStore,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const query = parseQuery(request.rawQuery);
  const claim = readClaim(request.headers, firstValues(query));
  if ('ok' in claim) return claim;

  const signedAt = checkTime(claim, new Date(request.now ?? Date.now()).getTime(), options);
  if (typeof signedAt !== 'number') return signedAt;

  const signedNames = claim.signedHeaders.split(';').map((name) => name.trim().toLowerCase());
  if (!signedNames.includes('host')) {
    return fail(
      'InvalidSignatureException',
      "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }
  if (claim.algorithm !== ALGORITHM_IDENTIFIER) {
    return fail(
      'IncompleteSignatureException',
      `Unsupported AWS 'algorithm': '${claim.algorithm}' (only ${ALGORITHM_IDENTIFIER} for now). `,
    );
  }

  const scope = readScope(claim, options);
  if ('ok' in scope) return scope;
  const credential = credentials.lookup(scope.accessKeyId);
  if (credential === undefined) {
    return fail(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  }

  const expected = await recompute(request, query, signedNames, claim, signedAt, scope, credential);
  if (!sameSignature(expected.signature, claim.signature)) {
    return fail(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.' +
        `\n\nThe Canonical String for this request should have been\n'${expected.canonical}'\n\n` +
        `The String-to-Sign should have been\n'${expected.toSign}'\n`,
    );
  }

  if (credential.sessionToken !== claim.sessionToken) {
    return fail(
      'UnrecognizedClientException',
      'The security token included in the request is invalid',
    );
  }
  return { ok: true, credential, service: scope.service, region: scope.region };
}

/** The signing time, if it is well formed and within the skew (or, presigned, not expired). */
function checkTime(
  claim: SignatureClaim,
  now: number,
  options: VerifyOptions,
): number | SigV4Failure {
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
  return signedAt;
}

/** The credential scope, checked against the expected region and service and the signing date. */
function readScope(claim: SignatureClaim, options: VerifyOptions): Scope | SigV4Failure {
  const parts = claim.credential.replace(/\/+$/, '').split('/');
  if (parts.length !== 5) {
    return fail(
      'IncompleteSignatureException',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${claim.credential}'`,
    );
  }
  const [accessKeyId, date, region, service, terminator] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  let errors = '';
  if (options.region !== undefined && region !== options.region) {
    errors += `Credential should be scoped to a valid region, not '${region}'. `;
  }
  if (options.service !== undefined && service !== options.service) {
    errors += `Credential should be scoped to correct service: '${options.service}'. `;
  }
  if (terminator !== 'aws4_request') {
    errors += `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'. `;
  }
  if (date !== claim.amzDate.slice(0, 8)) {
    errors += `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${claim.amzDate.slice(0, 8)}', from '${claim.amzDate}'.`;
  }
  if (errors !== '') return fail('InvalidSignatureException', errors);
  return { accessKeyId, date, region, service };
}

/**
 * The signature the request should carry, recomputed by the SDK's signer with
 * the secret of the claimed key, at the claimed time, over the request as
 * received with the headers the claim lists; with the canonical request and
 * string to sign it was computed from.
 */
async function recompute(
  request: VerifiableRequest,
  query: QueryParams,
  signedNames: readonly string[],
  claim: SignatureClaim,
  signedAt: number,
  scope: Scope,
  credential: LocalCredential,
): Promise<{ canonical: string; toSign: string; signature: string }> {
  const received = {
    method: request.method,
    protocol: 'https:',
    hostname: '',
    path: request.rawPath || '/',
    query,
    headers: signedHeaderValues(request.headers, signedNames),
    body: request.body,
  };
  // The query's presign parameters are the claim's only on a presigned request;
  // on a header-signed one they are ordinary parameters, signed like any other.
  const declared = claim.presigned
    ? firstValue(query['X-Amz-Content-Sha256'])
    : firstValue(headerLookup(request.headers, 'x-amz-content-sha256'));
  // A declared hash is not trusted: the body's own hash is signed, so a declared
  // one that does not match it fails as a signature mismatch. UNSIGNED-PAYLOAD is honoured.
  const payloadHash =
    declared === UNSIGNED_PAYLOAD
      ? UNSIGNED_PAYLOAD
      : await getPayloadHash({ ...received, headers: {} }, Sha256);
  const signer = new VerifyingSigner(credential, scope);
  const canonical = signer.canonicalRequest(
    received,
    canonicalQuery(query, claim.presigned),
    // Every listed name is kept, even those the SDK never signs itself (`user-agent`, `sec-*`).
    getCanonicalHeaders(received, undefined, new Set(Object.keys(received.headers))),
    payloadHash,
  );
  const toSign = await signer.stringToSign(claim.amzDate, canonical);
  const signature = await signer.sign(toSign, {
    signingDate: new Date(signedAt),
    signingRegion: scope.region,
    signingService: scope.service,
  });
  return { canonical, toSign, signature };
}

/**
 * The SDK's signer over one local credential, with the two steps it keeps to
 * itself made callable: the verifier needs the canonical request and the
 * string to sign as texts, for AWS's mismatch message. (The derived key is
 * the library's too, cached by it per credential, day, region and service.)
 */
class VerifyingSigner extends SignatureV4 {
  readonly #scope: string;

  constructor(credential: LocalCredential, scope: Scope) {
    // No session token here: the token is checked after the signature, as AWS does,
    // and the request's own `x-amz-security-token`, when signed, is among its headers.
    super({
      credentials: {
        accessKeyId: credential.accessKeyId,
        secretAccessKey: credential.secretAccessKey,
      },
      region: scope.region,
      service: scope.service,
      sha256: Sha256,
      // S3 signs its path as sent; every other service encodes it again.
      uriEscapePath: scope.service !== 's3',
    });
    this.#scope = `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
  }

  /**
   * The library's canonical request with `canonicalQuery` as its query line:
   * the library's own query line leaves out any `x-amz-signature` parameter,
   * in any case, which a server may do only for a presigned request's own
   * `X-Amz-Signature`.
   */
  canonicalRequest(
    request: Parameters<SignatureV4['createCanonicalRequest']>[0],
    canonicalQuery: string,
    canonicalHeaders: Parameters<SignatureV4['createCanonicalRequest']>[1],
    payloadHash: string,
  ): string {
    const lines = this.createCanonicalRequest(
      { ...request, query: {} },
      canonicalHeaders,
      payloadHash,
    ).split('\n');
    // Method, path, query, ...: neither the method nor the escaped path holds a line break.
    lines[2] = canonicalQuery;
    return lines.join('\n');
  }

  stringToSign(amzDate: string, canonical: string): Promise<string> {
    return this.createStringToSign(amzDate, this.#scope, canonical, ALGORITHM_IDENTIFIER);
  }
}

/** `X-Amz-Signature`, exactly so: the parameter a presigned URL carries its signature in. */
const PRESIGN_SIGNATURE = 'X-Amz-Signature';

/**
 * SigV4's canonical query: names and values URI-escaped, sorted by name, then
 * by value. Every parameter is signed except, on a presigned request, its own
 * `X-Amz-Signature`; on a header-signed request, a parameter of that name (in
 * any case) is one like any other, as it is to AWS.
 */
export function canonicalQuery(query: QueryParams, presigned: boolean): string {
  const byName: [name: string, pairs: string][] = [];
  for (const [name, value] of Object.entries(query)) {
    if (presigned && name === PRESIGN_SIGNATURE) continue;
    const key = escapeUri(name);
    const values = typeof value === 'string' ? [value] : value;
    byName.push([
      key,
      values
        .map((v) => `${key}=${escapeUri(v)}`)
        .sort()
        .join('&'),
    ]);
  }
  // Escaped names are ASCII, and distinct: code-unit order is byte order.
  return byName
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, pairs]) => pairs)
    .join('&');
}

/**
 * The headers the signature lists, and only those (an absent one empty), a
 * repeated header's values each trimmed and joined with commas; the library
 * collapses the spaces.
 */
function signedHeaderValues(
  headers: HeaderValues,
  signedNames: readonly string[],
): Record<string, string> {
  // No prototype: a signed header named `__proto__` is a name like any other.
  const values: Record<string, string> = Object.create(null);
  for (const name of signedNames) {
    if (name === '') continue;
    const value = headerLookup(headers, name);
    values[name] =
      value === undefined
        ? ''
        : typeof value === 'string'
          ? value
          : value.map((v) => v.trim()).join(',');
  }
  return values;
}

function sameSignature(expected: string, given: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given, 'hex'));
}

/** The first value of each query parameter (for the `X-Amz-*` ones). */
function firstValues(query: QueryParams): Map<string, string> {
  const params = new Map<string, string>();
  for (const [name, value] of Object.entries(query)) params.set(name, firstValue(value) ?? '');
  return params;
}
