import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import type { CredentialStore, LocalCredential } from '../../local/contracts';
import {
  canonicalHeaderValue,
  canonicalQueryString,
  canonicalUri,
  EMPTY_SHA256,
  presignUrl,
  signRequest,
  type VerifiableRequest,
  verifyRequest,
} from '../../local/sigv4';

// ---------------------------------------------------------------- fixtures

const ALICE: LocalCredential = {
  name: 'alice',
  accessKeyId: 'AKIALOCALALICE000001',
  secretAccessKey: 'alice/secret/key/0000000000000000000001',
  accountId: '123456789012',
  arn: 'arn:aws:iam::123456789012:user/alice',
  userId: 'AIDALOCALALICE0000001',
};
const SESSION: LocalCredential = {
  name: 'worker',
  accessKeyId: 'ASIALOCALWORKER00001',
  secretAccessKey: 'worker/secret/key/000000000000000000001',
  sessionToken: 'IQoJb3JpZ2luX2VjEPr//////////token+with/slashes==',
  accountId: '123456789012',
  arn: 'arn:aws:sts::123456789012:assumed-role/WorkerRole/worker',
  userId: 'AROALOCALWORKER000001:worker',
};
const store: CredentialStore = {
  lookup: (id) => [ALICE, SESSION].find((c) => c.accessKeyId === id),
};

const NOW = Date.UTC(2026, 10, 28, 10, 0, 0);
const REGION = 'eu-west-1';
const SERVICE = 'execute-api';
const HOST = 'abc123defg.execute-api.eu-west-1.amazonaws.com';

/** SHA-256 and HMAC-SHA256 for the SDK signer, from node:crypto. */
class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const key =
      typeof this.secret === 'string'
        ? Buffer.from(this.secret, 'utf8')
        : ArrayBuffer.isView(this.secret)
          ? Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength)
          : Buffer.from(this.secret);
    return createHmac('sha256', key);
  }
  update(data: string | Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

function sdkSigner(credential: LocalCredential, options: { applyChecksum?: boolean } = {}) {
  return new SignatureV4({
    credentials: {
      accessKeyId: credential.accessKeyId,
      secretAccessKey: credential.secretAccessKey,
      sessionToken: credential.sessionToken,
    },
    region: REGION,
    service: SERVICE,
    sha256: NodeSha256,
    applyChecksum: options.applyChecksum ?? true,
  });
}

/** The SDK's own query serialization (what its HTTP handlers put on the wire). */
function sdkQueryString(query: Record<string, string | string[] | null>): string {
  const uriEscape = (s: string) =>
    encodeURIComponent(s).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    if (Array.isArray(value))
      for (const v of value) parts.push(`${uriEscape(key)}=${uriEscape(v)}`);
    else if (typeof value === 'string') parts.push(`${uriEscape(key)}=${uriEscape(value)}`);
    else parts.push(uriEscape(key));
  }
  return parts.join('&');
}

/** What a server receives for a request sent to `url` with `headers` (names lower-cased). */
function received(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string = '',
  now: number = NOW,
): VerifiableRequest {
  const parsed = new URL(url);
  const lower: Record<string, string> = { host: parsed.host };
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  return {
    method,
    rawPath: parsed.pathname,
    rawQuery: parsed.search.slice(1),
    headers: lower,
    body,
    now,
  };
}

function signedRequest(
  options: {
    method?: string;
    url?: string;
    headers?: Record<string, string>;
    body?: string;
    credential?: LocalCredential;
    region?: string;
    service?: string;
    at?: number;
  } = {},
) {
  const method = options.method ?? 'POST';
  const url = options.url ?? `https://${HOST}/jobs`;
  const headers = options.headers ?? { 'content-type': 'application/json' };
  const body = options.body ?? '{"type":"report"}';
  const credential = options.credential ?? ALICE;
  const added = signRequest({
    method,
    url,
    headers,
    body,
    credentials: credential,
    region: options.region ?? REGION,
    service: options.service ?? SERVICE,
    now: options.at ?? NOW,
  });
  const authorization = added.authorization;
  if (authorization === undefined) throw new Error('signRequest added no authorization');
  return { method, url, headers: { ...headers, ...added }, body, authorization };
}

