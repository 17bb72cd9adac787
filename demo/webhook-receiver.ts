/**
 * A tiny webhook receiver on 127.0.0.1, as a job's owner would run one: it
 * verifies each delivery's Standard Webhooks headers (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature`) against the stack's secret over
 * the raw body bytes, and answers 204 (verified) or 401 (not).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '../functions/shared/webhook';

export interface WebhookDelivery {
  /** The job named in the body (`job.jobName`), or the request path when the body is unreadable. */
  readonly jobName: string;
  /** `event` from the body: the terminal event's detail-type. */
  readonly event: string;
  readonly verified: boolean;
  /** Why the signature was refused, when it was. */
  readonly reason?: string;
}

export interface WebhookReceiver {
  /** The base URL; a job's callback is `${url}/hooks/<name>`. */
  readonly url: string;
  readonly deliveries: readonly WebhookDelivery[];
  /** Resolves once `count` deliveries have arrived, or after `timeoutMs`, whichever is first. */
  waitFor(count: number, timeoutMs: number, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(
  secret: string,
  onDelivery: (delivery: WebhookDelivery) => void,
): Promise<WebhookReceiver> {
  const deliveries: WebhookDelivery[] = [];
  let changed = () => undefined as unknown;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // Verified over the bytes as received: re-serialised JSON may differ from what was signed.
      const body = Buffer.concat(chunks);
      const verdict = verifyWebhook({ secret, headers: req.headers, body });
      const parsed = parseBody(body.toString('utf8'));
      const delivery: WebhookDelivery = {
        jobName: parsed.jobName ?? req.url ?? '/',
        event: parsed.event ?? '?',
        verified: verdict.ok,
        ...(verdict.ok ? {} : { reason: verdict.reason }),
      };
      deliveries.push(delivery);
      onDelivery(delivery);
      changed();
      res.writeHead(verdict.ok ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    waitFor(count, timeoutMs, signal) {
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          changed = () => undefined;
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        signal.addEventListener('abort', done);
        changed = () => {
          if (deliveries.length >= count) done();
        };
        changed();
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function parseBody(text: string): { jobName?: string; event?: string } {
  try {
    const body = JSON.parse(text) as { event?: unknown; job?: { jobName?: unknown } };
    return {
      ...(typeof body.event === 'string' ? { event: body.event } : {}),
      ...(typeof body.job?.jobName === 'string' ? { jobName: body.job.jobName } : {}),
    };
  } catch {
    return {};
  }
}
