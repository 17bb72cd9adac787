/**
 * The local cloud's DynamoDB: a proxy in front of a DynamoDB-compatible
 * backend (embedded dynalite, in memory or on disk, or an external endpoint)
 * that fills in what dynalite lacks and the project uses:
 *
 * - TransactWriteItems / TransactGetItems (see `transactions.ts`), used only
 *   when the backend answers UnknownOperationException;
 * - `ReturnValuesOnConditionCheckFailure: ALL_OLD` on PutItem, UpdateItem and
 *   DeleteItem (dynalite ignores it): the failing item is added to the
 *   ConditionalCheckFailedException, read under the exclusive lock so that it
 *   is the item the condition was evaluated against;
 * - time to live (see `ttl.ts`).
 *
 * Every other request is forwarded as it came (body, target, content type),
 * re-signed with one local identity, and the backend's answer is returned as
 * it is, request id and CRC32 included.
 */
import type {
  AwsRequest,
  AwsResponse,
  AwsService,
  LocalEnv,
  LogSink,
  TableSpec,
} from '../contracts';
import {
  DynamoDbBackend,
  type EmbeddedServer,
  errorCode,
  parseObject,
  startDynalite,
} from './backend';
import { BackendError, DynamoDbSetupError } from './errors';
import { ReadWriteLock } from './rw-lock';
import { ensureTables, type Item, isObject, keyOf, keySchemaOf } from './tables';
import { TransactionEmulator } from './transactions';
import { TimeToLive } from './ttl';
import { errorResponse, fromBackend, internalError, withBody } from './wire';

export interface LocalDynamoDbOptions {
  /** Region and account: the backend is signed for the region; dynalite's ARNs use both. */
  readonly env: LocalEnv;
  /**
   * Keep the embedded store in this directory, so tables and items survive a
   * restart. Cannot be combined with `endpoint`.
   * @default - in memory: everything is gone after `close()`
   */
  readonly dataDir?: string;
  /**
   * Use this DynamoDB-compatible endpoint (e.g. `http://127.0.0.1:8000`)
   * instead of starting dynalite.
   * @default - an embedded dynalite on 127.0.0.1 and a free port
   */
  readonly endpoint?: string;
  /**
   * How often expired items are deleted, in real milliseconds (timeScale does
   * not apply); 0 turns the periodic sweep off (`sweepNow()` still works).
   * @default 60000
   */
  readonly ttlSweepIntervalMs?: number;
  /**
   * How long `ensureTables` waits for tables to become ACTIVE.
   * @default 60000
   */
  readonly tableReadyTimeoutMs?: number;
  /** @default - nothing is logged */
  readonly log?: LogSink;
}

const TARGET_PREFIX = 'DynamoDB_20120810.';
const SINGLE_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
const TRANSACTIONS = new Set(['TransactWriteItems', 'TransactGetItems']);

export class LocalDynamoDb implements AwsService {
  readonly signingNames: readonly string[] = ['dynamodb'];

  private readonly lock = new ReadWriteLock();
  private readonly transactions: TransactionEmulator;
  private readonly ttl: TimeToLive;
  /** Operations the backend answered with UnknownOperationException: emulated from then on. */
  private readonly emulated = new Set<string>();
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  private sweeps: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Starts the backend (unless `endpoint` is given) and the TTL sweeper. */
  static async start(options: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
    if (options.dataDir !== undefined && options.endpoint !== undefined) {
      throw new DynamoDbSetupError('Give the local DynamoDB a dataDir or an endpoint, not both');
    }
    const server =
      options.endpoint === undefined
        ? await startDynalite({
            dataDir: options.dataDir,
            region: options.env.region,
            accountId: options.env.accountId,
          })
        : undefined;
    const backend = new DynamoDbBackend(
      server?.endpoint ?? options.endpoint ?? '',
      options.env.region,
    );
    try {
      await backend.call('ListTables', { Limit: 1 });
    } catch (error) {
      backend.close();
      await server?.close();
      throw new DynamoDbSetupError(
        `The DynamoDB backend at ${backend.endpoint} does not answer ListTables: ${String(error)}`,
        { cause: error },
      );
    }
    return new LocalDynamoDb(backend, server, options);
  }

  private constructor(
    private readonly backend: DynamoDbBackend,
    private readonly server: EmbeddedServer | undefined,
    private readonly options: LocalDynamoDbOptions,
  ) {
    this.transactions = new TransactionEmulator(backend, options.log);
    this.ttl = new TimeToLive(backend, this.lock, options.log);
    const interval = options.ttlSweepIntervalMs ?? 60_000;
    if (interval > 0) {
      this.sweepTimer = setInterval(() => {
        this.sweepNow().catch((error: unknown) =>
          this.options.log?.line('dynamodb', `TTL sweep failed: ${String(error)}`),
        );
      }, interval);
      this.sweepTimer.unref();
    }
  }

  /** The backend's URL: dynalite's, or the external endpoint. Another instance can use it as its `endpoint`. */
  get backendEndpoint(): string {
    return this.backend.endpoint;
  }

