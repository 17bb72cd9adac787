/**
 * The DynamoDB-compatible server behind the local cloud's DynamoDB: an
 * embedded dynalite, or any external endpoint (DynamoDB Local, another local
 * cloud's dynalite).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import dynalite from 'dynalite';
import { BackendError, DynamoDbSetupError } from './errors';

export interface BackendResponse {
  readonly status: number;
  /** Header names lower-cased, hop-by-hop headers removed. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** A started embedded server. */
export interface EmbeddedServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Every request to the backend is re-signed with this one identity. Callers
 * sign with their own (role session) keys, and DynamoDB Local keeps a separate
 * database per access key id unless started with `-sharedDb`: one identity
 * keeps every caller on the same data. dynalite checks only that a signature
 * is present.
 */
export const BACKEND_CREDENTIALS = {
  accessKeyId: 'LOCALCLOUDDYNAMODB',
  secretAccessKey: 'local-cloud-dynamodb',
} as const;

const TARGET_PREFIX = 'DynamoDB_20120810.';
const REQUEST_TIMEOUT_MS = 60_000;

/** Headers that describe one hop, not the message; the server in front sets its own. */
const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'date',
]);

/**
 * Starts dynalite on 127.0.0.1 and a free port, in memory or in `dataDir`.
 * Tables are ACTIVE as soon as they are created (no 500 ms CREATING phase).
 */
export async function startDynalite(options: {
  readonly dataDir?: string;
  readonly region: string;
  readonly accountId: string;
}): Promise<EmbeddedServer> {
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
  const server = withArnEnvironment(options.region, options.accountId, () =>
    dynalite({
      path: options.dataDir,
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    }),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    throw new DynamoDbSetupError('Could not start the embedded DynamoDB (dynalite)', {
      cause: error,
    });
  }
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/**
 * dynalite builds table ARNs from `AWS_ACCOUNT_ID` and `AWS_REGION` as read
 * while the server is constructed (synchronously). Setting them only for that
 * call gives ARNs of the local cloud's account without leaving the process
 * environment changed.
 */
function withArnEnvironment<T>(region: string, accountId: string, build: () => T): T {
  const saved = { account: process.env.AWS_ACCOUNT_ID, region: process.env.AWS_REGION };
  process.env.AWS_ACCOUNT_ID = accountId;
  process.env.AWS_REGION = region;
  try {
    return build();
  } finally {
    restoreEnv('AWS_ACCOUNT_ID', saved.account);
    restoreEnv('AWS_REGION', saved.region);
  }
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** Sends DynamoDB JSON 1.0 requests to the backend, signed with {@link BACKEND_CREDENTIALS}. */
export class DynamoDbBackend {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly signer: SignatureV4;

  constructor(
    readonly endpoint: string,
    region: string,
  ) {
    this.url = new URL(endpoint);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') {
      throw new DynamoDbSetupError(`DynamoDB endpoint must be an http(s) URL, got "${endpoint}"`);
    }
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true })
        : new http.Agent({ keepAlive: true });
    this.signer = new SignatureV4({
      service: 'dynamodb',
      region,
      credentials: BACKEND_CREDENTIALS,
      sha256: NodeSha256,
    });
  }

  /** One request, answered as the backend answers it (any status). */
  async send(operation: string, body: string | Buffer): Promise<BackendResponse> {
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port ? Number(this.url.port) : undefined,
      path: this.url.pathname || '/',
      query: {},
      headers: {
        host: this.url.host,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `${TARGET_PREFIX}${operation}`,
      },
      body,
    });
    const client = this.url.protocol === 'https:' ? https : http;
    return new Promise<BackendResponse>((resolve, reject) => {
      const request = client.request(
        {
          agent: this.agent,
          method: 'POST',
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port || undefined,
          path: signed.path,
          headers: signed.headers,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(response.headers)) {
              if (value === undefined || HOP_HEADERS.has(name)) continue;
              headers[name] = Array.isArray(value) ? value.join(',') : value;
            }
            resolve({ status: response.statusCode ?? 500, headers, body: Buffer.concat(chunks) });
          });
        },
      );
      request.on('error', reject);
      // A backend that stops answering must not hold callers (and the lock) forever.
      request.setTimeout(REQUEST_TIMEOUT_MS, () =>
        request.destroy(
          new Error(`No answer from ${this.endpoint} within ${REQUEST_TIMEOUT_MS} ms`),
        ),
      );
      request.end(body);
    });
  }

  /** One request whose success is a JSON object; any other answer throws a {@link BackendError}. */
  async call(operation: string, input: object): Promise<Record<string, unknown>> {
    const response = await this.send(operation, JSON.stringify(input));
    const parsed = parseObject(response.body);
    if (response.status === 200 && parsed) return parsed;
    const body = parsed ?? {};
    const code = errorCode(body) ?? `HTTP${response.status}`;
    const message = errorMessage(body) ?? response.body.toString('utf8');
    throw new BackendError(code, message, response, body);
  }

  close(): void {
    this.agent.destroy();
  }
}

/** `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException` -> `ConditionalCheckFailedException`. */
export function errorCode(body: Readonly<Record<string, unknown>>): string | undefined {
  const type = body.__type;
  if (typeof type !== 'string') return undefined;
  return type.slice(type.lastIndexOf('#') + 1);
}

function errorMessage(body: Readonly<Record<string, unknown>>): string | undefined {
  const message = body.message ?? body.Message;
  return typeof message === 'string' ? message : undefined;
}

export function parseObject(body: Buffer | string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString());
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

/** SHA-256 (and HMAC-SHA-256 when given a secret) for the signer, from node:crypto. */
class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.create();
  }

  update(data: SourceData, encoding?: 'utf8' | 'ascii' | 'latin1'): void {
    this.hash.update(toBuffer(data, encoding));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.create();
  }

  private create(): Hash | Hmac {
    return this.secret === undefined
      ? createHash('sha256')
      : createHmac('sha256', toBuffer(this.secret));
  }
}

function toBuffer(data: SourceData, encoding: BufferEncoding = 'utf8'): Buffer {
  if (typeof data === 'string') return Buffer.from(data, encoding);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}
