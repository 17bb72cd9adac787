import { createHmac } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type LookupAll, resolveSafeAddress } from '../../../../functions/shared/ssrf';
import {
  deliverWebhook,
  isRetryableStatus,
  retryDelayMs,
  signWebhook,
  type VerifyWebhookResult,
  verifyWebhook,
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  WebhookSecretError,
  webhookHeaders,
  webhookKeys,
} from '../../../../functions/shared/webhook';

/** Standard Webhooks secrets: `whsec_` and the base64 of the key. */
const SECRET = `whsec_${Buffer.from('eventjobs test key 0123456789abcdef').toString('base64')}`;
const OLD_SECRET = `whsec_${Buffer.from('eventjobs old key fedcba9876543210').toString('base64')}`;
/** Shaped like the stack's Secrets Manager secret: 64 letters and digits, no prefix. */
const STACK_SECRET = 'Zq3kT9vXw2LmN8pR4sB6yC1dF7gH5jK0aE2iO9uY3tW6xV8zQ4rS1nM7bL5cJ0hG';
const BODY = '{"jobName":"nightly","status":"SUCCEEDED","result":{"rows":3}}';
const ID = '01JD7Q3W3ZK8P6M4R2T9V5X1YB';
const T = 1_800_000_000;

/** The signature as the spec defines it, computed here without the code under test. */
function v1(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers of a delivery signed at `timestamp`. */
function signed(
  secret: string | readonly string[],
  timestamp = T,
  body = BODY,
): Record<string, string> {
  return {
    [WEBHOOK_ID_HEADER]: ID,
    [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
    [WEBHOOK_SIGNATURE_HEADER]: signWebhook({ secret, id: ID, timestamp, body }),
  };
}

// ---------------------------------------------------------------- keys

describe('webhookKeys', () => {
  it('reads a secret as base64, with or without the whsec_ prefix', () => {
    // Act
    const [prefixed] = webhookKeys(SECRET);
    const [bare] = webhookKeys(SECRET.slice('whsec_'.length));

    // Assess
    expect(prefixed?.toString('utf8')).toBe('eventjobs test key 0123456789abcdef');
    expect(bare).toEqual(prefixed);
  });

  it("reads the stack's secret (64 letters and digits) as it is: 48 key bytes", () => {
    // Act
    const keys = webhookKeys(STACK_SECRET);

    // Assess
    expect(keys).toHaveLength(1);
    expect(keys[0]).toEqual(Buffer.from(STACK_SECRET, 'base64'));
    expect(keys[0]?.length).toBe(48);
  });

  it('takes several secrets separated by whitespace, or as a list', () => {
    // Act & Assess
    expect(webhookKeys(` ${SECRET}  ${OLD_SECRET}\n`)).toHaveLength(2);
    expect(webhookKeys([SECRET, `${OLD_SECRET} ${STACK_SECRET}`])).toHaveLength(3);
  });

  it.each([
    ['empty', ''],
    ['blank', ' \n '],
    ['the prefix alone', 'whsec_'],
    ['unpadded base64', 'YWJj0'],
    ['base64url', 'ab-_'],
    ['punctuation', 'p@ss!word'],
  ])('refuses %s, without quoting the value', (_name, secret) => {
    // Act
    const thrown = (() => {
      try {
        webhookKeys(secret);
      } catch (error) {
        return error;
      }
    })();

    // Assess
    expect(thrown).toBeInstanceOf(WebhookSecretError);
    expect((thrown as Error).name).toBe('WebhookSecretError');
    if (secret.length > 'whsec_'.length) expect((thrown as Error).message).not.toContain(secret);
  });

  it('names which of several secrets is wrong', () => {
    // Act & Assess
    expect(() => webhookKeys(`${SECRET} not-base64!`)).toThrow(/secret 2 of 2/);
  });
});

// ---------------------------------------------------------------- signing

describe('signWebhook', () => {
  it('is v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>"> under the decoded key', () => {
    // Act
    const signature = signWebhook({ secret: SECRET, id: ID, timestamp: T, body: BODY });

    // Assess
    expect(signature).toBe(v1(SECRET, ID, T, BODY));
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('signs once per key, separated by spaces', () => {
    // Act
    const signature = signWebhook({
      secret: `${SECRET} ${OLD_SECRET}`,
      id: ID,
      timestamp: T,
      body: BODY,
    });

    // Assess
    expect(signature).toBe(`${v1(SECRET, ID, T, BODY)} ${v1(OLD_SECRET, ID, T, BODY)}`);
  });

  it('signs the raw bytes: a Buffer and its UTF-8 text sign alike', () => {
    // Prepare
    const text = '{"emoji":"🎉","é":1}';
    const input = { secret: SECRET, id: ID, timestamp: T };

    // Act & Assess
    expect(signWebhook({ ...input, body: Buffer.from(text, 'utf8') })).toBe(
      signWebhook({ ...input, body: text }),
    );
  });

  it('signs exactly as the standardwebhooks package does', () => {
    // Act & Assess
    expect(signWebhook({ secret: SECRET, id: ID, timestamp: T, body: BODY })).toBe(
      new Webhook(SECRET).sign(ID, new Date(T * 1000), BODY),
    );
  });

  it('refuses a timestamp that is not whole seconds, and an id that cannot be a header', () => {
    // Act & Assess
    expect(() => signWebhook({ secret: SECRET, id: ID, timestamp: 1.5, body: BODY })).toThrow(
      RangeError,
    );
    expect(() => signWebhook({ secret: SECRET, id: 'a b', timestamp: T, body: BODY })).toThrow(
      RangeError,
    );
    expect(() => signWebhook({ secret: SECRET, id: '', timestamp: T, body: BODY })).toThrow(
      RangeError,
    );
  });
});

describe('webhookHeaders', () => {
  it('carries content type, user agent, and webhook-id, -timestamp and -signature of the current second', () => {
    // Act
    const headers = webhookHeaders({
      secret: SECRET,
      body: BODY,
      deliveryId: ID,
      now: T * 1000 + 999,
    });

    // Assess
    expect(headers).toEqual({
      'content-type': 'application/json',
      'user-agent': 'eventjobs-webhook/1',
      'webhook-id': ID,
      'webhook-timestamp': String(T),
      'webhook-signature': v1(SECRET, ID, T, BODY),
    });
  });
});

// ---------------------------------------------------------------- the standardwebhooks package

describe('what a receiver with the standardwebhooks package sees', () => {
  it("verifies a delivery with the stack's secret value as it is, prefixed or not", () => {
    // Prepare
    const headers = webhookHeaders({ secret: STACK_SECRET, body: BODY, deliveryId: ID });

    // Act & Assess
    expect(new Webhook(STACK_SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(new Webhook(`whsec_${STACK_SECRET}`).verify(BODY, headers)).toEqual(JSON.parse(BODY));
  });

  it('verifies a delivery signed with two keys with either one', () => {
    // Prepare
    const headers = webhookHeaders({
      secret: `${SECRET} ${OLD_SECRET}`,
      body: BODY,
      deliveryId: ID,
    });

    // Act & Assess
    expect(new Webhook(SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(new Webhook(OLD_SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
  });

  it('refuses a tampered body, another secret and an old delivery', () => {
    // Prepare
    const headers = webhookHeaders({ secret: SECRET, body: BODY, deliveryId: ID });
    const old = webhookHeaders({
      secret: SECRET,
      body: BODY,
      deliveryId: ID,
      now: Date.now() - 600_000,
    });

    // Act & Assess
    expect(() => new Webhook(SECRET).verify(BODY.replace('3', '4'), headers)).toThrow(
      'No matching signature found',
    );
    expect(() => new Webhook(OLD_SECRET).verify(BODY, headers)).toThrow(
      'No matching signature found',
    );
    expect(() => new Webhook(SECRET).verify(BODY, old)).toThrow('Message timestamp too old');
  });
});

// ---------------------------------------------------------------- verification

describe('verifyWebhook', () => {
  const headers = signed(SECRET);
  const now = T * 1000;

  it('accepts what was signed, returning the delivery id and timestamp', () => {
    // Act & Assess
    expect(verifyWebhook({ secret: SECRET, headers, body: BODY, now })).toEqual({
      ok: true,
      id: ID,
      timestamp: T,
    });
    expect(verifyWebhook({ secret: SECRET, headers, body: Buffer.from(BODY), now }).ok).toBe(true);
  });

  it('accepts a delivery the standardwebhooks package signed', () => {
    // Prepare
    const signature = new Webhook(STACK_SECRET).sign(ID, new Date(now), BODY);
    const fromPackage = { ...headers, [WEBHOOK_SIGNATURE_HEADER]: signature };

    // Act & Assess
    expect(verifyWebhook({ secret: STACK_SECRET, headers: fromPackage, body: BODY, now }).ok).toBe(
      true,
    );
  });

  it('reads a fetch Headers, and header names in any case', () => {
    // Prepare
    const capitalised = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]),
    );

    // Act & Assess
    expect(
      verifyWebhook({ secret: SECRET, headers: new Headers(headers), body: BODY, now }).ok,
    ).toBe(true);
    expect(verifyWebhook({ secret: SECRET, headers: capitalised, body: BODY, now }).ok).toBe(true);
  });

  it('refuses a tampered body', () => {
    // Act
    const result = verifyWebhook({
      secret: SECRET,
      headers,
      body: BODY.replace('SUCCEEDED', 'FAILED'),
      now,
    });

    // Assess
    expect(result).toEqual({
      ok: false,
      code: 'no_matching_signature',
      reason: 'No signature matches the id, timestamp and body under the secret.',
    });
  });

  it('refuses a body that differs by whitespace only (re-serialised JSON is not the raw body)', () => {
    // Act
    const result = verifyWebhook({
      secret: SECRET,
      headers,
      body: JSON.stringify(JSON.parse(BODY), null, 2),
      now,
    });

    // Assess
    expect(result).toMatchObject({ ok: false, code: 'no_matching_signature' });
  });

  it('refuses the wrong secret', () => {
    // Act & Assess
    expect(verifyWebhook({ secret: OLD_SECRET, headers, body: BODY, now })).toMatchObject({
      ok: false,
      code: 'no_matching_signature',
    });
  });

  it.each([
    ['another timestamp', { [WEBHOOK_TIMESTAMP_HEADER]: String(T + 1) }],
    ['another id', { [WEBHOOK_ID_HEADER]: `${ID}x` }],
  ])('refuses a signature moved to %s', (_name, change) => {
    // Act & Assess
    expect(
      verifyWebhook({ secret: SECRET, headers: { ...headers, ...change }, body: BODY, now }),
    ).toMatchObject({ ok: false, code: 'no_matching_signature' });
  });

  describe('secret rotation', () => {
    it('accepts a delivery signed with two keys under either secret', () => {
      // Prepare
      const both = signed([SECRET, OLD_SECRET]);

      // Act & Assess
      expect(verifyWebhook({ secret: SECRET, headers: both, body: BODY, now }).ok).toBe(true);
      expect(verifyWebhook({ secret: OLD_SECRET, headers: both, body: BODY, now }).ok).toBe(true);
      expect(verifyWebhook({ secret: STACK_SECRET, headers: both, body: BODY, now })).toMatchObject(
        { ok: false, code: 'no_matching_signature' },
      );
    });

    it('accepts a single signature when the receiver holds both secrets', () => {
      // Prepare
      const signedWithOld = signed(OLD_SECRET);

      // Act & Assess
      expect(
        verifyWebhook({ secrets: [SECRET, OLD_SECRET], headers: signedWithOld, body: BODY, now }),
      ).toEqual({ ok: true, id: ID, timestamp: T });
      expect(
        verifyWebhook({
          secret: `${SECRET} ${OLD_SECRET}`,
          headers: signedWithOld,
          body: BODY,
          now,
        }).ok,
      ).toBe(true);
      expect(verifyWebhook({ secrets: [SECRET], headers: signedWithOld, body: BODY, now }).ok).toBe(
        false,
      );
    });

    it('throws WebhookSecretError without a secret, or with one that is not base64', () => {
      // Act & Assess
      expect(() => verifyWebhook({ secrets: [], headers, body: BODY, now })).toThrow(
        WebhookSecretError,
      );
      expect(() => verifyWebhook({ secret: 'not base64!', headers, body: BODY, now })).toThrow(
        WebhookSecretError,
      );
    });
  });

  describe('timestamps', () => {
    it.each([
      [-300, true, undefined],
      [300, true, undefined],
      [-301, false, 'timestamp_in_future'],
      [301, false, 'timestamp_too_old'],
      [86_400, false, 'timestamp_too_old'],
    ])('receiver clock %i s after signing → ok=%s (%s)', (offset, ok, code) => {
      // Act
      const result = verifyWebhook({
        secret: SECRET,
        headers,
        body: BODY,
        now: (T + offset) * 1000,
      });

      // Assess
      expect(result.ok).toBe(ok);
      if (!result.ok) expect(result.code).toBe(code);
    });

    it('honours a custom tolerance', () => {
      // Act
      const result = verifyWebhook({
        secret: SECRET,
        headers,
        body: BODY,
        toleranceSeconds: 10,
        now: (T + 11) * 1000,
      });

      // Assess
      expect(result).toEqual({
        ok: false,
        code: 'timestamp_too_old',
        reason: 'The signature is 11 seconds old; at most 10 are accepted.',
      });
    });

    it('checks the signature before the timestamp', () => {
      // Act
      const result = verifyWebhook({
        secret: OLD_SECRET,
        headers,
        body: BODY,
        now: (T + 3600) * 1000,
      });

      // Assess
      expect(result).toMatchObject({ ok: false, code: 'no_matching_signature' });
    });
  });

  describe('header forms', () => {
    const signature = headers[WEBHOOK_SIGNATURE_HEADER] ?? '';

    it.each([
      ['no webhook-id', { [WEBHOOK_ID_HEADER]: undefined }, /The webhook-id header is missing/],
      ['an empty webhook-timestamp', { [WEBHOOK_TIMESTAMP_HEADER]: '' }, /webhook-timestamp/],
      ['a blank webhook-signature', { [WEBHOOK_SIGNATURE_HEADER]: '  ' }, /webhook-signature/],
    ])('%s → missing_header', (_name, change, reason) => {
      // Act
      const result = verifyWebhook({
        secret: SECRET,
        headers: { ...headers, ...change },
        body: BODY,
        now,
      });

      // Assess
      expect(result).toMatchObject({ ok: false, code: 'missing_header' });
      expect(result.ok ? '' : result.reason).toMatch(reason);
    });

    it('names every missing header at once', () => {
      // Act & Assess
      expect(verifyWebhook({ secret: SECRET, headers: {}, body: BODY, now })).toEqual({
        ok: false,
        code: 'missing_header',
        reason: 'The webhook-id, webhook-timestamp, webhook-signature headers are missing.',
      });
    });

    it.each([
      ['timestamp not digits', { [WEBHOOK_TIMESTAMP_HEADER]: 'abc' }, /webhook-timestamp/],
      ['negative timestamp', { [WEBHOOK_TIMESTAMP_HEADER]: '-1' }, /webhook-timestamp/],
      ['milliseconds timestamp', { [WEBHOOK_TIMESTAMP_HEADER]: `${T}000` }, /not Unix seconds/],
      ['garbage signature', { [WEBHOOK_SIGNATURE_HEADER]: 'garbage' }, /<version>,<signature>/],
      ['the old t=,v1= form', { [WEBHOOK_SIGNATURE_HEADER]: `t=${T},v1=ab` }, /no v1/],
      ['short signature', { [WEBHOOK_SIGNATURE_HEADER]: signature.slice(0, -4) }, /base64 of 32/],
      ['only another scheme', { [WEBHOOK_SIGNATURE_HEADER]: `v1a,${'A'.repeat(86)}==` }, /no v1/],
    ])('%s → malformed_header', (_name, change, reason) => {
      // Act
      const result = verifyWebhook({
        secret: SECRET,
        headers: { ...headers, ...change },
        body: BODY,
        now,
      });

      // Assess
      expect(result).toMatchObject({ ok: false, code: 'malformed_header' });
      expect(result.ok ? '' : result.reason).toMatch(reason);
    });

    it('tolerates extra spaces, unknown schemes and a signature header repeated as an array', () => {
      // Prepare
      const forms = [
        ` ${signature}  `,
        `v1a,${'A'.repeat(86)}== ${signature} v2,future`,
        [`v1,${'A'.repeat(43)}=`, signature],
      ];

      // Act & Assess
      for (const value of forms) {
        expect(
          verifyWebhook({
            secret: SECRET,
            headers: { ...headers, [WEBHOOK_SIGNATURE_HEADER]: value },
            body: BODY,
            now,
          }),
        ).toEqual({ ok: true, id: ID, timestamp: T });
      }
    });
  });
});

// ---------------------------------------------------------------- retry policy

describe('retry policy', () => {
  it('retries 408, 425, 429 and 5xx only', () => {
    // Assess
    expect([408, 425, 429, 500, 502, 503, 599].every(isRetryableStatus)).toBe(true);
    expect([200, 301, 400, 401, 403, 404, 409, 410, 413, 422, 600].some(isRetryableStatus)).toBe(
      false,
    );
  });

  it('backs off exponentially with full jitter, capped', () => {
    // Prepare
    const options = { baseDelayMs: 500, maxDelayMs: 8000 };
    const top = { ...options, random: () => 0.999_999 };

    // Act
    const ceilings = [1, 2, 3, 4, 5, 6, 7].map((retry) => retryDelayMs(retry, top));

    // Assess
    expect(ceilings).toEqual([499, 999, 1999, 3999, 7999, 7999, 7999]);
    expect(retryDelayMs(3, { ...options, random: () => 0 })).toBe(0);
    expect(retryDelayMs(3, { ...options, random: () => 0.5 })).toBe(1000);
  });
});

// ---------------------------------------------------------------- delivery over HTTP

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly verified: VerifyWebhookResult;
  /** What the standardwebhooks package's `Webhook.verify` made of it: the body, or its error. */
  readonly packageVerified:
    | { readonly ok: true; readonly payload: unknown }
    | { readonly ok: false; readonly error: string };
  readonly remoteAddress: string | undefined;
}

interface Receiver {
  readonly port: number;
  readonly url: string;
  readonly received: Received[];
}

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/**
 * A webhook receiver on 127.0.0.1 that verifies each delivery over the raw
 * bytes it received, with `verifyWebhook` and with the standardwebhooks
 * package, records it, and answers with `reply` (which is told the request's
 * index, from 0).
 */
async function startReceiver(
  reply: (response: ServerResponse, index: number) => void,
): Promise<Receiver> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const verified = verifyWebhook({ secret: SECRET, headers: request.headers, body });
      received.push({
        headers: request.headers,
        body,
        verified,
        packageVerified: verifyWithPackage(request.headers, body),
        remoteAddress: request.socket.remoteAddress,
      });
      reply(response, received.length - 1);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { port, url: `http://127.0.0.1:${port}/hooks/eventjobs?tenant=a`, received };
}

function verifyWithPackage(
  headers: IncomingHttpHeaders,
  body: Buffer,
): Received['packageVerified'] {
  try {
    return {
      ok: true,
      payload: new Webhook(SECRET).verify(body, headers as Record<string, string>),
    };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

function answer(status: number, headers: Record<string, string> = {}) {
  return (response: ServerResponse) => {
    response.writeHead(status, headers);
    response.end(`status ${status}`);
  };
}

/** Fast deliveries: tiny backoff, recorded sleeps, no jitter surprises. */
function fast(sleeps: number[] = []) {
  return {
    body: BODY,
    secret: SECRET,
    deliveryId: 'dlv-42',
    allowHttpLocalhost: true,
    baseDelayMs: 5,
    maxDelayMs: 20,
    random: () => 0.5,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
  };
}

describe('deliverWebhook', () => {
  it('delivers a signed POST that the receiver verifies, with verifyWebhook and with the standardwebhooks package', async () => {
    // Prepare
    const receiver = await startReceiver(answer(204));

    // Act
    const result = await deliverWebhook({ url: receiver.url, ...fast() });

    // Assess
    expect(result).toEqual({
      delivered: true,
      attempts: 1,
      status: 204,
      deliveredAt: expect.any(String),
      lastAttemptAt: expect.any(String),
    });
    expect(Date.parse(result.deliveredAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(result.lastAttemptAt),
    );
    expect(receiver.received).toHaveLength(1);
    const [delivery] = receiver.received;
    expect(delivery?.verified).toMatchObject({ ok: true, id: 'dlv-42' });
    expect(delivery?.packageVerified).toEqual({ ok: true, payload: JSON.parse(BODY) });
    expect(delivery?.body.toString('utf8')).toBe(BODY);
    expect(delivery?.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'eventjobs-webhook/1',
      [WEBHOOK_ID_HEADER]: 'dlv-42',
      host: `127.0.0.1:${receiver.port}`,
      'content-length': String(Buffer.byteLength(BODY)),
    });
  });

  it('retries a 500, re-signing, then succeeds', async () => {
    // Prepare
    const receiver = await startReceiver((response, index) =>
      answer(index === 0 ? 500 : 200)(response),
    );
    const sleeps: number[] = [];

    // Act
    const result = await deliverWebhook({ url: receiver.url, ...fast(sleeps) });

    // Assess
    expect(result).toMatchObject({ delivered: true, attempts: 2, status: 200 });
    expect(receiver.received.map((r) => r.verified.ok)).toEqual([true, true]);
    expect(receiver.received.map((r) => r.packageVerified.ok)).toEqual([true, true]);
    expect(receiver.received.map((r) => r.headers[WEBHOOK_ID_HEADER])).toEqual([
      'dlv-42',
      'dlv-42',
    ]);
    expect(sleeps).toEqual([2]); // 0.5 × min(20, 5 × 2⁰), floored
  });

  it('signs every attempt with a fresh timestamp', async () => {
    // Prepare
    const receiver = await startReceiver((response, index) =>
      answer(index < 2 ? 503 : 200)(response),
    );
    let clock = T * 1000;
    vi.spyOn(Date, 'now').mockImplementation(() => {
      clock += 7_000;
      return clock;
    });

    // Act
    const result = await deliverWebhook({ url: receiver.url, ...fast() });

    // Assess
    expect(result).toMatchObject({ delivered: true, attempts: 3 });
    const stamps = receiver.received.map((r) => Number(r.headers[WEBHOOK_TIMESTAMP_HEADER]));
    expect(stamps).toHaveLength(3);
    expect(stamps[0]).toBeGreaterThan(T);
    expect(stamps[1]).toBeGreaterThan(stamps[0] ?? Infinity);
    expect(stamps[2]).toBeGreaterThan(stamps[1] ?? Infinity);
    receiver.received.forEach((r, i) => {
      const verified = verifyWebhook({
        secret: SECRET,
        headers: r.headers,
        body: r.body,
        now: (stamps[i] ?? 0) * 1000,
      });
      expect(verified.ok).toBe(true);
    });
  });

  it('gives up after the last attempt, reporting the last status', async () => {
    // Prepare
    const receiver = await startReceiver(answer(503));
    const sleeps: number[] = [];

    // Act
    const result = await deliverWebhook({
      url: receiver.url,
      ...fast(sleeps),
      attempts: 4,
      random: () => 0.999,
    });

    // Assess
    expect(result).toEqual({
      delivered: false,
      attempts: 4,
      status: 503,
      error: 'The receiver answered 503.',
      lastAttemptAt: expect.any(String),
    });
    expect(receiver.received).toHaveLength(4);
    expect(sleeps).toEqual([4, 9, 19]); // 5, 10, 20 (capped), jittered by 0.999
  });

  it.each([408, 425, 429])('retries %i', async (status) => {
    // Prepare
    const receiver = await startReceiver((response, index) =>
      answer(index === 0 ? status : 202)(response),
    );

    // Act
    const result = await deliverWebhook({ url: receiver.url, ...fast() });

    // Assess
    expect(result).toMatchObject({ delivered: true, attempts: 2, status: 202 });
  });

  it.each([400, 401, 404, 410, 422])('does not retry %i', async (status) => {
    // Prepare
    const receiver = await startReceiver(answer(status));
    const sleeps: number[] = [];

    // Act
    const result = await deliverWebhook({ url: receiver.url, ...fast(sleeps) });

    // Assess
    expect(result).toMatchObject({
      delivered: false,
      attempts: 1,
      status,
      error: `The receiver answered ${status}.`,
    });
    expect(receiver.received).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('does not follow a redirect, nor retry it', async () => {
    // Prepare
    const elsewhere = await startReceiver(answer(200));
    const receiver = await startReceiver(answer(302, { location: elsewhere.url }));

    // Act
    const result = await deliverWebhook({ url: receiver.url, ...fast() });

    // Assess
    expect(result).toMatchObject({ delivered: false, attempts: 1, status: 302 });
    expect(result.error).toContain('redirect');
    expect(receiver.received).toHaveLength(1);
    expect(elsewhere.received).toHaveLength(0);
  });

  it('retries an attempt that times out', async () => {
    // Prepare: the first request is never answered.
    const receiver = await startReceiver((response, index) => {
      if (index > 0) answer(200)(response);
    });

    // Act
    const result = await deliverWebhook({ url: receiver.url, ...fast(), timeoutMs: 150 });

    // Assess
    expect(result).toMatchObject({ delivered: true, attempts: 2, status: 200 });
    expect(receiver.received).toHaveLength(2);
  });

  it('reports a timeout when every attempt times out', async () => {
    // Prepare
    const receiver = await startReceiver(() => undefined);

    // Act
    const result = await deliverWebhook({
      url: receiver.url,
      ...fast(),
      attempts: 2,
      timeoutMs: 100,
    });

    // Assess
    expect(result).toMatchObject({
      delivered: false,
      attempts: 2,
      error: 'The receiver did not answer within 100 ms.',
    });
    expect(result.status).toBeUndefined();
  });

  it('retries a receiver that is down, then gives up', async () => {
    // Prepare: a port that was just free.
    const gone = await startReceiver(answer(200));
    const server = servers.pop();
    await new Promise<void>((resolve) => server?.close(() => resolve()));

    // Act
    const result = await deliverWebhook({ url: gone.url, ...fast(), attempts: 3 });

    // Assess
    expect(result.delivered).toBe(false);
    expect(result.attempts).toBe(3);
    expect(result.status).toBeUndefined();
    expect(result.error).toContain('ECONNREFUSED');
  });

  it('reads a large response body only up to the cap', async () => {
    // Prepare
    const receiver = await startReceiver((response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('x'.repeat(4 * 1024 * 1024));
    });

    // Act
    const result = await deliverWebhook({ url: receiver.url, ...fast() });

    // Assess
    expect(result).toMatchObject({ delivered: true, attempts: 1, status: 200 });
  });

  it('refuses a blocked URL at once, without a request or a retry', async () => {
    // Prepare
    const sleeps: number[] = [];

    // Act
    const result = await deliverWebhook({
      url: 'https://169.254.169.254/latest/meta-data/',
      ...fast(sleeps),
    });

    // Assess
    expect(result).toMatchObject({ delivered: false, attempts: 1 });
    expect(result.error).toContain('169.254.0.0/16');
    expect(sleeps).toEqual([]);
  });

  it('refuses http: to a loopback receiver unless allowHttpLocalhost is set', async () => {
    // Prepare
    const receiver = await startReceiver(answer(200));

    // Act
    const result = await deliverWebhook({
      url: receiver.url,
      ...fast(),
      allowHttpLocalhost: false,
    });

    // Assess
    expect(result).toMatchObject({
      delivered: false,
      attempts: 1,
      error: 'The callback URL must use https.',
    });
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses invalid options', async () => {
    // Act & Assess
    await expect(
      deliverWebhook({ url: 'https://example.com', ...fast(), attempts: 0 }),
    ).rejects.toThrow(RangeError);
  });

  it('refuses a secret that is not a Standard Webhooks secret before any request', async () => {
    // Prepare
    const receiver = await startReceiver(answer(200));

    // Act
    const result = deliverWebhook({ url: receiver.url, ...fast(), secret: 'p@ssw0rd!' });

    // Assess
    await expect(result).rejects.toThrow(WebhookSecretError);
    expect(receiver.received).toHaveLength(0);
  });

  describe('one deadline for the lookup and the request', () => {
    it('abandons a lookup that outlives the attempt timeout, and fails the attempt as a timeout', async () => {
      // Prepare: a name server that never answers; the receiver is never reached.
      const receiver = await startReceiver(answer(200));
      let lookups = 0;
      const lookup: LookupAll = () => {
        lookups++;
        return new Promise(() => undefined);
      };
      const sleeps: number[] = [];

      // Act
      const result = await deliverWebhook({
        url: `http://localhost:${receiver.port}/cb`,
        ...fast(sleeps),
        attempts: 2,
        timeoutMs: 50,
        lookup,
      });

      // Assess: each attempt was a timeout worth a retry, and both were abandoned.
      expect(result).toMatchObject({
        delivered: false,
        attempts: 2,
        error: 'The callback host localhost did not resolve within 50 ms.',
      });
      expect(result.status).toBeUndefined();
      expect(lookups).toBe(2);
      expect(sleeps).toHaveLength(1);
      expect(receiver.received).toHaveLength(0);
    });

    it('counts the lookup against the timeout: a slow lookup leaves the request less time', async () => {
      // Prepare: the lookup takes 60 ms of a 100 ms attempt, and the receiver
      // answers 80 ms after the request arrives: in time on its own, not after the lookup.
      const receiver = await startReceiver((response) => {
        setTimeout(() => answer(200)(response), 80);
      });
      const lookup: LookupAll = () =>
        new Promise((resolve) => {
          setTimeout(() => resolve([{ address: '127.0.0.1', family: 4 }]), 60);
        });

      // Act
      const result = await deliverWebhook({
        url: `http://localhost:${receiver.port}/cb`,
        ...fast(),
        attempts: 1,
        timeoutMs: 100,
        lookup,
      });

      // Assess
      expect(result).toMatchObject({
        delivered: false,
        attempts: 1,
        error: 'The receiver did not answer within 100 ms.',
      });
      expect(receiver.received).toHaveLength(1);
    });
  });

  describe('DNS pinning', () => {
    /** A lookup that gives each answer in turn (the last one from then on), and counts calls. */
    function sequence(...answers: string[]): { lookup: LookupAll; calls: () => number } {
      let calls = 0;
      const lookup: LookupAll = async () => {
        const address = answers[Math.min(calls, answers.length - 1)] ?? '';
        calls++;
        return [{ address, family: address.includes(':') ? 6 : 4 }];
      };
      return { lookup, calls: () => calls };
    }

    it('refuses at delivery a host that was public when accepted but now points at loopback', async () => {
      // Prepare: the URL was vetted when accepted (first answer: public)...
      const receiver = await startReceiver(answer(200));
      const { lookup, calls } = sequence('93.184.216.34', '127.0.0.1');
      const url = 'https://hooks.rebind.example/cb';
      const accepted = await resolveSafeAddress('hooks.rebind.example', { lookup });
      const sleeps: number[] = [];

      // Act: ...and the DNS answer changed before the delivery.
      const result = await deliverWebhook({
        url,
        ...fast(sleeps),
        allowHttpLocalhost: false,
        lookup,
      });

      // Assess
      expect(accepted).toMatchObject({ ok: true, address: '93.184.216.34' });
      expect(result).toMatchObject({ delivered: false, attempts: 1 });
      expect(result.error).toContain('resolves to 127.0.0.1');
      expect(calls()).toBe(2);
      expect(sleeps).toEqual([]);
      expect(receiver.received).toHaveLength(0);
    });

    it('resolves again before each retry and stops when the answer turns to a blocked one', async () => {
      // Prepare
      const receiver = await startReceiver(answer(503));
      const { lookup, calls } = sequence('127.0.0.1', '169.254.169.254');

      // Act
      const result = await deliverWebhook({
        url: `http://localhost:${receiver.port}/cb`,
        ...fast(),
        lookup,
      });

      // Assess
      expect(result).toMatchObject({ delivered: false, attempts: 2 });
      expect(result.error).toContain('169.254.169.254');
      expect(receiver.received).toHaveLength(1);
      expect(calls()).toBe(2);
    });

    it('connects to the vetted address, keeping the host name in the Host header', async () => {
      // Prepare: the receiver listens on 127.0.0.1 only.
      const receiver = await startReceiver(answer(200));
      const url = `http://localhost:${receiver.port}/cb`;

      // Act: pinned to 127.0.0.1 it arrives; pinned to 127.0.0.2 it cannot,
      // whatever the system resolver says about localhost.
      const there = await deliverWebhook({ url, ...fast(), lookup: sequence('127.0.0.1').lookup });
      const elsewhere = await deliverWebhook({
        url,
        ...fast(),
        attempts: 1,
        lookup: sequence('127.0.0.2').lookup,
      });

      // Assess
      expect(there).toMatchObject({ delivered: true, attempts: 1 });
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]?.headers.host).toBe(`localhost:${receiver.port}`);
      expect(receiver.received[0]?.remoteAddress).toBe('127.0.0.1');
      expect(elsewhere).toMatchObject({ delivered: false, attempts: 1 });
      expect(elsewhere.error).toContain('ECONNREFUSED 127.0.0.2');
    });
  });
});
