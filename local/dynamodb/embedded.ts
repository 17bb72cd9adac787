/**
 * The embedded DynamoDB: dynalite's store, validations and actions, called
 * in process. Requests from the local cloud's own DynamoDB proxy skip an
 * HTTP hop, a signature and a JSON round trip; the answers are dynalite's
 * own, as its HTTP server would have written them.
 *
 * The same store is also served over HTTP on 127.0.0.1 (`endpoint`), so that
 * another local cloud or a tool can share the data, as with the plain
 * dynalite server.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import type { DynaliteStore } from 'dynalite/db';
import { contentType, targetOperation } from '../aws-json';
import {
  type BackendInput,
  type BackendResponse,
  callBackend,
  type DynamoDbBackend,
} from './backend';
import type { ItemJson } from './capacity';
import { DynamoDbSetupError } from './errors';
import { meterIndexWrites, type TableDescription } from './index-writes';
import { DYNAMODB_PROTOCOL, dynamoDbRequestId } from './wire';

type Json = Record<string, unknown>;
type ActionCallback = (error: unknown, result?: Json) => void;
type Action = (store: DynaliteStore, data: Json, callback: ActionCallback) => void;
interface ActionValidation {
  readonly types: unknown;
  readonly custom?: unknown;
}

/** The operations dynalite implements; anything else is UnknownOperationException, as from its server. */
const OPERATIONS = [
  'BatchGetItem',
  'BatchWriteItem',
  'CreateTable',
  'DeleteItem',
  'DeleteTable',
  'DescribeTable',
  'DescribeTimeToLive',
  'GetItem',
  'ListTables',
  'PutItem',
  'Query',
  'Scan',
  'TagResource',
  'UntagResource',
  'ListTagsOfResource',
  'UpdateItem',
  'UpdateTable',
] as const;

const require = createRequire(import.meta.url);
storeInMemoryAsStrings();
const dynaliteDb = require('dynalite/db') as typeof import('dynalite/db');
meterIndexUpdates();
const validations = require('dynalite/validations') as typeof import('dynalite/validations');
const actions = new Map<string, { readonly run: Action; readonly validation: ActionValidation }>(
  OPERATIONS.map((operation) => {
    const file = operation.charAt(0).toLowerCase() + operation.slice(1);
    return [
      operation,
      {
        run: require(`dynalite/actions/${file}`) as Action,
        validation: require(`dynalite/validations/${file}`) as ActionValidation,
      },
    ];
  }),
);

const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/**
 * dynalite keeps an in-memory table in a MemoryLevel that stores every key and
 * value as a Buffer. Small Buffers are slices of Node's shared 8 KB pool, so each
 * stored item pinned a slab that other, short-lived Buffers had filled: about
 * 10 KB of memory per stored item. Strings cost only their length. dynalite's
 * keys are hex and ASCII, so string order is the byte order it relies on.
 *
 * dynalite takes `MemoryLevel` from memory-level's exports when it loads, so the
 * default is set there, before dynalite is first required.
 */
function storeInMemoryAsStrings(): void {
  // The copy dynalite itself resolves, wherever npm placed it.
  const memoryLevel = createRequire(require.resolve('dynalite/db'))('memory-level') as {
    MemoryLevel: new (options?: Record<string, unknown>) => object;
  };
  const Base = memoryLevel.MemoryLevel;
  if ((Base as { storesStrings?: boolean }).storesStrings) return;
  class StringMemoryLevel extends Base {
    static readonly storesStrings = true;
    constructor(options?: Record<string, unknown>) {
      super({ storeEncoding: 'utf8', ...options });
    }
  }
  memoryLevel.MemoryLevel = StringMemoryLevel;
}

/**
 * dynalite's actions update a table's indexes through `db.updateIndexes(store,
 * table, before, after, cb)`, looked up on the module at each call: wrapped
 * here, every write's index units reach the request that made it (index-writes.ts).
 */
