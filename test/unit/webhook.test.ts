import { createHmac } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type LookupAll, resolveSafeAddress } from '../../functions/shared/ssrf';
import {
  DELIVERY_HEADER,
  deliverWebhook,
  isRetryableStatus,
  retryDelayMs,
  SIGNATURE_HEADER,
  signWebhook,
  type VerifyWebhookResult,
  verifyWebhook,
  webhookHeaders,
} from '../../functions/shared/webhook';

const SECRET = 'whsec_test_0123456789abcdef';
const OLD_SECRET = 'whsec_old_fedcba9876543210';
const BODY = '{"jobName":"nightly","status":"SUCCEEDED","result":{"rows":3}}';
const T = 1_800_000_000;

function hmacHex(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

// ---------------------------------------------------------------- signing

describe('signWebhook', () => {
  it('is t=<seconds>,v1=<HMAC-SHA256 of "<t>.<body>">', () => {
    // Act
    const header = signWebhook(SECRET, BODY, T);

    // Assess
    expect(header).toBe(`t=${T},v1=${hmacHex(SECRET, `${T}.${BODY}`)}`);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('signs the raw bytes: a Buffer and its UTF-8 text sign alike', () => {
    // Prepare
    const text = '{"emoji":"🎉","é":1}';

    // Act & Assess
    expect(signWebhook(SECRET, Buffer.from(text, 'utf8'), T)).toBe(signWebhook(SECRET, text, T));
  });

  it('refuses a timestamp that is not whole seconds', () => {
    // Act & Assess
    expect(() => signWebhook(SECRET, BODY, 1.5)).toThrow(RangeError);
  });
});

describe('webhookHeaders', () => {
  it('carries content type, user agent, a signature of the current second and the delivery id', () => {
    // Act
    const headers = webhookHeaders({
      secret: SECRET,
      body: BODY,
      deliveryId: 'dlv-1',
      now: T * 1000 + 999,
    });

    // Assess
    expect(headers).toEqual({
      'content-type': 'application/json',
      'user-agent': 'eventjobs-webhook/1',
      'eventjobs-signature': signWebhook(SECRET, BODY, T),
      'eventjobs-delivery': 'dlv-1',
    });
  });
});

// ---------------------------------------------------------------- verification

describe('verifyWebhook', () => {
  const header = signWebhook(SECRET, BODY, T);
  const now = T * 1000;

  it('accepts what was signed, returning the timestamp', () => {
    // Act & Assess
    expect(verifyWebhook({ secret: SECRET, header, body: BODY, now })).toEqual({
      ok: true,
      timestamp: T,
    });
    expect(verifyWebhook({ secret: SECRET, header, body: Buffer.from(BODY), now }).ok).toBe(true);
  });

  it('refuses a tampered body', () => {
    // Act
    const result = verifyWebhook({
      secret: SECRET,
      header,
      body: BODY.replace('SUCCEEDED', 'FAILED'),
      now,
    });

    // Assess
    expect(result).toMatchObject({ ok: false, code: 'no_matching_signature' });
  });

  it('refuses a body that differs by whitespace only (re-serialised JSON is not the raw body)', () => {
    // Act
    const result = verifyWebhook({
      secret: SECRET,
      header,
      body: JSON.stringify(JSON.parse(BODY), null, 2),
      now,
    });

    // Assess
    expect(result).toMatchObject({ ok: false, code: 'no_matching_signature' });
  });

  it('refuses the wrong secret', () => {
    // Act & Assess
    expect(verifyWebhook({ secret: 'whsec_other', header, body: BODY, now })).toMatchObject({
      ok: false,
      code: 'no_matching_signature',
    });
  });

  it('refuses a signature moved to another timestamp', () => {
    // Prepare
    const moved = header.replace(`t=${T}`, `t=${T + 1}`);

    // Act & Assess
    expect(verifyWebhook({ secret: SECRET, header: moved, body: BODY, now })).toMatchObject({
      ok: false,
      code: 'no_matching_signature',
    });
  });

  describe('secret rotation', () => {
    const both = `t=${T},v1=${hmacHex(OLD_SECRET, `${T}.${BODY}`)},v1=${hmacHex(SECRET, `${T}.${BODY}`)}`;

    it('accepts a header with two signatures under either secret', () => {
      // Act & Assess
      expect(verifyWebhook({ secret: SECRET, header: both, body: BODY, now }).ok).toBe(true);
      expect(verifyWebhook({ secret: OLD_SECRET, header: both, body: BODY, now }).ok).toBe(true);
      expect(verifyWebhook({ secret: 'whsec_third', header: both, body: BODY, now })).toMatchObject(
        { ok: false, code: 'no_matching_signature' },
      );
    });

    it('accepts a single signature when the receiver holds both secrets', () => {
      // Prepare
      const signedWithOld = signWebhook(OLD_SECRET, BODY, T);

      // Act & Assess
      expect(
        verifyWebhook({ secrets: [SECRET, OLD_SECRET], header: signedWithOld, body: BODY, now }),
      ).toEqual({ ok: true, timestamp: T });
      expect(verifyWebhook({ secrets: [SECRET], header: signedWithOld, body: BODY, now }).ok).toBe(
        false,
      );
    });

    it('needs at least one secret', () => {
      // Act & Assess
      expect(() => verifyWebhook({ secrets: [], header, body: BODY, now })).toThrow(TypeError);
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
        header,
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
        header,
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
        secret: 'whsec_other',
        header,
        body: BODY,
        now: (T + 3600) * 1000,
      });

      // Assess
      expect(result).toMatchObject({ ok: false, code: 'no_matching_signature' });
    });
  });

  describe('header forms', () => {
    const sig = hmacHex(SECRET, `${T}.${BODY}`);

    it.each([
      ['undefined', undefined, 'missing_header'],
      ['null', null, 'missing_header'],
      ['empty', '', 'missing_header'],
      ['blank', '   ', 'missing_header'],
      ['garbage', 'garbage', 'malformed_header'],
      ['no timestamp', `v1=${sig}`, 'malformed_header'],
      ['no signature', `t=${T}`, 'malformed_header'],
      ['only another scheme', `t=${T},v0=${sig}`, 'malformed_header'],
      ['timestamp not digits', `t=abc,v1=${sig}`, 'malformed_header'],
      ['negative timestamp', `t=-1,v1=${sig}`, 'malformed_header'],
      ['milliseconds timestamp', `t=${T}000,v1=${sig}`, 'malformed_header'],
      ['two timestamps', `t=${T},t=${T + 1},v1=${sig}`, 'malformed_header'],
      ['short signature', `t=${T},v1=${sig.slice(2)}`, 'malformed_header'],
      ['non-hex signature', `t=${T},v1=${'z'.repeat(64)}`, 'malformed_header'],
      ['empty key', `=${T},v1=${sig}`, 'malformed_header'],
    ])('%s → %s', (_name, value, code) => {
      // Act
      const result = verifyWebhook({ secret: SECRET, header: value, body: BODY, now: T * 1000 });

      // Assess
      expect(result).toMatchObject({ ok: false, code });
      expect(result.ok ? '' : result.reason).toMatch(/eventjobs-signature/);
    });

    it('tolerates spaces, upper-case hex, unknown schemes and a header repeated as an array', () => {
      // Prepare
      const forms = [
        ` t=${T} , v1=${sig} `,
        `t=${T},v1=${sig.toUpperCase()}`,
        `t=${T},v0=abc,v1=${sig},v2=future`,
        [`t=${T}`, `v1=${sig}`],
      ];

      // Act & Assess
      for (const value of forms) {
        expect(verifyWebhook({ secret: SECRET, header: value, body: BODY, now: T * 1000 })).toEqual(
          { ok: true, timestamp: T },
        );
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
 * A webhook receiver on 127.0.0.1 that verifies each delivery's signature
 * over the raw bytes it received, records it, and answers with `reply` (which
 * is told the request's index, from 0).
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
      const verified = verifyWebhook({
        secret: SECRET,
        header: request.headers[SIGNATURE_HEADER],
        body,
      });
      received.push({
        headers: request.headers,
        body,
        verified,
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
  it('delivers a signed POST that the receiver verifies', async () => {
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
    expect(delivery?.verified.ok).toBe(true);
    expect(delivery?.body.toString('utf8')).toBe(BODY);
    expect(delivery?.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'eventjobs-webhook/1',
      [DELIVERY_HEADER]: 'dlv-42',
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
    expect(receiver.received.map((r) => r.headers[DELIVERY_HEADER])).toEqual(['dlv-42', 'dlv-42']);
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
    const stamps = receiver.received.map((r) =>
      Number(/t=(\d+)/.exec(String(r.headers[SIGNATURE_HEADER]))?.[1]),
    );
    expect(stamps).toHaveLength(3);
    expect(stamps[0]).toBeGreaterThan(T);
    expect(stamps[1]).toBeGreaterThan(stamps[0] ?? Infinity);
    expect(stamps[2]).toBeGreaterThan(stamps[1] ?? Infinity);
    receiver.received.forEach((r, i) => {
      const verified = verifyWebhook({
        secret: SECRET,
        header: r.headers[SIGNATURE_HEADER],
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