function verify(request: VerifiableRequest) {
  return verifyRequest(request, store, { region: REGION, service: SERVICE });
}

function failure(result: ReturnType<typeof verify>) {
  if (result.ok) throw new Error('expected verification to fail');
  return result;
}

// ---------------------------------------------------------------- tests

describe('canonical form', () => {
  it('encodes an already-encoded path again, except for S3', () => {
    expect(canonicalUri('/jobs/a%20b', SERVICE)).toBe('/jobs/a%2520b');
    expect(canonicalUri('/jobs/a%2Fb', SERVICE)).toBe('/jobs/a%252Fb');
    expect(canonicalUri('/jobs/a+b:c', SERVICE)).toBe('/jobs/a%2Bb%3Ac');
    expect(canonicalUri('/jobs/a%20b', 's3')).toBe('/jobs/a%20b');
  });

  it('normalizes the path for every service but S3', () => {
    expect(canonicalUri('', SERVICE)).toBe('/');
    expect(canonicalUri('/', SERVICE)).toBe('/');
    expect(canonicalUri('/a//b/./c/../d/', SERVICE)).toBe('/a/b/d/');
    expect(canonicalUri('/a//b', 's3')).toBe('/a//b');
  });

  it('sorts the query by name then value, re-encodes it and gives bare names an empty value', () => {
    expect(canonicalQueryString('b=2&a=2&a=1&c&d=')).toBe('a=1&a=2&b=2&c=&d=');
    expect(canonicalQueryString('q=a+b&r=%7e&s=%2a&t=x%20y&u=%E2%9C%93')).toBe(
      'q=a%2Bb&r=~&s=%2A&t=x%20y&u=%E2%9C%93',
    );
    expect(canonicalQueryString('X-Amz-Signature=abc&a=1')).toBe('a=1');
  });

  it('trims header values, collapses spaces and joins repeated headers with commas', () => {
    expect(canonicalHeaderValue('  a   b \t c  ')).toBe('a b c');
    expect(canonicalHeaderValue(['x ', ' y  z'])).toBe('x,y z');
  });
});

