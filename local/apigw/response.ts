/**
 * How an HTTP API turns a Lambda result (payload format 2.0) into the HTTP
 * response, and the fixed responses API Gateway itself sends.
 */

export interface GatewayResponse {
  readonly status: number;
  /** Lower-case names; `set-cookie` may carry several values. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: Buffer;
}

/** API Gateway's own error answers: `{"message":"..."}` as `application/json`. */
export function gatewayError(
  status: number,
  message: string,
  extraHeaders: Readonly<Record<string, string>> = {},
): GatewayResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', ...extraHeaders },
    body: Buffer.from(JSON.stringify({ message }), 'utf8'),
  };
}

export type MappedResult =
  | { readonly ok: true; readonly response: GatewayResponse }
  | { readonly ok: false; readonly error: string };

const WRONG_FORMAT =
  "The response from the Lambda function doesn't match the format that API Gateway expects.";

/** Headers the gateway sets itself, whatever the function returns. */
const GATEWAY_OWNED = new Set(['content-length', 'transfer-encoding', 'connection']);

/**
 * Maps a function's JSON result. An object with `statusCode` is taken as a
 * structured response; any other JSON value is sent as the body of a 200
 * `application/json` response, byte for byte.
 */
export function mapLambdaResult(payload: string): MappedResult {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return { ok: false, error: `${WRONG_FORMAT} The function's response is not valid JSON.` };
  }
  if (!isRecord(value) || !Object.hasOwn(value, 'statusCode')) {
    return {
      ok: true,
      response: {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(payload, 'utf8'),
      },
    };
  }

  const { statusCode, headers, cookies, body, isBase64Encoded } = value;
  if (
    typeof statusCode !== 'number' ||
    !Number.isInteger(statusCode) ||
    statusCode < 100 ||
    statusCode > 599
  ) {
    return { ok: false, error: wrongType('statusCode') };
  }
  const out: Record<string, string | string[]> = {};
  if (headers !== undefined && headers !== null) {
    if (!isRecord(headers)) return { ok: false, error: wrongType('headers') };
    for (const [name, headerValue] of Object.entries(headers)) {
      if (headerValue === null || headerValue === undefined) continue;
      if (!['string', 'number', 'boolean'].includes(typeof headerValue)) {
        return { ok: false, error: wrongType('headers') };
      }
      const lower = name.toLowerCase();
      if (GATEWAY_OWNED.has(lower)) continue;
      out[lower] = String(headerValue);
    }
  }
  if (cookies !== undefined && cookies !== null) {
    if (!Array.isArray(cookies) || !cookies.every((c) => typeof c === 'string')) {
      return { ok: false, error: wrongType('cookies') };
    }
    if (cookies.length > 0) {
      const existing = out['set-cookie'];
      out['set-cookie'] = [...(existing === undefined ? [] : [existing].flat()), ...cookies];
    }
  }
  if (body !== undefined && body !== null && typeof body !== 'string') {
    return { ok: false, error: wrongType('body') };
  }
  if (
    isBase64Encoded !== undefined &&
    isBase64Encoded !== null &&
    typeof isBase64Encoded !== 'boolean'
  ) {
    return { ok: false, error: wrongType('isBase64Encoded') };
  }
  const text = typeof body === 'string' ? body : '';
  return {
    ok: true,
    response: {
      status: statusCode,
      headers: out,
      body: isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8'),
    },
  };
}

function wrongType(field: string): string {
  return `${WRONG_FORMAT} Lambda body contains the wrong type for field "${field}"`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
