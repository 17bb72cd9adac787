/**
 * The one endpoint for every AWS API the functions call (like an edge port):
 * functions get it as `AWS_ENDPOINT_URL` and use the real SDK v3 clients. A
 * request is routed by the service name in its SigV4 credential scope, which
 * every SDK request carries, or else by its `x-amz-target` / path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { awsJsonError } from './aws-json';
import type { AwsRequest, AwsResponse, AwsService, Caller, LogSink } from './contracts';

export type Authenticate = (request: {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string>;
  body: Buffer;
}) => AuthenticateResult | Promise<AuthenticateResult>;

type AuthenticateResult =
  | { readonly ok: true; readonly caller: Caller }
  | {
      readonly ok: false;
      readonly status: number;
      readonly code: string;
      readonly message: string;
    };

/** The largest request body the endpoint reads (Lambda's sync payload is the largest, 6 MB). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

const TARGET_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['DynamoDB_20120810.', 'dynamodb'],
  ['AWSEvents.', 'events'],
  ['AmazonSQS.', 'sqs'],
];

export class AwsEndpoint {
  readonly #services = new Map<string, AwsService>();
  readonly #notEmulatedCalls = new Map<string, number>();
  #server?: Server;

  readonly #authenticate: Authenticate;
  readonly #log: LogSink;

  constructor(authenticate: Authenticate, log: LogSink) {
    this.#authenticate = authenticate;
    this.#log = log;
  }

  register(service: AwsService): void {
    for (const name of service.signingNames) this.#services.set(name, service);
  }

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => {
      this.#serve(req, res).catch((error: unknown) => {
        this.#log.line(
          'aws',
          `request failed: ${error instanceof Error ? error.stack : String(error)}`,
        );
        if (!res.headersSent) send(res, awsJsonError(500, 'InternalFailure', 'Internal error'));
        else res.destroy();
      });
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    return `http://${host}:${address.port}`;
  }

  /** Calls refused because the local cloud does not emulate their service, per signing name. */
  notEmulated(): Record<string, number> {
    return Object.fromEntries(this.#notEmulatedCalls);
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) {
      send(
        res,
        awsJsonError(413, 'RequestEntityTooLargeException', 'Request must be smaller than 16 MB'),
      );
      return;
    }
    const headers = lowerHeaders(req);
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
    const rawQuery = queryAt < 0 ? '' : url.slice(queryAt + 1);
    const target = headers['x-amz-target'];
    const serviceName =
      signingServiceOf(headers.authorization) ?? serviceFromRequest(target, rawPath);
    const service = serviceName ? this.#services.get(serviceName) : undefined;
    if (!service) {
      const name = serviceName ?? 'unknown';
      this.#notEmulatedCalls.set(name, (this.#notEmulatedCalls.get(name) ?? 0) + 1);
      send(
        res,
        awsJsonError(
          400,
          'UnknownOperationException',
          `The local cloud does not emulate the service "${serviceName ?? 'unknown'}"`,
        ),
      );
      return;
    }
    const auth = await this.#authenticate({
      method: req.method ?? 'GET',
      rawPath,
      rawQuery,
      headers,
      body,
    });
    if (!auth.ok) {
      send(res, awsJsonError(auth.status, auth.code, auth.message));
      return;
    }
    const request: AwsRequest = {
      method: req.method ?? 'GET',
      path: rawPath,
      query: new URLSearchParams(rawQuery),
      headers,
      body,
      operation: target?.slice(target.indexOf('.') + 1),
      caller: auth.caller,
    };
    send(res, await service.handle(request));
  }
}

function send(res: ServerResponse, response: AwsResponse): void {
  const body = response.body ?? '';
  res.writeHead(response.status, {
    'content-length': Buffer.byteLength(body),
    ...response.headers,
  });
  res.end(body);
}

/** The service of `Credential=AKID/20261128/us-east-1/<service>/aws4_request`. */
export function signingServiceOf(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const scope = /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization);
  return scope?.[1];
}

function serviceFromRequest(target: string | undefined, path: string): string | undefined {
  if (target) {
    for (const [prefix, service] of TARGET_PREFIXES) if (target.startsWith(prefix)) return service;
  }
  if (path.startsWith('/2015-03-31/functions')) return 'lambda';
  return undefined;
}

function lowerHeaders(req: IncomingMessage): Record<string, string> {
  // A map, then own properties: on a plain object, `constructor` or `__proto__`
  // would find the prototype's members.
  const headers = new Map<string, string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    const seen = headers.get(name);
    headers.set(name, seen === undefined ? value : `${seen},${value}`);
  }
  return Object.fromEntries(headers);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
