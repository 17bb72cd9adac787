/**
 * A local-only hint on AWS's answer to an unsigned request. API Gateway
 * answers a request to an `AWS_IAM` route that carries no signature with a
 * bare `403 {"message":"Forbidden"}`, which tells a newcomer nothing; the local
 * cloud keeps that answer (status, headers, `message`) and adds a `localHint`
 * field saying what is missing and where the keys are. A request that was
 * signed, even badly, keeps AWS's answer unchanged: its message already says
 * what is wrong.
 */
import type { GatewayResponse } from './response';

type Headers =
  | ReadonlyMap<string, readonly string[]>
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Query parameters that make a request presigned (or a failed attempt at it). */
const PRESIGN_MARKS = new Set(['X-Amz-Signature', 'X-Amz-Algorithm']);

/**
 * Nothing was signed: no `Authorization` header, and no `X-Amz-Signature`
 * (nor `X-Amz-Algorithm`) query parameter. Such a request is the one AWS
 * answers "Missing Authentication Token" (`Forbidden` on an HTTP API).
 */
export function isUnsignedRequest(headers: Headers, rawQuery: string): boolean {
  const names =
    headers instanceof Map ? [...headers.keys()] : Object.keys(headers as Readonly<object>);
  if (names.some((name) => name.toLowerCase() === 'authorization')) return false;
  return !rawQuery
    .split('&')
    .some((pair) => PRESIGN_MARKS.has(safeDecode(pair.split('=', 1)[0] ?? '')));
}

/** The answer's JSON body with `localHint` added; anything but a JSON object is left as it is. */
export function withLocalHint(response: GatewayResponse, hint: string): GatewayResponse {
  let body: unknown;
  try {
    body = JSON.parse(response.body.toString('utf8'));
  } catch {
    return response;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return response;
  return {
    ...response,
    body: Buffer.from(JSON.stringify({ ...body, localHint: hint }), 'utf8'),
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
