/**
 * Raw HTTP for the bad-input corpus. `fetch` normalizes what it sends (`/jobs/..`
 * and `/jobs/%2e%2e` both become `/`, bodies must be strings it may re-encode),
 * so these requests go out through `node:http` exactly as written, and are
 * signed over the path as it travels on the wire.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { parseQuery, type SigV4Credentials } from '../../functions/shared/signer';
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
  const url = new URL(target.apiUrl);
  const queryAt = request.path.indexOf('?');
  const rawPath = queryAt < 0 ? request.path : request.path.slice(0, queryAt);
  const rawQuery = queryAt < 0 ? '' : request.path.slice(queryAt + 1);
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
