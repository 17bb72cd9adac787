import { createHash } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { presignUrl, signRequest } from '../../../functions/shared/signer';
import type { CredentialStore, LocalCredential } from '../../../local/contracts';
import { parseQuery } from '../../../local/percent-decode';
import { type VerifiableRequest, type VerifyOptions, verifyRequest } from '../../../local/sigv4';

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
/** SHA-256 of the empty string. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The AWS SDK's signer, used directly, as any SDK client signs. */
function sdkSigner(credential: LocalCredential, options: { applyChecksum?: boolean } = {}) {
  return new SignatureV4({
    credentials: {
      accessKeyId: credential.accessKeyId,
      secretAccessKey: credential.secretAccessKey,
      sessionToken: credential.sessionToken,
    },
    region: REGION,
    service: SERVICE,
    sha256: Sha256,
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

interface SignedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly authorization: string;
}

async function signedRequest(
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
): Promise<SignedRequest> {
  const method = options.method ?? 'POST';
  const url = options.url ?? `https://${HOST}/jobs`;
  const headers = options.headers ?? { 'content-type': 'application/json' };
  const body = options.body ?? '{"type":"report"}';
  const credential = options.credential ?? ALICE;
  const added = await signRequest({
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

/** What a server receives for a signed request, with some of its parts changed. */
function receivedAs(
  req: SignedRequest,
  changes: { headers?: Record<string, string>; body?: string; now?: number } = {},
): VerifiableRequest {
  return received(
    req.method,
    req.url,
    changes.headers ?? req.headers,
    changes.body ?? req.body,
    changes.now,
  );
}

const SCOPED: VerifyOptions = { region: REGION, service: SERVICE };

function verify(request: VerifiableRequest, options: VerifyOptions = SCOPED) {
  return verifyRequest(request, store, options);
}

/** Verifies a request that must be refused, and answers the refusal. */
async function refusal(request: VerifiableRequest, options: VerifyOptions = SCOPED) {
  const result = await verify(request, options);
  if (result.ok) throw new Error('expected verification to fail');
  return result;
}

/**
 * The canonical request the verifier builds for what it received, as its
 * signature-mismatch message spells it out (the signature given is all zeros).
 */
async function canonicalOf(
  method: string,
  rawPath: string,
  rawQuery: string,
  headers: Record<string, string | string[]> = {},
): Promise<string> {
  const signedHeaders = ['host', 'x-amz-date', ...Object.keys(headers)].sort().join(';');
  const result = await refusal({
    method,
    rawPath,
    rawQuery,
    headers: {
      ...headers,
      host: HOST,
      'x-amz-date': '20261128T100000Z',
      authorization: `AWS4-HMAC-SHA256 Credential=${ALICE.accessKeyId}/20261128/${REGION}/${SERVICE}/aws4_request, SignedHeaders=${signedHeaders}, Signature=${'0'.repeat(64)}`,
    },
    body: '',
    now: NOW,
  });
  const canonical = /should have been\n'([\s\S]*)'\n\nThe String-to-Sign/.exec(result.message)?.[1];
  if (canonical === undefined) throw new Error(`no canonical request in: ${result.message}`);
  return canonical;
}

// ---------------------------------------------------------------- tests

describe('the canonical request the verifier computes', () => {
  it('encodes an already-encoded path again', async () => {
    for (const [path, canonical] of [
      ['/jobs/a%20b', '/jobs/a%2520b'],
      ['/jobs/a%2Fb', '/jobs/a%252Fb'],
      ['/jobs/a+b:c', '/jobs/a%2Bb%3Ac'],
    ]) {
      expect((await canonicalOf('GET', path ?? '', '')).split('\n')[1]).toBe(canonical);
    }
  });

  it('normalizes the path', async () => {
    for (const [path, canonical] of [
      ['/', '/'],
      ['/a//b/./c/../d/', '/a/b/d/'],
    ]) {
      expect((await canonicalOf('GET', path ?? '', '')).split('\n')[1]).toBe(canonical);
    }
  });

  it('sorts the query by name then value, re-encodes it and gives bare names an empty value', async () => {
    const line = async (query: string) => (await canonicalOf('GET', '/jobs', query)).split('\n')[2];
    expect(await line('b=2&a=2&a=1&c&d=')).toBe('a=1&a=2&b=2&c=&d=');
    expect(await line('q=a+b&r=%7e&s=%2a&t=x%20y&u=%E2%9C%93&v=100%')).toBe(
      'q=a%2Bb&r=~&s=%2A&t=x%20y&u=%E2%9C%93&v=100%25',
    );
    // Header-signed: a parameter named X-Amz-Signature is signed like any other.
    expect(await line('X-Amz-Signature=abc&a=1')).toBe('X-Amz-Signature=abc&a=1');
    expect(await line('toString=2&constructor=1')).toBe('constructor=1&toString=2');
  });

  it('trims header values, collapses spaces and joins repeated headers with commas', async () => {
    const canonical = await canonicalOf('GET', '/jobs', '', {
      'x-spaced': '  a   b \t c  ',
      'x-repeated': ['x ', ' y  z'],
    });
    expect(canonical.split('\n').slice(3, 7)).toEqual([
      `host:${HOST}`,
      'x-amz-date:20261128T100000Z',
      'x-repeated:x,y z',
      'x-spaced:a b c',
    ]);
  });
});

describe('parseQuery', () => {
  it('reads a query as AWS does: + is a plus, a stray % stays, bare names are empty, repeats are kept', () => {
    expect(parseQuery('a=1&b=x+y%20z&c&a=2&d=100%&e=%E2%9C%93')).toEqual({
      a: ['1', '2'],
      b: 'x+y z',
      c: '',
      d: '100%',
      e: '✓',
    });
    expect(Object.keys(parseQuery('constructor=1&__proto__=2'))).toEqual([
      'constructor',
      '__proto__',
    ]);
  });
});

describe('signRequest', () => {
  it('matches the AWS SigV4 test suite (get-vanilla, get-vanilla-query-order-key-case)', async () => {
    const credentials = {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    };
    const at = Date.UTC(2015, 7, 30, 12, 36, 0);
    const vanilla = await signRequest({
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
    const queryOrder = await signRequest({
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

  it('adds the session token, and no x-amz-content-sha256', async () => {
    const headers = await signRequest({
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
  });

  it.each([
    ['a plain path', '/jobs/report-1', {}],
    ['spaces and unicode', '/jobs/a b/ü✓', { q: 'x y' }],
    ['plus, colon, encoded slash', '/jobs/a+b:c/d%2Fe', { plus: 'a+b' }],
    ['reserved characters', "/jobs/!'()*@$,;=", { "k&=!'()*": "v=&!'()*" }],
    ['repeated keys and empty values', '/jobs', { a: ['2', '1', ''], empty: '', ü: '✓' }],
  ])('signs a URL as the AWS SDK signs its parts: %s', async (_name, path, query) => {
    const url = new URL(`https://${HOST}${path}`);
    const sdkQuery = query as Record<string, string | string[]>;
    url.search = sdkQueryString(sdkQuery);
    const body = '{"a":1}';
    const mine = await signRequest({
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
  it('accepts what signRequest signs and names the caller', async () => {
    const req = await signedRequest();
    expect(await verify(receivedAs(req))).toEqual({
      ok: true,
      credential: ALICE,
      service: SERVICE,
      region: REGION,
    });
  });

  it('accepts a session credential that sends its token', async () => {
    const req = await signedRequest({ credential: SESSION, method: 'GET', body: '' });
    expect((await verify(receivedAs(req))).ok).toBe(true);
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
    const result = await verify({
      method,
      rawPath: path,
      rawQuery: sdkQueryString(sdkQuery),
      headers: signed.headers,
      body: body ?? '',
      now: NOW,
    });
    expect(result.ok).toBe(true);
  });

  it('accepts headers a client chose to sign that the SDK never signs itself', async () => {
    const headers = { host: HOST, 'user-agent': 'curl/8.5.0', 'sec-fetch-mode': 'cors' };
    const signed = await sdkSigner(ALICE).sign(
      { method: 'GET', protocol: 'https:', hostname: HOST, path: '/jobs', query: {}, headers },
      { signingDate: new Date(NOW), signableHeaders: new Set(['user-agent', 'sec-fetch-mode']) },
    );
    expect(signed.headers.authorization).toContain('sec-fetch-mode;user-agent;');
    const result = await verify({
      method: 'GET',
      rawPath: '/jobs',
      rawQuery: '',
      headers: signed.headers,
      body: '',
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
    const sdkResult = await verify({
      method: 'GET',
      rawPath: '/jobs/a%20b',
      rawQuery: sdkQueryString(sdkQuery),
      headers: { host: HOST },
      body: '',
      now: NOW + 60_000,
    });
    expect(sdkResult.ok).toBe(true);

    const mine = await presignUrl({
      method: 'GET',
      url: `https://${HOST}/jobs/a%20b?page=2`,
      credentials: SESSION,
      region: REGION,
      service: SERVICE,
      now: NOW,
      expiresIn: 300,
    });
    expect(new URL(mine).searchParams.get('X-Amz-Signature')).toBe(sdkQuery['X-Amz-Signature']);
    expect((await verify(received('GET', mine, {}, '', NOW + 60_000))).ok).toBe(true);
  });

  it('rejects an expired or tampered presigned URL', async () => {
    const url = await presignUrl({
      method: 'GET',
      url: `https://${HOST}/jobs`,
      credentials: ALICE,
      region: REGION,
      service: SERVICE,
      now: NOW,
      expiresIn: 60,
    });
    expect((await refusal(received('GET', url, {}, '', NOW + 61_000))).message).toBe(
      'Signature expired: 20261128T100000Z is now earlier than 20261128T100001Z (20261128T100101Z - 60 sec.)',
    );
    const tampered = url.replace('/jobs?', '/jobz?');
    expect((await refusal(received('GET', tampered, {}, '', NOW))).code).toBe(
      'InvalidSignatureException',
    );
    const incomplete = url.replace(/&X-Amz-Signature=[0-9a-f]+/, '');
    expect((await refusal(received('GET', incomplete, {}, '', NOW))).message).toBe(
      "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters.",
    );
  });

  it('refuses to presign for longer than 7 days', async () => {
    const presigning = presignUrl({
      method: 'GET',
      url: `https://${HOST}/jobs`,
      credentials: ALICE,
      region: REGION,
      service: SERVICE,
      expiresIn: 604_801,
    });
    await expect(presigning).rejects.toBeInstanceOf(RangeError);
  });

  it('reports a request with no signature as missing a token', async () => {
    expect(await refusal(received('GET', `https://${HOST}/jobs`, {}))).toEqual({
      ok: false,
      status: 403,
      code: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
  });

  it("answers a non-SigV4 Authorization header with AWS's IncompleteSignature text", async () => {
    const result = await refusal(
      received('GET', `https://${HOST}/jobs`, { authorization: 'Bearer eyJhbGciOi.x.y' }),
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

  it('rejects a malformed SigV4 Authorization header', async () => {
    const req = await signedRequest();
    const withAuthorization = (authorization: string) =>
      receivedAs(req, { headers: { ...req.headers, authorization } });

    const extra = `${req.authorization}, Extra`;
    expect((await refusal(withAuthorization(extra))).message).toBe(
      `'Extra' not a valid key=value pair (missing equal-sign) in Authorization header: '${extra}'.`,
    );

    const noDate: Record<string, string> = { ...req.headers };
    delete noDate['x-amz-date'];
    expect((await refusal(receivedAs(req, { headers: noDate }))).message).toMatch(
      /^Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header\. Authorization=AWS4/,
    );

    const badDate = { ...req.headers, 'x-amz-date': '2026-11-28T10:00:00Z' };
    expect((await refusal(receivedAs(req, { headers: badDate }))).message).toBe(
      "Date must be in ISO-8601 'basic format'. Got '2026-11-28T10:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
    );

    const shortCredential = req.authorization.replace('/aws4_request', '');
    expect((await refusal(withAuthorization(shortCredential))).message).toBe(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${ALICE.accessKeyId}/20261128/${REGION}/${SERVICE}'`,
    );

    const otherAlgorithm = req.authorization.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1');
    expect((await refusal(withAuthorization(otherAlgorithm))).message).toBe(
      "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1' (only AWS4-HMAC-SHA256 for now). ",
    );
  });

  it('rejects an unknown access key', async () => {
    const stranger = { ...ALICE, accessKeyId: 'AKIANOTLOCAL00000000' };
    const req = await signedRequest({ credential: stranger });
    expect(await refusal(receivedAs(req))).toEqual({
      ok: false,
      status: 403,
      code: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
  });

  it('rejects a wrong secret, a changed body, path, query or signed header, with the canonical request', async () => {
    const wrongSecret = await signedRequest({
      credential: { ...ALICE, secretAccessKey: 'not-the-secret' },
    });
    const result = await refusal(receivedAs(wrongSecret));
    expect(result.code).toBe('InvalidSignatureException');
    expect(result.message).toMatch(
      /^The request signature we calculated does not match the signature you provided\. Check your AWS Secret Access Key and signing method\. Consult the service documentation for details\.\n\nThe Canonical String for this request should have been\n'POST\n\/jobs\n\ncontent-type:application\/json\n/,
    );
    expect(result.message).toContain(
      "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20261128T100000Z\n20261128/eu-west-1/execute-api/aws4_request\n",
    );

    const req = await signedRequest({ url: `https://${HOST}/jobs?a=1` });
    const tamper = [
      received(req.method, req.url, req.headers, '{"type":"other"}'),
      received(req.method, req.url.replace('/jobs', '/jobz'), req.headers, req.body),
      received(req.method, req.url.replace('a=1', 'a=2'), req.headers, req.body),
      received(req.method, req.url, { ...req.headers, 'content-type': 'text/plain' }, req.body),
      received('PUT', req.url, req.headers, req.body),
    ];
    for (const request of tamper) {
      expect((await refusal(request)).code).toBe('InvalidSignatureException');
    }
  });

  it('signs the real body even when x-amz-content-sha256 claims another, and honours UNSIGNED-PAYLOAD', async () => {
    const claimed = await signRequest({
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
    expect((await refusal(lying)).code).toBe('InvalidSignatureException');

    const unsignedHeaders = { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    const unsigned = await signRequest({
      method: 'POST',
      url: `https://${HOST}/jobs`,
      headers: unsignedHeaders,
      body: 'any body at all',
      credentials: ALICE,
      region: REGION,
      service: SERVICE,
      now: NOW,
    });
    const result = await verify(
      received(
        'POST',
        `https://${HOST}/jobs`,
        { ...unsignedHeaders, ...unsigned },
        'a different body',
      ),
    );
    expect(result.ok).toBe(true);
  });

  it('requires host to be signed', async () => {
    const added = await signRequest({
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
    const result = await refusal(
      received('GET', `https://${HOST}/jobs`, { ...added, authorization: authorization ?? '' }),
    );
    expect(result.message).toBe("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  });

  it('allows five minutes of clock skew either way, with AWS messages past it', async () => {
    const minute = 60_000;
    const at = async (signedAt: number, now: number) =>
      verify(receivedAs(await signedRequest({ at: signedAt }), { now }));
    expect((await at(NOW - 5 * minute, NOW)).ok).toBe(true);
    expect((await at(NOW + 5 * minute, NOW)).ok).toBe(true);
    expect(await at(NOW - 6 * minute, NOW)).toMatchObject({
      ok: false,
      message:
        'Signature expired: 20261128T095400Z is now earlier than 20261128T095500Z (20261128T100000Z - 5 min.)',
    });
    expect(await at(NOW + 6 * minute, NOW)).toMatchObject({
      ok: false,
      message:
        'Signature not yet current: 20261128T100600Z is still later than 20261128T100500Z (20261128T100000Z + 5 min.)',
    });
    // Some services (DynamoDB) allow 15 minutes.
    const req = await signedRequest({ at: NOW - 14 * minute });
    const dynamoLike = { maxSkewMinutes: 15 };
    expect((await verify(receivedAs(req), dynamoLike)).ok).toBe(true);
    expect((await refusal(receivedAs(req, { now: NOW + 2 * minute }), dynamoLike)).message).toBe(
      'Signature expired: 20261128T094600Z is now earlier than 20261128T094700Z (20261128T100200Z - 15 min.)',
    );
  });

  it('checks the credential scope: region, service and date', async () => {
    const otherRegion = await signedRequest({ region: 'us-east-1' });
    expect((await refusal(receivedAs(otherRegion))).message).toBe(
      "Credential should be scoped to a valid region, not 'us-east-1'. ",
    );
    const otherService = await signedRequest({ service: 'lambda' });
    expect((await refusal(receivedAs(otherService))).message).toBe(
      "Credential should be scoped to correct service: 'execute-api'. ",
    );
    const req = await signedRequest();
    const wrongDay = req.authorization.replace('/20261128/', '/20261127/');
    expect(
      (await refusal(receivedAs(req, { headers: { ...req.headers, authorization: wrongDay } })))
        .message,
    ).toBe(
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261127' != '20261128', from '20261128T100000Z'.",
    );
    // Without options, any region and service verify.
    expect((await verify(receivedAs(otherService), {})).ok).toBe(true);
  });

  it("checks a session credential's token", async () => {
    // Signed correctly with the session's key, but without its token.
    const noToken = await signedRequest({ credential: { ...SESSION, sessionToken: undefined } });
    expect(await refusal(receivedAs(noToken))).toEqual({
      ok: false,
      status: 403,
      code: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid',
    });
    // The token is a signed header: replacing it breaks the signature.
    const req = await signedRequest({ credential: SESSION });
    const forged = receivedAs(req, {
      headers: { ...req.headers, 'x-amz-security-token': 'forged' },
    });
    expect((await refusal(forged)).code).toBe('InvalidSignatureException');
    // A long-term key does not take a token.
    const aliceWithToken = await signedRequest({
      credential: { ...ALICE, sessionToken: 'invented' },
    });
    expect((await refusal(receivedAs(aliceWithToken))).code).toBe('UnrecognizedClientException');
  });

  it('reads repeated headers as AWS does', async () => {
    const added = await signRequest({
      method: 'GET',
      url: `https://${HOST}/jobs`,
      headers: { 'x-custom': 'a,b' },
      credentials: ALICE,
      region: REGION,
      service: SERVICE,
      now: NOW,
    });
    const request = received('GET', `https://${HOST}/jobs`, added);
    const result = await verify({
      ...request,
      headers: { ...request.headers, 'x-custom': [' a', 'b '] },
    });
    expect(result.ok).toBe(true);
  });
});

describe('names of Object members', () => {
  it('reads a signed header named constructor, whatever the case of its key', async () => {
    // Prepare
    const signed = await sdkSigner(ALICE).sign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname: HOST,
        path: '/jobs',
        query: {},
        headers: { host: HOST, constructor: 'x' },
      },
      { signingDate: new Date(NOW) },
    );
    const { constructor: value, ...rest } = signed.headers;

    // Act
    const result = await verify({
      method: 'GET',
      rawPath: '/jobs',
      rawQuery: '',
      headers: Object.fromEntries([...Object.entries(rest), ['Constructor', value ?? '']]),
      body: '',
      now: NOW,
    });

    // Assess
    expect(signed.headers.authorization).toContain('SignedHeaders=constructor;host;');
    expect(result.ok).toBe(true);
  });
});

describe('query parameters named like the presign ones', () => {
  /** A GET of `path` signed in its Authorization header, the signature covering exactly `signedQuery`. */
  async function headerSigned(path: string, signedQuery: string): Promise<VerifiableRequest> {
    // By hand: the SDK's signer leaves any x-amz-signature parameter out of the
    // canonical query even when it signs in a header, where AWS signs every parameter.
    const canonical = [
      'GET',
      path,
      signedQuery,
      `host:${HOST}`,
      'x-amz-date:20261128T100000Z',
      '',
      'host;x-amz-date',
      EMPTY_SHA256,
    ].join('\n');
    const scope = `20261128/${REGION}/${SERVICE}/aws4_request`;
    const toSign = [
      'AWS4-HMAC-SHA256',
      '20261128T100000Z',
      scope,
      createHash('sha256').update(canonical).digest('hex'),
    ].join('\n');
    const signature = await sdkSigner(ALICE).sign(toSign, { signingDate: new Date(NOW) });
    return {
      method: 'GET',
      rawPath: path,
      rawQuery: signedQuery,
      headers: {
        host: HOST,
        'x-amz-date': '20261128T100000Z',
        authorization: `AWS4-HMAC-SHA256 Credential=${ALICE.accessKeyId}/${scope}, SignedHeaders=host;x-amz-date, Signature=${signature}`,
      },
      body: '',
      now: NOW,
    };
  }

  it('signs an X-AMZ-SIGNATURE parameter of a header-signed request, in any case', async () => {
    // Prepare
    const withoutIt = await headerSigned('/jobs/a', 'page=1');
    const withIt = await headerSigned('/jobs/a', 'X-AMZ-SIGNATURE=x&page=1');

    // Act
    const added = await verify({ ...withoutIt, rawQuery: 'X-AMZ-SIGNATURE=x&page=1' });
    const addedExactCase = await verify({ ...withoutIt, rawQuery: 'X-Amz-Signature=x&page=1' });
    const signedOver = await verify(withIt);

    // Assess
    expect(added).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
    expect(addedExactCase).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
    expect(signedOver.ok).toBe(true);
  });

  it("leaves out only a presigned request's own X-Amz-Signature", async () => {
    // Prepare
    const url = await presignUrl({
      method: 'GET',
      url: `https://${HOST}/jobs?page=1`,
      credentials: ALICE,
      region: REGION,
      service: SERVICE,
      now: NOW,
      expiresIn: 300,
    });

    // Act
    const asSigned = await verify(received('GET', url, {}));
    const lowerCaseAdded = await verify(received('GET', `${url}&x-amz-signature=x`, {}));

    // Assess
    expect(asSigned.ok).toBe(true);
    expect(lowerCaseAdded).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
  });

  it('reads X-Amz-Content-Sha256 from the query only on a presigned request', async () => {
    // Prepare: an SDK client signs the body's hash and the parameter as an ordinary one.
    const body = '{"type":"report"}';
    const signed = await sdkSigner(ALICE, { applyChecksum: false }).sign(
      {
        method: 'POST',
        protocol: 'https:',
        hostname: HOST,
        path: '/jobs',
        query: { 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
        headers: { host: HOST, 'content-type': 'application/json' },
        body,
      },
      { signingDate: new Date(NOW) },
    );

    // Act
    const result = await verify({
      method: 'POST',
      rawPath: '/jobs',
      rawQuery: 'X-Amz-Content-Sha256=UNSIGNED-PAYLOAD',
      headers: signed.headers,
      body,
      now: NOW,
    });

    // Assess
    expect(result.ok).toBe(true);
  });
});