  /**
   * Creates the tables that do not exist yet and waits until all are ACTIVE.
   * A table that exists with another key schema, index or projection than
   * its spec fails with TableMismatchError. Tables with `ttlAttribute` get
   * TTL (see `ttl.ts`).
   */
  async ensureTables(specs: readonly TableSpec[]): Promise<void> {
    const where =
      this.options.dataDir !== undefined
        ? `the data directory ${this.options.dataDir}`
        : this.options.endpoint !== undefined
          ? `the DynamoDB at ${this.options.endpoint}`
          : 'the in-memory DynamoDB';
    await ensureTables(this.backend, specs, {
      timeoutMs: this.options.tableReadyTimeoutMs ?? 60_000,
      where,
    });
    for (const spec of specs) {
      if (spec.ttlAttribute !== undefined) this.ttl.enable(spec.name, spec.ttlAttribute);
    }
  }

  async handle(request: AwsRequest): Promise<AwsResponse> {
    const operation = request.operation ?? operationOf(request.headers['x-amz-target']);
    if (request.method !== 'POST' || operation === undefined) {
      return errorResponse(
        400,
        'com.amazon.coral.service#UnknownOperationException',
        'Expected a POST with X-Amz-Target DynamoDB_20120810.<Operation>',
      );
    }
    if (this.closed) return internalError('The local DynamoDB is shut down');
    try {
      return await this.route(operation, request.body);
    } catch (error) {
      if (error instanceof BackendError) return fromBackend(error.response);
      this.options.log?.line('dynamodb', `${operation} failed: ${String(error)}`);
      return internalError(`The local DynamoDB could not process ${operation}: ${String(error)}`);
    }
  }

  /** Deletes expired items now (after any sweep in progress); resolves to the number deleted. */
  sweepNow(): Promise<number> {
    const run = this.sweeps.then(() => this.ttl.sweep(Date.now() / 1000));
    this.sweeps = run.catch(() => undefined);
    return run;
  }

  /** Stops the sweeper, lets requests in flight finish, and stops the backend (flushing it to disk). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.sweeps;
    await this.lock.exclusive(async () => {});
    this.backend.close();
    await this.server?.close();
  }

  private async route(operation: string, body: Buffer): Promise<AwsResponse> {
    if (TRANSACTIONS.has(operation)) return this.transact(operation, body);
    if (operation === 'UpdateTimeToLive') {
      const input = parseObject(body);
      if (input) return this.lock.shared(() => this.ttl.update(input));
    }
    if (operation === 'DescribeTimeToLive') {
      const input = parseObject(body);
      const answer = input && (await this.lock.shared(() => this.ttl.describe(input)));
      if (answer) return answer;
    }
    // A cheap test first: most writes do not ask for the old item.
    if (SINGLE_WRITES.has(operation) && body.includes('ReturnValuesOnConditionCheckFailure')) {
      const input = parseObject(body);
      if (input?.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') {
        return this.lock.exclusive(() => this.writeReturningOld(operation, input, body));
      }
    }
    return fromBackend(await this.lock.shared(() => this.backend.send(operation, body)));
  }

  private async transact(operation: string, body: Buffer): Promise<AwsResponse> {
    if (!this.emulated.has(operation)) {
      const response = await this.lock.shared(() => this.backend.send(operation, body));
      const error = response.status === 400 ? parseObject(response.body) : undefined;
      if (!error || errorCode(error) !== 'UnknownOperationException') return fromBackend(response);
      this.emulated.add(operation);
      this.options.log?.line(
        'dynamodb',
        `The backend lacks ${operation}: the local cloud emulates it`,
      );
    }
    const input = parseObject(body);
    if (!input)
      return errorResponse(400, 'com.amazon.coral.service#SerializationException', 'Invalid JSON');
    return this.lock.exclusive(() =>
      operation === 'TransactWriteItems'
        ? this.transactions.write(input)
        : this.transactions.get(input),
    );
  }

  /**
   * A single write with `ReturnValuesOnConditionCheckFailure: ALL_OLD`. Runs
   * under the exclusive lock, so the item read after a failed condition is
   * the one the condition failed on. A backend that fills `Item` itself is
   * answered as it is.
   */
  private async writeReturningOld(
    operation: string,
    input: Readonly<Record<string, unknown>>,
    body: Buffer,
  ): Promise<AwsResponse> {
    const response = await this.backend.send(operation, body);
    const error = response.status === 400 ? parseObject(response.body) : undefined;
    if (!error || errorCode(error) !== 'ConditionalCheckFailedException' || error.Item) {
      return fromBackend(response);
    }
    const table = input.TableName;
    if (typeof table !== 'string') return fromBackend(response);
    const key =
      operation === 'PutItem'
        ? isObject(input.Item)
          ? keyOf(input.Item as Item, await keySchemaOf(this.backend, table))
          : undefined
        : isObject(input.Key)
          ? input.Key
          : undefined;
    if (!key) return fromBackend(response);
    const { Item } = await this.backend.call('GetItem', {
      TableName: table,
      Key: key,
      ConsistentRead: true,
    });
    return isObject(Item) ? withBody(response, { ...error, Item }) : fromBackend(response);
  }
}

function operationOf(target: string | undefined): string | undefined {
  if (!target?.startsWith(TARGET_PREFIX)) return undefined;
  return target.slice(TARGET_PREFIX.length) || undefined;
}