function meterIndexUpdates(): void {
  type UpdateIndexes = ((
    store: unknown,
    table: TableDescription,
    before: ItemJson | null,
    after: ItemJson | null,
    callback: unknown,
  ) => unknown) & { metered?: boolean };
  const db = dynaliteDb as unknown as { updateIndexes: UpdateIndexes };
  const original = db.updateIndexes;
  if (original.metered) return;
  const metered: UpdateIndexes = (store, table, before, after, callback) => {
    meterIndexWrites(table, before, after);
    return original(store, table, before, after, callback);
  };
  metered.metered = true;
  db.updateIndexes = metered;
}

export interface EmbeddedDynaliteOptions {
  /** LevelDB directory. @default - in memory */
  readonly dataDir?: string;
  /** dynalite's table ARNs use the region and account. */
  readonly region: string;
  readonly accountId: string;
}

/** dynalite in process, with tables ACTIVE as soon as they are created (no 500 ms CREATING phase). */
export class EmbeddedDynalite implements DynamoDbBackend {
  #closed = false;

  readonly #store: DynaliteStore;
  readonly #server: Server;

  private constructor(
    store: DynaliteStore,
    server: Server,
    readonly endpoint: string,
  ) {
    this.#store = store;
    this.#server = server;
  }

  static async start(options: EmbeddedDynaliteOptions): Promise<EmbeddedDynalite> {
    if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
    const store = withArnEnvironment(options.region, options.accountId, () =>
      dynaliteDb.create({
        path: options.dataDir,
        createTableMs: 0,
        deleteTableMs: 0,
        updateTableMs: 0,
      }),
    );
    callBackWithoutWaiting(store);
    closeIteratorsWithStreams(store);
    let backend: EmbeddedDynalite | undefined;
    const server = createServer((req, res) => {
      if (backend) serveHttp(backend, req, res);
      else res.destroy();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await closeStore(store);
      throw new DynamoDbSetupError('Could not start the embedded DynamoDB (dynalite)', {
        cause: error,
      });
    }
    const { port } = server.address() as AddressInfo;
    backend = new EmbeddedDynalite(store, server, `http://127.0.0.1:${port}`);
    return backend;
  }

  async send(operation: string, input: BackendInput): Promise<BackendResponse> {
    if (this.#closed) throw new Error('The embedded DynamoDB is closed');
    let data: Json;
    if (typeof input === 'string' || Buffer.isBuffer(input)) {
      const parsed = parseJson(input);
      if (!parsed)
        return answer(400, { __type: 'com.amazon.coral.service#SerializationException' });
      data = parsed;
    } else {
      data = input;
    }
    const action = actions.get(operation);
    if (!action)
      return answer(400, { __type: 'com.amazon.coral.service#UnknownOperationException' });
    try {
      data = validations.checkTypes(data, action.validation.types);
      validations.checkValidations(
        data,
        action.validation.types,
        action.validation.custom,
        this.#store,
      );
    } catch (error) {
      const refusal = dynaliteError(error);
      if (refusal) return refusal;
      throw error;
    }
    return new Promise<BackendResponse>((resolve, reject) => {
      try {
        action.run(this.#store, data, (error, result) => {
          if (error === null || error === undefined) resolve(answer(200, result ?? {}));
          else {
            const refusal = dynaliteError(error);
            if (refusal) resolve(refusal);
            else reject(error);
          }
        });
      } catch (error) {
        reject(error);
      }
    });
  }

  call(operation: string, input: Json): Promise<Json> {
    return callBackend(this, operation, input);
  }

  /** Stops the HTTP server and closes the store (on disk: flushes it). Callers finish their requests first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await closeStore(this.#store);
  }
}

/** An answer as dynalite's server writes it; the JSON text is made only if someone reads it. */
function answer(status: number, json: Json): BackendResponse {
  let text: string | undefined;
  let requestId: string | undefined;
  return {
    status,
    json,
    get body(): string {
      text ??= JSON.stringify(json);
      return text;
    },
    get headers(): Readonly<Record<string, string>> {
      text ??= JSON.stringify(json);
      requestId ??= dynamoDbRequestId();
      return {
        'content-type': contentType(DYNAMODB_PROTOCOL),
        'x-amzn-requestid': requestId,
        'x-amz-crc32': String(crc32(text)),
      };
    },
  };
}

/** dynalite reports refusals as errors carrying `statusCode` and the body to send. */
function dynaliteError(error: unknown): BackendResponse | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = Reflect.get(error, 'statusCode');
  const body = Reflect.get(error, 'body');
  if (typeof status !== 'number' || typeof body !== 'object' || body === null) return undefined;
  return answer(status, body as Json);
}

function parseJson(text: string | Buffer): Json | undefined {
  try {
    const value: unknown = JSON.parse(text.toString());
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Json)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The store over HTTP, for other processes: POST with `X-Amz-Target: DynamoDB_20120810.<Operation>`. */
function serveHttp(backend: EmbeddedDynalite, req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    const write = (response: BackendResponse) => {
      const body = response.body;
      res.writeHead(response.status, {
        ...response.headers,
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    };
    if (size > MAX_REQUEST_BYTES) {
      res.writeHead(413).end();
      return;
    }
    const target = req.headers['x-amz-target'];
    const operation = targetOperation(
      typeof target === 'string' ? target : undefined,
      DYNAMODB_PROTOCOL.targetPrefix,
    );
    if (req.method !== 'POST' || operation === undefined) {
      write(answer(400, { __type: 'com.amazon.coral.service#UnknownOperationException' }));
      return;
    }
    backend.send(operation, Buffer.concat(chunks)).then(write, (error: unknown) =>
      write(
        answer(500, {
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: String(error),
        }),
      ),
    );
  });
}

/**
 * dynalite calls back from its store with `setImmediate`, which waits for the
 * next turn of the event loop: a PutItem takes several such hops, and on a
 * busy local cloud (hundreds of sockets a turn) each costs milliseconds.
 * `process.nextTick` keeps what `setImmediate` is there for (a callback's
 * exception is not swallowed by the promise) without the wait.
 */
function callBackWithoutWaiting(store: DynaliteStore): void {
  for (const name of ['get', 'put', 'del', 'batch'] as const) {
    const wrapped = store.db[name].bind(store.db);
    store.db[name] = (...args: unknown[]) => {
      const callback = args.at(-1);
      if (typeof callback !== 'function') return wrapped(...args);
      const operation = wrapped(...args.slice(0, -1)) as Promise<unknown>;
      operation.then(
        (value) => process.nextTick(callback, null, value),
        (error: unknown) => process.nextTick(callback, error),
      );
      return undefined;
    };
  }
}

/**
 * dynalite reads a Query, a Scan or a table listing through a stream over a
 * LevelDB iterator (`db.keys()` or `db.values()`), and closes the iterator when
 * the stream is destroyed by calling `iterator.return()`. abstract-level's
 * iterators have `close()` and no `return()`, so every such request left its
 * iterator open. The store keeps its open iterators until it closes, and each
 * holds what it reads: memory-level's whole tree as it was (a persistent tree,
 * so every item since deleted, too), LevelDB's a snapshot. Memory grew by tens of
 * KB per job and was never released. Giving each iterator a `return()` that
 * closes it closes it when its stream ends or is cut short (a Limit).
 */
function closeIteratorsWithStreams(store: DynaliteStore): void {
  for (const name of ['keys', 'values'] as const) {
    const open = store.db[name].bind(store.db);
    store.db[name] = (options) => {
      const iterator = open(options);
      iterator.return ??= async () => {
        await iterator.close();
        return undefined;
      };
      return iterator;
    };
  }
}

function closeStore(store: DynaliteStore): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error | null) => (error ? reject(error) : resolve());
    if (store.lifecycleManager) store.lifecycleManager.gracefulClose(done);
    else store.db.close(done);
  });
}

/**
 * dynalite builds table ARNs from `AWS_ACCOUNT_ID` and `AWS_REGION` as read
 * while the store is created (synchronously). Setting them only for that
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
