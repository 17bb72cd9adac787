/**
 * SigV4 for the requests the project sends without an SDK client (the jobs
 * API, the stream's presigned WebSocket URL, API Gateway's `@connections`
 * API): `@smithy/signature-v4`, the AWS SDK's own signer, with the SDK's
 * SHA-256, behind two calls that take a URL as it will travel.
 *
 * The signer takes a request's query as decoded names and values and encodes
 * them itself; `parseQuery` turns a query string into that form the way AWS
 * reads one (RFC 3986: `+` is a plus, a stray `%` stays as it is). The local
 * cloud's verifier reads what it receives with its own copy
 * (`local/percent-decode.ts`): `local/` imports nothing of the app, nor the
 * app `local/`, and the SDK's `parseQueryString` reads a query otherwise (it
 * throws on a stray `%`, gives `null` for a bare name and cuts a value at a
 * second `=`).
 */
import { Sha256 } from '@smithy/core/checksum';
import { escapeUri } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';

/** SigV4's `UriEncode()`: every byte but `A-Z a-z 0-9 - . _ ~` percent-encoded, as the SDK encodes a query. */
export const uriEncode: (text: string) => string = escapeUri;

/**
 * The credentials a request is signed with. A temporary credential (STS, or
 * what Lambda puts in `AWS_SESSION_TOKEN`) also has a session token, sent as
 * `x-amz-security-token` (`X-Amz-Security-Token` in a presigned URL).
 */
export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A request to sign with `signRequest`. */
export interface SignRequestInput {
  readonly method: string;
  /** The full URL; its path and query are signed as they will travel. */
  readonly url: string | URL;
  /** Headers the request will carry; all are signed but the ones the SDK never signs (`user-agent`, hop-by-hop). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  readonly credentials: SigV4Credentials;
  readonly region: string;
  readonly service: string;
  /** @default - the current time */
  readonly now?: Date | number;
}

/** A request to presign with `presignUrl`; only `host` and the given headers are signed. */
export interface PresignUrlInput extends Omit<SignRequestInput, 'body'> {
  /**
   * Seconds the URL stays valid, 1 to 604800.
   * @default 900
   */
  readonly expiresIn?: number;
}

/** The longest `X-Amz-Expires` a presigned URL may carry (7 days). */
export const MAX_PRESIGN_SECONDS = 604_800;

/**
 * Signs a request; returns the headers to add to it: `authorization`,
 * `x-amz-date`, and `x-amz-security-token` when the credentials have one.
 */
export async function signRequest(input: SignRequestInput): Promise<Record<string, string>> {
  const url = new URL(input.url);
  const signed = await signerFor(input).sign(
    {
      ...requestParts(url, input.headers),
      method: input.method.toUpperCase(),
      body: input.body ?? '',
    },
    { signingDate: new Date(input.now ?? Date.now()) },
  );
  const added: Record<string, string> = {};
  for (const name of ['x-amz-date', 'x-amz-security-token', 'authorization']) {
    const value = signed.headers[name];
    if (value !== undefined) added[name] = value;
  }
  return added;
}

/** A URL with the signature in its query string (`X-Amz-Algorithm`, ..., `X-Amz-Signature`). */
export async function presignUrl(input: PresignUrlInput): Promise<string> {
  const expiresIn = input.expiresIn ?? 900;
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGN_SECONDS) {
    throw new RangeError(`expiresIn must be an integer from 1 to ${MAX_PRESIGN_SECONDS}`);
  }
  const url = new URL(input.url);
  const presigned = await signerFor(input).presign(
    { ...requestParts(url, input.headers), method: input.method.toUpperCase() },
    { signingDate: new Date(input.now ?? Date.now()), expiresIn },
  );
  url.search = `?${queryString(presigned.query ?? {})}`;
  return url.href;
}

function signerFor(input: Pick<SignRequestInput, 'credentials' | 'region' | 'service'>) {
  return new SignatureV4({
    credentials: input.credentials,
    region: input.region,
    service: input.service,
    sha256: Sha256,
    // No `x-amz-content-sha256` header: only S3 needs it, and API Gateway does not expect it.
    applyChecksum: false,
  });
}

function requestParts(url: URL, headers: Readonly<Record<string, string>> = {}) {
  const lowerCased: Record<string, string> = { host: url.host };
  for (const [name, value] of Object.entries(headers)) lowerCased[name.toLowerCase()] = value;
  return {
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port === '' ? {} : { port: Number(url.port) }),
    path: url.pathname,
    query: parseQuery(url.search.slice(1)),
    headers: lowerCased,
  };
}

/** Query parameters by decoded name; a repeated name has its values in order, a bare name an empty value. */
export type QueryParams = Record<string, string | string[]>;

/** Parses a query string (without `?`) as AWS reads it for a signature. */
export function parseQuery(rawQuery: string): QueryParams {
  // No prototype: `constructor` or `__proto__` are names like any other.
  const params: QueryParams = Object.create(null);
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = percentDecodeBytes(eq < 0 ? part : part.slice(0, eq)).toString('utf8');
    const value = percentDecodeBytes(eq < 0 ? '' : part.slice(eq + 1)).toString('utf8');
    const seen = params[name];
    params[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return params;
}

/**
 * Percent-decodes to bytes. A `%` not followed by two hex digits stays as it
 * is, and `+` stays a plus (`decodeURIComponent` would throw on the first).
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

function queryString(query: Readonly<Record<string, string | string[] | null>>): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    for (const one of Array.isArray(value) ? value : [value ?? '']) {
      parts.push(`${uriEncode(name)}=${uriEncode(one)}`);
    }
  }
  return parts.join('&');
}
