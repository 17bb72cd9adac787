/**
 * A local HTTP server that plays the jobs API under load: it answers each
 * request with the next scripted answer (429, 503, API Gateway's bare 500,
 * then 200...), records what it received, and checks each request's SigV4
 * signature at the moment it arrives, as the API would.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalCredential } from '../../../local/contracts';
import { verifyRequest } from '../../../local/sigv4';

export const LOCAL = { accessKeyId: 'AKIALOCALALICE000001', secretAccessKey: 'local/alice/secret' };
export const REGION = 'us-east-1';

export interface ScriptedAnswer {
  readonly status: number;
  /** JSON, unless a string (sent as it is). */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** Whether its signature verified when it arrived. */
  readonly signed: boolean;
}

/** The API's throttling answers, and API Gateway's own. */
export const THROTTLED = (retryAfter = '1'): ScriptedAnswer => ({
  status: 429,
  body: { error: { code: 'Throttled', message: 'Too many requests; try again shortly' } },
  headers: { 'retry-after': retryAfter },
});
export const QUEUE_FULL: ScriptedAnswer = {
  status: 429,
  body: { error: { code: 'QueueFull', message: 'You have 100 jobs queued already' } },
  headers: { 'retry-after': '30' },
};
export const UNAVAILABLE = (retryAfter = '2'): ScriptedAnswer => ({
  status: 503,
  body: { error: { code: 'ServiceUnavailable', message: 'The job could not be started' } },
  headers: { 'retry-after': retryAfter },
});
export const GATEWAY_429: ScriptedAnswer = { status: 429, body: { message: 'Too Many Requests' } };
export const GATEWAY_500: ScriptedAnswer = {
  status: 500,
  body: { message: 'Internal Server Error' },
};

const owner = 'arn:aws:iam::000000000000:user/alice';
const stored: LocalCredential = {
  ...LOCAL,
  accountId: '000000000000',
  arn: owner,
  userId: 'AIDA',
  name: 'alice',
};

export class ThrottlingServer {
  readonly received: Received[] = [];
  readonly #answers: ScriptedAnswer[] = [];
  readonly #server: Server;
  url = '';

  constructor() {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.received.push({
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
          body,
          signed: await this.#verify(request, body),
        });
        const answer = this.#answers.shift() ?? {
          status: 599,
          body: { error: { code: 'Unscripted', message: 'no answer was scripted' } },
        };
        const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
        const type = typeof answer.body === 'string' ? 'text/plain' : 'application/json';
        response.writeHead(answer.status, { 'content-type': type, ...answer.headers });
        response.end(text);
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  answer(...answers: ScriptedAnswer[]): this {
    this.#answers.push(...answers);
    return this;
  }

  /** The JSON bodies received, in order. */
  bodies(): unknown[] {
    return this.received.map((r) => JSON.parse(r.body || 'null'));
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #verify(request: IncomingMessage, body: string): Promise<boolean> {
    const url = new URL(request.url ?? '/', this.url);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === 'string') headers[name] = value;
    }
    const result = await verifyRequest(
      {
        method: request.method ?? '',
        rawPath: url.pathname,
        rawQuery: url.search.slice(1),
        headers,
        body,
      },
      { lookup: (id) => (id === LOCAL.accessKeyId ? stored : undefined) },
      { region: REGION, service: 'execute-api' },
    );
    return result.ok;
  }
}

/** The `job` a GET answers. */
export function jobView(name = 'j1') {
  return {
    jobName: name,
    runId: 'R1',
    type: 'sleep',
    status: 'RUNNING',
    createdAt: '2026-01-01T10:00:00.000Z',
    input: {},
  };
}
