/**
 * The DynamoDB-compatible server behind the local cloud's DynamoDB: an
 * external endpoint (DynamoDB Local, another local cloud's dynalite) over
 * HTTP. The embedded dynalite, called in process, is in `embedded.ts`.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import { contentType } from '../aws-json';
import { BackendError, DynamoDbSetupError } from './errors';
import { DYNAMODB_PROTOCOL } from './wire';

export interface BackendResponse {
  readonly status: number;
  /** Header names lower-cased, hop-by-hop headers removed. */
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON text as the backend wrote it. */
  readonly body: Buffer | string;
  /**
   * The parsed body, when the backend answered in process (no JSON text to
   * parse again). Whoever changes it must answer with it, not with `body`.
   */
  readonly json?: Record<string, unknown>;
}

/** A request body: JSON text, or an object the backend may take as it is (and change). */
export type BackendInput = string | Buffer | Record<string, unknown>;

/** A DynamoDB-compatible server the local cloud's DynamoDB sends requests to. */
export interface DynamoDbBackend {
  /** A URL other processes (or another local cloud) can reach the same data at. */
  readonly endpoint: string;
  /** One request, answered as the backend answers it (any status). */
  send(operation: string, input: BackendInput): Promise<BackendResponse>;
  /** One request whose success is a JSON object; any other answer throws a {@link BackendError}. */
  call(operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>>;
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

const REQUEST_TIMEOUT_MS = 60_000;

/** Headers that describe one hop, not the message; the server in front sets its own. */
const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'date',
]);

/** Sends DynamoDB JSON 1.0 requests to an external endpoint, signed with {@link BACKEND_CREDENTIALS}. */
export class HttpBackend implements DynamoDbBackend {
  readonly #url: URL;
  readonly #agent: http.Agent;
  readonly #signer: SignatureV4;

  constructor(
    readonly endpoint: string,
    region: string,
  ) {
    this.#url = new URL(endpoint);
    if (this.#url.protocol !== 'http:' && this.#url.protocol !== 'https:') {
      throw new DynamoDbSetupError(`DynamoDB endpoint must be an http(s) URL, got "${endpoint}"`);
    }
    this.#agent =
      this.#url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true })
        : new http.Agent({ keepAlive: true });
    this.#signer = new SignatureV4({
      service: 'dynamodb',
      region,
      credentials: BACKEND_CREDENTIALS,
      sha256: NodeSha256,
    });
  }

  async send(operation: string, input: BackendInput): Promise<BackendResponse> {
    const body =
      typeof input === 'string' || Buffer.isBuffer(input) ? input : JSON.stringify(input);
    const signed = await this.#signer.sign({
      method: 'POST',
      protocol: this.#url.protocol,
      hostname: this.#url.hostname,
      port: this.#url.port ? Number(this.#url.port) : undefined,
      path: this.#url.pathname || '/',
      query: {},
      headers: {
        host: this.#url.host,
        'content-type': contentType(DYNAMODB_PROTOCOL),
        'x-amz-target': `${DYNAMODB_PROTOCOL.targetPrefix}${operation}`,
      },
      body,
    });
    const client = this.#url.protocol === 'https:' ? https : http;
    return new Promise<BackendResponse>((resolve, reject) => {
      const request = client.request(
        {
          agent: this.#agent,
          method: 'POST',
          protocol: this.#url.protocol,
          hostname: this.#url.hostname,
          port: this.#url.port || undefined,
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

  call(operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    return callBackend(this, operation, input);
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }
}

/** `call` on top of `send`: the JSON object of a 200, else a {@link BackendError}. */
export async function callBackend(
  backend: DynamoDbBackend,
  operation: string,
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const response = await backend.send(operation, input);
  const parsed = response.json ?? parseObject(response.body);
  if (response.status === 200 && parsed) return parsed;
  const body = parsed ?? {};
  const code = errorCode(body) ?? `HTTP${response.status}`;
  const message = errorMessage(body) ?? response.body.toString();
  throw new BackendError(code, message, response, body);
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
  #hash: Hash | Hmac;

  readonly #secret?: SourceData;

  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#hash = this.#create();
  }

  update(data: SourceData, encoding?: 'utf8' | 'ascii' | 'latin1'): void {
    this.#hash.update(toBuffer(data, encoding));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = this.#create();
  }

  #create(): Hash | Hmac {
    return this.#secret === undefined
      ? createHash('sha256')
      : createHmac('sha256', toBuffer(this.#secret));
  }
}

function toBuffer(data: SourceData, encoding: BufferEncoding = 'utf8'): Buffer {
  if (typeof data === 'string') return Buffer.from(data, encoding);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}
