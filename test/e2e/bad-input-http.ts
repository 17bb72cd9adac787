/**
 * Raw HTTP for the bad-input corpus. `fetch` normalizes what it sends (`/jobs/..`
 * and `/jobs/%2e%2e` both become `/`, bodies must be strings it may re-encode),
 * so these requests go out through `node:http` exactly as written, and are
 * signed over the path as it travels on the wire.
 */
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { parseQuery, type SigV4Credentials, uriEncode } from '../../functions/shared/signer';
import type { ApiResponse } from './client';
import type { E2eTarget } from './target';

export interface RawRequest {
  readonly method: string;
  /** The request target as it goes on the wire: a percent-encoded path, then `?query`. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

export interface SignOptions {
  /** Sign this body instead of the one sent (a tampered request). */
  readonly signedBody?: string | Buffer;
  /** Sign at this time instead of now. */
  readonly at?: number;
  /**
   * Sign with this file's own SigV4 instead of the SDK's: for a query the SDK
   * cannot sign (it builds the canonical query in a plain object, so a
   * parameter named `__proto__` comes out as `[object Object]`).
   */
  readonly byHand?: boolean;
}

/**
 * SigV4 headers for a raw request, from the AWS SDK's signer. Every header the
 * request carries is signed; the canonical path is the raw one (a URL would
 * normalize it first).
 */
export async function signRaw(
  target: E2eTarget,
  who: SigV4Credentials,
  request: RawRequest,
  options: SignOptions = {},
): Promise<Record<string, string>> {
  if (options.byHand) return signByHand(target, who, request, options);
  const url = new URL(target.apiUrl);
  const { rawPath, rawQuery } = splitTarget(request.path);
  const headers: Record<string, string> = { host: url.host, ...lowerCase(request.headers) };
  const signer = new SignatureV4({
    credentials: who,
    region: target.region,
    service: 'execute-api',
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      path: `${basePath(target)}${rawPath}`,
      query: parseQuery(rawQuery),
      headers,
      body: options.signedBody ?? request.body ?? '',
    },
    {
      signingDate: new Date(options.at ?? Date.now()),
      signableHeaders: new Set(Object.keys(headers)),
    },
  );
  const added: Record<string, string> = {};
  for (const name of ['x-amz-date', 'x-amz-security-token', 'authorization']) {
    const value = signed.headers[name];
    if (value !== undefined) added[name] = value;
  }
  return added;
}

/**
 * SigV4 (header signing) as the IAM User Guide describes it: every query
 * parameter signed, sorted by encoded name then value, and the path's segments
 * encoded once more, as the SDK's signer encodes them.
 */
function signByHand(
  target: E2eTarget,
  who: SigV4Credentials,
  request: RawRequest,
  options: SignOptions,
): Record<string, string> {
  const url = new URL(target.apiUrl);
  const { rawPath, rawQuery } = splitTarget(request.path);
  const amzDate = new Date(options.at ?? Date.now()).toISOString().replace(/[-:]|\.\d{3}/g, '');
  const scope = `${amzDate.slice(0, 8)}/${target.region}/execute-api/aws4_request`;
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-date': amzDate,
    ...(who.sessionToken ? { 'x-amz-security-token': who.sessionToken } : {}),
    ...lowerCase(request.headers),
  };
  const names = Object.keys(headers).sort();
  const query = Object.entries(parseQuery(rawQuery))
    .flatMap(([name, values]) =>
      (Array.isArray(values) ? values : [values]).map((value) => [
        uriEncode(name),
        uriEncode(value),
      ]),
    )
    .sort(([a = '', x = ''], [b = '', y = '']) => (a === b ? compare(x, y) : compare(a, b)))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonical = [
    request.method,
    `${basePath(target)}${rawPath}`.split('/').map(uriEncode).join('/'),
    query,
    names.map((name) => `${name}:${headers[name]?.trim().replace(/\s+/g, ' ')}\n`).join(''),
    names.join(';'),
    sha256Hex(options.signedBody ?? request.body ?? ''),
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  let key: Buffer = Buffer.from(`AWS4${who.secretAccessKey}`, 'utf8');
  for (const part of scope.split('/')) key = createHmac('sha256', key).update(part).digest();
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return {
    'x-amz-date': amzDate,
    ...(who.sessionToken ? { 'x-amz-security-token': who.sessionToken } : {}),
    authorization: `AWS4-HMAC-SHA256 Credential=${who.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

function splitTarget(path: string): { rawPath: string; rawQuery: string } {
  const queryAt = path.indexOf('?');
  return queryAt < 0
    ? { rawPath: path, rawQuery: '' }
    : { rawPath: path.slice(0, queryAt), rawQuery: path.slice(queryAt + 1) };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Sends a request as written, signed by `who` (over every header it carries) unless unsigned. */
export async function sendRaw(
  target: E2eTarget,
  who: SigV4Credentials | 'unsigned',
  request: RawRequest,
  options: SignOptions = {},
): Promise<ApiResponse> {
  const signed = who === 'unsigned' ? {} : await signRaw(target, who, request, options);
  return send(target, request, { ...lowerCase(request.headers), ...signed });
}

/** Sends a request with exactly these headers (plus `host` and `content-length`). */
export function send(
  target: E2eTarget,
  request: RawRequest,
  headers: Readonly<Record<string, string>>,
): Promise<ApiResponse> {
  const url = new URL(target.apiUrl);
  const body =
    request.body === undefined
      ? undefined
      : typeof request.body === 'string'
        ? Buffer.from(request.body, 'utf8')
        : request.body;
  const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = requestFn(
      {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port,
        method: request.method,
        path: `${basePath(target)}${request.path}`,
        headers: {
          ...headers,
          ...(body === undefined ? {} : { 'content-length': String(body.length) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') responseHeaders.set(name, value);
            else if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
          }
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body: parsed, text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A deployed API's URL may carry a stage path (`https://x.execute-api…/prod`). */
function basePath(target: E2eTarget): string {
  return new URL(target.apiUrl).pathname.replace(/\/+$/, '');
}

function lowerCase(headers: Readonly<Record<string, string>> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
