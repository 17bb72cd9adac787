/**
 * Reading percent-encoded request parts the way AWS reads them (RFC 3986: `+`
 * is a plus, and a stray `%` stays as it is): the query a SigV4 signature
 * covers, and the path API Gateway routes on. `decodeURIComponent` would throw
 * on the stray `%`, and `URLSearchParams` turns `+` into a space.
 *
 * `functions/shared/signer.ts` has the same `parseQuery` for the signing side:
 * the local cloud imports nothing of the app, and the SDK's own parser
 * (`parseQueryString`) reads a query otherwise, so each side keeps this one.
 */

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
 * is, and `+` stays a plus.
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