describe('signRequest', () => {
  it('matches the AWS SigV4 test suite (get-vanilla, get-vanilla-query-order-key-case)', () => {
    const credentials = {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    };
    const at = Date.UTC(2015, 7, 30, 12, 36, 0);
    const vanilla = signRequest({
      method: 'GET',
      url: 'https://example.amazonaws.com/',
      credentials,
      region: 'us-east-1',
      service: 'service',
      now: at,
    });
    expect(vanilla).toEqual({
      'x-amz-date': '20150830T123600Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, ' +
        'Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    });
    const queryOrder = signRequest({
      method: 'GET',
      url: 'https://example.amazonaws.com/?Param2=value2&Param1=value1',
      credentials,
      region: 'us-east-1',
      service: 'service',
      now: at,
    });
    expect(queryOrder.authorization).toMatch(
      /Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500$/,
    );
  });

  it('adds the session token, and x-amz-content-sha256 only for an unsigned payload', () => {
    const headers = signRequest({
      method: 'GET',
      url: `https://${HOST}/jobs`,
      credentials: SESSION,
      region: REGION,
      service: SERVICE,
      now: NOW,
    });
    expect(headers['x-amz-security-token']).toBe(SESSION.sessionToken);
    expect(headers['x-amz-content-sha256']).toBeUndefined();
    expect(headers.authorization).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token,');

    const unsigned = signRequest({
      method: 'PUT',
      url: `https://${HOST}/jobs`,
      body: 'anything',
      credentials: ALICE,
      region: REGION,
      service: SERVICE,
      now: NOW,
      unsignedPayload: true,
    });
    expect(unsigned['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
  });

  it.each([
    ['a plain path', '/jobs/report-1', {}],
    ['spaces and unicode', '/jobs/a b/ü✓', { q: 'x y' }],
    ['plus, colon, encoded slash', '/jobs/a+b:c/d%2Fe', { plus: 'a+b' }],
    ['reserved characters', "/jobs/!'()*@$,;=", { "k&=!'()*": "v=&!'()*" }],
    ['repeated keys and empty values', '/jobs', { a: ['2', '1', ''], empty: '', ü: '✓' }],
  ])('produces the same signature as the AWS SDK for %s', async (_name, path, query) => {
    const url = new URL(`https://${HOST}${path}`);
    const sdkQuery = query as Record<string, string | string[]>;
    url.search = sdkQueryString(sdkQuery);
    const body = '{"a":1}';
    const mine = signRequest({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      body,
      credentials: SESSION,
      region: REGION,
      service: SERVICE,
      now: NOW,
    });
    const sdk = await sdkSigner(SESSION, { applyChecksum: false }).sign(
      {
        method: 'POST',
        protocol: 'https:',
        hostname: HOST,
        path: url.pathname,
        query: sdkQuery,
        headers: { host: HOST, 'content-type': 'application/json' },
        body,
      },
      { signingDate: new Date(NOW) },
    );
    expect(mine.authorization).toBe(sdk.headers.authorization);
  });
});

describe('verifyRequest', () => {
  it('accepts what signRequest signs and names the caller', () => {
    const req = signedRequest();
    const result = verify(received(req.method, req.url, req.headers, req.body));
    expect(result).toEqual({ ok: true, credential: ALICE, service: SERVICE, region: REGION });
  });

  it('accepts a session credential that sends its token', () => {
    const req = signedRequest({ credential: SESSION, method: 'GET', body: '' });
    expect(verify(received(req.method, req.url, req.headers, '')).ok).toBe(true);
  });

  it.each([
    ['a plain path', 'POST', '/jobs', {}],
    ['an encoded space and unicode', 'GET', '/jobs/a%20b/%C3%BC%E2%9C%93', { q: 'x y' }],
    ['plus and an encoded slash', 'DELETE', '/jobs/a+b/c%2Fd', { plus: 'a+b', slash: 'a/b' }],
    ['dot segments and double slashes', 'GET', '/jobs/./a//b/../c', {}],
    [
      'repeated keys and special characters',
      'GET',
      '/jobs',
      { a: ['2', '1'], 'k&=': "v=&!'()*", e: '' },
    ],
  ])('accepts requests the AWS SDK signs: %s', async (_name, method, path, query) => {
    const sdkQuery = query as Record<string, string | string[]>;
    const body = method === 'POST' ? '{"type":"report"}' : undefined;
    const signed = await sdkSigner(ALICE).sign(
      {
        method,
        protocol: 'https:',
        hostname: HOST,
        path,
        query: sdkQuery,
        headers: { host: HOST, 'content-type': 'application/json' },
        body,
      },
      { signingDate: new Date(NOW) },
    );
    const result = verify({
      method,
      rawPath: path,
      rawQuery: sdkQueryString(sdkQuery),
      headers: signed.headers,
      body: body ?? '',
      now: NOW,
    });
    expect(result.ok).toBe(true);
  });

  it('accepts a URL the AWS SDK presigns, and one presignUrl makes', async () => {
    const sdk = await sdkSigner(SESSION).presign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname: HOST,
        path: '/jobs/a%20b',
        query: { page: '2' },
        headers: { host: HOST },
      },
      { signingDate: new Date(NOW), expiresIn: 300 },
    );
    const sdkQuery = sdk.query as Record<string, string>;
    expect(
      verify({
        method: 'GET',
        rawPath: '/jobs/a%20b',
        rawQuery: sdkQueryString(sdkQuery),
        headers: { host: HOST },
        body: '',
        now: NOW + 60_000,
      }).ok,
    ).toBe(true);

    const mine = presignUrl({
      method: 'GET',
      url: `https://${HOST}/jobs/a%20b?page=2`,
      credentials: SESSION,
      region: REGION,
      service: SERVICE,
      now: NOW,
      expiresIn: 300,
    });
    expect(new URL(mine).searchParams.get('X-Amz-Signature')).toBe(sdkQuery['X-Amz-Signature']);
    expect(verify(received('GET', mine, {}, '', NOW + 60_000)).ok).toBe(true);
  });

  it('rejects an expired or tampered presigned URL', () => {
    const url = presignUrl({
      method: 'GET',
      url: `https://${HOST}/jobs`,
      credentials: ALICE,
      region: REGION,
      service: SERVICE,
      now: NOW,
      expiresIn: 60,
    });
    expect(failure(verify(received('GET', url, {}, '', NOW + 61_000))).message).toBe(
      'Signature expired: 20261128T100000Z is now earlier than 20261128T100001Z (20261128T100101Z - 60 sec.)',
    );
    const tampered = url.replace('/jobs?', '/jobz?');
    expect(failure(verify(received('GET', tampered, {}, '', NOW))).code).toBe(
      'InvalidSignatureException',
    );
    const incomplete = url.replace(/&X-Amz-Signature=[0-9a-f]+/, '');
    expect(failure(verify(received('GET', incomplete, {}, '', NOW))).message).toBe(
      "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters.",
    );
  });

  it('reports a request with no signature as missing a token', () => {
    const result = failure(verify(received('GET', `https://${HOST}/jobs`, {})));
    expect(result).toEqual({
      ok: false,
      status: 403,
      code: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
  });

  it("answers a non-SigV4 Authorization header with AWS's IncompleteSignature text", () => {
    const result = failure(
      verify(received('GET', `https://${HOST}/jobs`, { authorization: 'Bearer eyJhbGciOi.x.y' })),
    );
    expect(result.code).toBe('IncompleteSignatureException');
    expect(result.message).toBe(
      "Authorization header requires 'Credential' parameter. " +
        "Authorization header requires 'Signature' parameter. " +
        "Authorization header requires 'SignedHeaders' parameter. " +
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
        'Authorization=Bearer eyJhbGciOi.x.y',
    );
  });

  it('rejects a malformed SigV4 Authorization header', () => {
    const req = signedRequest();
    const authorization = `${req.authorization}, Extra`;
    const result = failure(
      verify(received(req.method, req.url, { ...req.headers, authorization }, req.body)),
    );
    expect(result.message).toBe(
      `'Extra' not a valid key=value pair (missing equal-sign) in Authorization header: '${authorization}'.`,
    );

    const noDate: Record<string, string> = { ...req.headers };
    delete noDate['x-amz-date'];
    expect(failure(verify(received(req.method, req.url, noDate, req.body))).message).toMatch(
      /^Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header\. Authorization=AWS4/,
    );

    const badDate = { ...req.headers, 'x-amz-date': '2026-11-28T10:00:00Z' };
    expect(failure(verify(received(req.method, req.url, badDate, req.body))).message).toBe(
      "Date must be in ISO-8601 'basic format'. Got '2026-11-28T10:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
    );

    const shortCredential = req.authorization.replace('/aws4_request', '');
    expect(
      failure(
        verify(
          received(
            req.method,
            req.url,
            { ...req.headers, authorization: shortCredential },
            req.body,
          ),
        ),
      ).message,
    ).toBe(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${ALICE.accessKeyId}/20261128/${REGION}/${SERVICE}'`,
    );

    const otherAlgorithm = req.authorization.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1');
    expect(
      failure(
        verify(
          received(
            req.method,
            req.url,
            { ...req.headers, authorization: otherAlgorithm },
            req.body,
          ),
        ),
      ).message,
    ).toBe("Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1' (only AWS4-HMAC-SHA256 for now). ");
  });

  it('rejects an unknown access key', () => {
    const stranger = { ...ALICE, accessKeyId: 'AKIANOTLOCAL00000000' };
    const req = signedRequest({ credential: stranger });
    const result = failure(verify(received(req.method, req.url, req.headers, req.body)));
    expect(result).toEqual({
      ok: false,
      status: 403,
      code: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
  });

  it('rejects a wrong secret, a changed body, path, query or signed header, with the canonical request', () => {
    const wrongSecret = signedRequest({
      credential: { ...ALICE, secretAccessKey: 'not-the-secret' },
    });
    const result = failure(
      verify(received(wrongSecret.method, wrongSecret.url, wrongSecret.headers, wrongSecret.body)),
    );
    expect(result.code).toBe('InvalidSignatureException');
    expect(result.message).toMatch(
      /^The request signature we calculated does not match the signature you provided\. Check your AWS Secret Access Key and signing method\. Consult the service documentation for details\.\n\nThe Canonical String for this request should have been\n'POST\n\/jobs\n\ncontent-type:application\/json\n/,
    );
    expect(result.message).toContain(
      "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20261128T100000Z\n",
    );

    const req = signedRequest({ url: `https://${HOST}/jobs?a=1` });
    const tamper = [
      received(req.method, req.url, req.headers, '{"type":"other"}'),
      received(req.method, req.url.replace('/jobs', '/jobz'), req.headers, req.body),
      received(req.method, req.url.replace('a=1', 'a=2'), req.headers, req.body),
      received(req.method, req.url, { ...req.headers, 'content-type': 'text/plain' }, req.body),
      received('PUT', req.url, req.headers, req.body),
    ];
    for (const request of tamper) {
      expect(failure(verify(request)).code).toBe('InvalidSignatureException');
    }
  });

  it('signs the real body even when x-amz-content-sha256 claims another, and honours UNSIGNED-PAYLOAD', () => {
    const claimed = signRequest({
      method: 'POST',
      url: `https://${HOST}/jobs`,
      headers: { 'x-amz-content-sha256': EMPTY_SHA256 },
      body: '',
      credentials: ALICE,
      region: REGION,
      service: SERVICE,
      now: NOW,
    });
    const lying = received(
      'POST',
      `https://${HOST}/jobs`,
      { ...claimed, 'x-amz-content-sha256': EMPTY_SHA256 },
      'smuggled',
    );
    expect(failure(verify(lying)).code).toBe('InvalidSignatureException');

    const unsigned = signRequest({
      method: 'POST',
      url: `https://${HOST}/jobs`,
      body: 'any body at all',
      credentials: ALICE,
      region: REGION,
      service: SERVICE,
      now: NOW,
      unsignedPayload: true,
    });
    expect(verify(received('POST', `https://${HOST}/jobs`, unsigned, 'a different body')).ok).toBe(
      true,
    );
  });

  it('requires host to be signed', () => {
    const added = signRequest({
      method: 'GET',
      url: `https://${HOST}/jobs`,
      credentials: ALICE,
      region: REGION,
      service: SERVICE,
      now: NOW,
    });
    const authorization = added.authorization?.replace(
      'SignedHeaders=host;x-amz-date',
      'SignedHeaders=x-amz-date',
    );
    expect(
      failure(
        verify(
          received('GET', `https://${HOST}/jobs`, { ...added, authorization: authorization ?? '' }),
        ),
      ).message,
    ).toBe("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  });

  it('allows five minutes of clock skew either way, with AWS messages past it', () => {
    const minute = 60_000;
    const at = (signedAt: number, now: number) => {
      const req = signedRequest({ at: signedAt });
      return verify(received(req.method, req.url, req.headers, req.body, now));
    };
    expect(at(NOW - 5 * minute, NOW).ok).toBe(true);
    expect(at(NOW + 5 * minute, NOW).ok).toBe(true);
    expect(failure(at(NOW - 6 * minute, NOW)).message).toBe(
      'Signature expired: 20261128T095400Z is now earlier than 20261128T095500Z (20261128T100000Z - 5 min.)',
    );
    expect(failure(at(NOW + 6 * minute, NOW)).message).toBe(
      'Signature not yet current: 20261128T100600Z is still later than 20261128T100500Z (20261128T100000Z + 5 min.)',
    );
    // Some services (DynamoDB) allow 15 minutes.
    const req = signedRequest({ at: NOW - 14 * minute });
    const dynamoLike = (now: number) =>
      verifyRequest(received(req.method, req.url, req.headers, req.body, now), store, {
        maxSkewMinutes: 15,
      });
    expect(dynamoLike(NOW).ok).toBe(true);
    expect(failure(dynamoLike(NOW + 2 * minute)).message).toBe(
      'Signature expired: 20261128T094600Z is now earlier than 20261128T094700Z (20261128T100200Z - 15 min.)',
    );
  });

  it('checks the credential scope: region, service and date', () => {
    const otherRegion = signedRequest({ region: 'us-east-1' });
    expect(
      failure(
        verify(
          received(otherRegion.method, otherRegion.url, otherRegion.headers, otherRegion.body),
        ),
      ).message,
    ).toBe("Credential should be scoped to a valid region, not 'us-east-1'. ");
    const otherService = signedRequest({ service: 'lambda' });
    expect(
      failure(
        verify(
          received(otherService.method, otherService.url, otherService.headers, otherService.body),
        ),
      ).message,
    ).toBe("Credential should be scoped to correct service: 'execute-api'. ");
    const req = signedRequest();
    const wrongDay = req.authorization.replace('/20261128/', '/20261127/');
    expect(
      failure(
        verify(
          received(req.method, req.url, { ...req.headers, authorization: wrongDay }, req.body),
        ),
      ).message,
    ).toBe(
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261127' != '20261128', from '20261128T100000Z'.",
    );
    // Without options, any region and service verify.
    expect(
      verifyRequest(
        received(otherService.method, otherService.url, otherService.headers, otherService.body),
        store,
      ).ok,
    ).toBe(true);
  });

  it("checks a session credential's token", () => {
    // Signed correctly with the session's key, but without its token.
    const noToken = signedRequest({ credential: { ...SESSION, sessionToken: undefined } });
    expect(
      failure(verify(received(noToken.method, noToken.url, noToken.headers, noToken.body))),
    ).toEqual({
      ok: false,
      status: 403,
      code: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid',
    });
    // The token is a signed header: replacing it breaks the signature.
    const req = signedRequest({ credential: SESSION });
    const forged = received(
      req.method,
      req.url,
      { ...req.headers, 'x-amz-security-token': 'forged' },
      req.body,
    );
    expect(failure(verify(forged)).code).toBe('InvalidSignatureException');
    // A long-term key does not take a token.
    const aliceWithToken = signedRequest({ credential: { ...ALICE, sessionToken: 'invented' } });
    expect(
      failure(
        verify(
          received(
            aliceWithToken.method,
            aliceWithToken.url,
            aliceWithToken.headers,
            aliceWithToken.body,
          ),
        ),
      ).code,
    ).toBe('UnrecognizedClientException');
  });

  it('reads repeated headers as AWS does', () => {
    const added = signRequest({
      method: 'GET',
      url: `https://${HOST}/jobs`,
      headers: { 'x-custom': 'a,b' },
      credentials: ALICE,
      region: REGION,
      service: SERVICE,
      now: NOW,
    });
    const request = received('GET', `https://${HOST}/jobs`, added);
    expect(
      verify({ ...request, headers: { ...request.headers, 'x-custom': [' a', 'b '] } }).ok,
    ).toBe(true);
  });
});
