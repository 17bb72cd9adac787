/**
 * Webhook callbacks end to end: a receiver in the test verifies each delivery's
 * Standard Webhooks signature with the stack's secret, both with `verifyWebhook`
 * and with the `standardwebhooks` package given the secret's value as it is,
 * and the delivery is recorded on the job.
 * The receiver listens on 127.0.0.1 over plain http, which only the local cloud
 * allows, so this file runs against the local cloud.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyWebhook } from '../../functions/shared/webhook';
import { callApi, eventually, uniqueName } from './client';

const target = inject('e2e');

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly verified: ReturnType<typeof verifyWebhook>;
  /** `Webhook.verify` of the standardwebhooks package: the parsed body, or its error message. */
  readonly packageVerified: unknown;
}

/** What a receiver written with the standardwebhooks package would make of a delivery. */
function verifyWithPackage(secret: string, headers: IncomingMessage['headers'], body: string) {
  try {
    return new Webhook(secret).verify(body, headers as Record<string, string>);
  } catch (error) {
    return (error as Error).message;
  }
}

describe.runIf(target.kind === 'local')('webhook callbacks', () => {
  const received = new Map<string, Received[]>();
  /** Answers for a path: the first N requests get these statuses, later ones 204. */
  const scripted = new Map<string, number[]>();
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '/';
        const secret = target.webhookSecret ?? '';
        const verified = verifyWebhook({ secret, headers: req.headers, body });
        const packageVerified = verifyWithPackage(secret, req.headers, body);
        received.set(path, [
          ...(received.get(path) ?? []),
          { headers: req.headers, body, verified, packageVerified },
        ]);
        const status = scripted.get(path)?.shift() ?? 204;
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function finished(name: string) {
    return eventually(`${name} to record its webhook`, async () => {
      const response = await callApi(target, target.alice, 'GET', `/jobs/${name}`);
      const body = response.body as { status: string; webhook?: Record<string, unknown> };
      return body.webhook ? body : undefined;
    });
  }

  it('1. POSTs the signed outcome once the job succeeds, and records the delivery', async () => {
    expect(target.webhookSecret).toEqual(expect.any(String));
    const name = uniqueName('hook');
    const path = `/hooks/${name}`;
    const start = await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'echo',
      name,
      input: { value: { n: 7 } },
      callback: { url: `${base}${path}` },
    });
    expect(start.status).toBe(202);
    const runId = (start.body as { runId: string }).runId;

    const job = await finished(name);

    const deliveries = received.get(path) ?? [];
    expect(deliveries).toHaveLength(1);
    const [delivery] = deliveries;
    expect(delivery?.verified).toMatchObject({ ok: true, id: runId });
    expect(delivery?.headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': runId,
      'webhook-timestamp': expect.stringMatching(/^\d{10}$/),
      'webhook-signature': expect.stringMatching(/^v1,[A-Za-z0-9+/]{43}=$/),
    });
    expect(delivery?.packageVerified).toEqual(JSON.parse(delivery?.body ?? ''));
    expect(JSON.parse(delivery?.body ?? '{}')).toMatchObject({
      deliveryId: runId,
      event: 'Job Completed',
      job: { jobName: name, runId, status: 'SUCCEEDED', result: { value: { n: 7 } } },
    });
    expect(job.webhook).toMatchObject({
      url: `${base}${path}`,
      delivered: true,
      attempts: 1,
      status: 204,
    });
    // The signature does not verify with another secret, nor over another body.
    const headers = delivery?.headers ?? {};
    const otherSecret = Buffer.from('not the secret').toString('base64');
    expect(
      verifyWebhook({ secret: otherSecret, headers, body: delivery?.body ?? '' }),
    ).toMatchObject({ ok: false, code: 'no_matching_signature' });
    expect(
      verifyWebhook({ secret: target.webhookSecret ?? '', headers, body: `${delivery?.body} ` }),
    ).toMatchObject({ ok: false, code: 'no_matching_signature' });
  });

  it('2. retries a receiver that fails, with the same delivery id, until it accepts', async () => {
    const name = uniqueName('hook-retry');
    const path = `/hooks/${name}`;
    scripted.set(path, [503, 500]);
    await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'fail',
      name,
      input: { message: 'no luck' },
      callback: { url: `${base}${path}` },
    });

    const job = await finished(name);

    const deliveries = received.get(path) ?? [];
    expect(deliveries).toHaveLength(3);
    expect(new Set(deliveries.map((d) => d.headers['webhook-id'])).size).toBe(1);
    expect(deliveries.every((d) => d.verified.ok)).toBe(true);
    expect(deliveries.every((d) => typeof d.packageVerified === 'object')).toBe(true);
    expect(JSON.parse(deliveries[2]?.body ?? '{}')).toMatchObject({
      event: 'Job Failed',
      job: { status: 'FAILED' },
    });
    expect(job.webhook).toMatchObject({ delivered: true, attempts: 3, status: 204 });
  });

  it('3. records a delivery the receiver refuses for good', async () => {
    const name = uniqueName('hook-refused');
    const path = `/hooks/${name}`;
    scripted.set(path, [410]);
    await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'echo',
      name,
      input: { value: 1 },
      callback: { url: `${base}${path}` },
    });

    const job = await finished(name);

    expect(received.get(path)).toHaveLength(1);
    expect(job.webhook).toMatchObject({ delivered: false, attempts: 1, status: 410 });
  });

  it.each([
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['a private network address', 'https://10.1.2.3/hook'],
    ['plain http to a public host', 'http://93.184.216.34/hook'],
    ['an IPv4-mapped metadata address', 'https://[::ffff:169.254.169.254]/hook'],
  ])('4. refuses a callback to %s at submit (400) and starts nothing', async (_, url) => {
    const name = uniqueName('hook-ssrf');
    const response = await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'echo',
      name,
      input: { value: 1 },
      callback: { url },
    });

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'InvalidCallback' } });
    expect((await callApi(target, target.alice, 'GET', `/jobs/${name}`)).status).toBe(404);
  });
});
