/**
 * The Lambda event of an HTTP API route with payload format 2.0, built the
 * way API Gateway builds it: lower-case headers with repeats joined by
 * commas, cookies split out of the `cookie` header, repeated query
 * parameters joined by commas, empty collections left out, and the body
 * base64-encoded unless its content type is text.
 */
import type { Caller } from '../contracts';

export interface IamAuthorizerContext {
  readonly accessKey: string;
  readonly accountId: string;
  readonly callerId: string;
  readonly cognitoIdentity: null;
  readonly principalOrgId: null;
  readonly userArn: string;
  readonly userId: string;
}

export interface HttpApiEventV2 {
  readonly version: '2.0';
  readonly routeKey: string;
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly cookies?: string[];
  readonly headers: Record<string, string>;
  readonly queryStringParameters?: Record<string, string>;
  readonly pathParameters?: Record<string, string>;
  readonly requestContext: {
    readonly accountId: string;
    readonly apiId: string;
    readonly authorizer?: { readonly iam: IamAuthorizerContext };
    readonly domainName: string;
    readonly domainPrefix: string;
    readonly http: {
      readonly method: string;
      readonly path: string;
      readonly protocol: string;
      readonly sourceIp: string;
      readonly userAgent: string;
    };
    readonly requestId: string;
    readonly routeKey: string;
    readonly stage: string;
    readonly time: string;
    readonly timeEpoch: number;
  };
  readonly body?: string;
  readonly isBase64Encoded: boolean;
  readonly stageVariables?: Record<string, string>;
}

/**
 * Media types API Gateway passes as text. Checked against AWS: everything
 * else, a missing type and `application/x-www-form-urlencoded` included, is
 * base64-encoded.
 */
const TEXT_MEDIA_TYPES = new Set(['application/json', 'application/xml', 'application/javascript']);

export function isTextContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return mediaType.startsWith('text/') || TEXT_MEDIA_TYPES.has(mediaType);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `28/Nov/2026:10:00:00 +0000`, the CLF time API Gateway uses in events and logs. */
export function clfTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
  );
}

/** Splits `cookie` headers into the event's `cookies` list. */
export function splitCookies(values: readonly string[]): string[] {
  return values
    .join('; ')
    .split(';')
    .map((cookie) => cookie.trim())
    .filter((cookie) => cookie !== '');
}

/**
 * Decoded query parameters, repeated names joined with commas; `undefined`
 * when there are none. Every name is kept as an own property, `__proto__`
 * included, as AWS passes it on.
 */
export function queryStringParameters(rawQuery: string): Record<string, string> | undefined {
  const params = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeQueryComponent(eq < 0 ? part : part.slice(0, eq));
    const value = decodeQueryComponent(eq < 0 ? '' : part.slice(eq + 1));
    const seen = params.get(key);
    params.set(key, seen === undefined ? value : `${seen},${value}`);
  }
  return params.size > 0 ? Object.fromEntries(params) : undefined;
}

/** Percent-decodes; a malformed escape is kept as it is rather than failing the request. */
function decodeQueryComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function iamAuthorizerContext(caller: Caller): IamAuthorizerContext {
  return {
    accessKey: caller.accessKeyId,
    accountId: caller.accountId,
    callerId: caller.userId,
    cognitoIdentity: null,
    principalOrgId: null,
    userArn: caller.arn,
    userId: caller.userId,
  };
}
