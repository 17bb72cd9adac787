/**
 * The local cloud's DynamoDB: a proxy in front of a DynamoDB-compatible
 * backend (dynalite embedded in this process, in memory or on disk, or an
 * external endpoint over HTTP) that fills in what dynalite lacks and the
 * project uses:
 *
 * - TransactWriteItems / TransactGetItems (see `transactions.ts`), used only
 *   when the backend answers UnknownOperationException;
 * - `ReturnValuesOnConditionCheckFailure: ALL_OLD` on PutItem, UpdateItem and
 *   DeleteItem (dynalite ignores it): the failing item is added to the
 *   ConditionalCheckFailedException, read under the item's lock so that it
 *   is the item the condition was evaluated against;
 * - time to live (see `ttl.ts`);
 * - per-item isolation of the above (see `item-locks.ts`), and what each call
 *   would have cost on on-demand DynamoDB (`usage()`, see `capacity.ts`): the
 *   backend is asked for its ConsumedCapacity, which is removed from the
 *   answer unless the caller asked for it too.
 *
 * A request is parsed once; the embedded backend takes the parsed object as
 * it is (no second HTTP hop, signature or JSON round trip), an external one
 * gets it re-signed with one local identity. Answers are the backend's own.
 */

import { operationOf } from '../aws-json';
import type {
  AwsRequest,
  AwsResponse,
  AwsService,
  LocalEnv,
  LogSink,
  TableSpec,
} from '../contracts';
import {
  type BackendResponse,
  type DynamoDbBackend,
  errorCode,
  HttpBackend,
  parseObject,
} from './backend';
import { type ItemJson, itemBytes, writeUnits } from './capacity';
import { EmbeddedDynalite } from './embedded';
import { BackendError, DynamoDbSetupError } from './errors';
import { indexWriteUnits } from './index-writes';
import { ItemLocks, itemLock, type LockRequest, partitionLock, tableLock } from './item-locks';
import { ensureTables, type Item, isObject, type KeySchema, keyOf, keySchemaOf } from './tables';
import { TransactionEmulator } from './transactions';
import { TimeToLive } from './ttl';
import { CapacityTally, type DynamoDbUsage, isFunctionCaller } from './usage';
import { DYNAMODB_PROTOCOL, errorResponse, fromBackend, internalError, withBody } from './wire';

export type { DynamoDbOperationUsage, DynamoDbUsage } from './usage';

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
   * instead of the embedded dynalite.
   * @default - dynalite, embedded in this process
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

const SINGLE_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
const TRANSACTIONS = new Set(['TransactWriteItems', 'TransactGetItems']);
const TABLE_CHANGES = new Set(['CreateTable', 'DeleteTable', 'UpdateTable']);
/** Operations that consume capacity: the backend is asked for it (and the answer trimmed to what the caller asked). */
const METERED = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactWriteItems',
  'TransactGetItems',
]);
const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

type Json = Readonly<Record<string, unknown>>;

const NO_LOCKS: readonly LockRequest[] = [];

export class LocalDynamoDb implements AwsService {
  readonly signingNames: readonly string[] = ['dynamodb'];

  readonly #locks = new ItemLocks();
  readonly #transactions: TransactionEmulator;
  readonly #ttl: TimeToLive;
  /** Operations the backend answered with UnknownOperationException: emulated from then on. */
  readonly #emulated = new Set<string>();
  readonly #schemas = new Map<string, Promise<KeySchema>>();
  readonly #usageTally = new CapacityTally();
  readonly #sweepTimer: NodeJS.Timeout | undefined;
  #sweeps: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** Starts the backend (the embedded dynalite unless `endpoint` is given) and the TTL sweeper. */
  static async start(options: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
    if (options.dataDir !== undefined && options.endpoint !== undefined) {
      throw new DynamoDbSetupError('Give the local DynamoDB a dataDir or an endpoint, not both');
    }
    const backend: DynamoDbBackend =
      options.endpoint === undefined
        ? await EmbeddedDynalite.start({
            dataDir: options.dataDir,
            region: options.env.region,
            accountId: options.env.accountId,
          })
        : new HttpBackend(options.endpoint, options.env.region);
    try {
      await backend.call('ListTables', { Limit: 1 });
    } catch (error) {
      await backend.close();
      throw new DynamoDbSetupError(
        `The DynamoDB backend at ${backend.endpoint} does not answer ListTables: ${String(error)}`,
        { cause: error },
      );
    }
    return new LocalDynamoDb(backend, options);
  }

  readonly #backend: DynamoDbBackend;
  readonly #options: LocalDynamoDbOptions;

  private constructor(backend: DynamoDbBackend, options: LocalDynamoDbOptions) {
    this.#backend = backend;
    this.#options = options;
    const schemaOf = (table: string) => this.#keySchema(table);
    this.#transactions = new TransactionEmulator(backend, schemaOf, options.log);
    this.#ttl = new TimeToLive(
      this.#usageTally.internal(backend),
      this.#locks,
      schemaOf,
      options.log,
    );
    const interval = options.ttlSweepIntervalMs ?? 60_000;
    if (interval > 0) {
      this.#sweepTimer = setInterval(() => {
        this.sweepNow().catch((error: unknown) =>
          this.#options.log?.line('dynamodb', `TTL sweep failed: ${String(error)}`),
        );
      }, interval);
      this.#sweepTimer.unref();
    }
  }

  /** The backend's URL: the embedded dynalite's, or the external endpoint. Another instance can use it as its `endpoint`. */
  get backendEndpoint(): string {
    return this.#backend.endpoint;
  }

  /**
   * Creates the tables that do not exist yet and waits until all are ACTIVE.
   * A table that exists with another key schema, index or projection than
   * its spec fails with TableMismatchError. Tables with `ttlAttribute` get
   * TTL (see `ttl.ts`).
   */
  async ensureTables(specs: readonly TableSpec[]): Promise<void> {
    const where =
      this.#options.dataDir !== undefined
        ? `the data directory ${this.#options.dataDir}`
        : this.#options.endpoint !== undefined
          ? `the DynamoDB at ${this.#options.endpoint}`
          : 'the in-memory DynamoDB';
    await ensureTables(this.#backend, specs, {
      timeoutMs: this.#options.tableReadyTimeoutMs ?? 60_000,
      where,
    });
    for (const spec of specs) {
      if (spec.ttlAttribute !== undefined) this.#ttl.enable(spec.name, spec.ttlAttribute);
    }
  }

  async handle(request: AwsRequest): Promise<AwsResponse> {
    const operation = operationOf(request, DYNAMODB_PROTOCOL.targetPrefix);
    if (request.method !== 'POST' || operation === undefined) {
      return errorResponse(
        400,
        'com.amazon.coral.service#UnknownOperationException',
        'Expected a POST with X-Amz-Target DynamoDB_20120810.<Operation>',
      );
    }
    if (this.#closed) return internalError('The local DynamoDB is shut down');
    const usage = this.#usageTally.call(
      request.caller && isFunctionCaller(request.caller) ? 'functions' : 'others',
      operation,
    );
    try {
      // Index writes are counted by the embedded DynamoDB as it updates the indexes.
      return await indexWriteUnits.run(usage, () => this.#route(operation, request.body, usage));
    } catch (error) {
      if (error instanceof BackendError) return fromBackend(error.response);
      this.#options.log?.line('dynamodb', `${operation} failed: ${String(error)}`);
      return internalError(`The local DynamoDB could not process ${operation}: ${String(error)}`);
    }
  }

  /**
   * What DynamoDB would have billed so far, cumulatively: calls and capacity
   * units per operation, for calls from functions and from other callers, and
   * the calls the local cloud made itself (TTL sweeps; free on AWS).
   */
  usage(): DynamoDbUsage {
    return this.#usageTally.snapshot();
  }

  /** Deletes expired items now (after any sweep in progress); resolves to the number deleted. */
  sweepNow(): Promise<number> {
    const run = this.#sweeps.then(() => this.#ttl.sweep(Date.now() / 1000));
    this.#sweeps = run.catch(() => undefined);
    return run;
  }

  /** Stops the sweeper, lets requests in flight finish, and stops the backend (flushing it to disk). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    await this.#sweeps;
    await this.#locks.whenIdle();
    await this.#backend.close();
  }

  async #route(
    operation: string,
    body: Buffer,
    usage: { readUnits: number; writeUnits: number },
  ): Promise<AwsResponse> {
    if (this.#emulated.has(operation)) return this.#transact(operation, body, usage);
    if (operation === 'UpdateTimeToLive') {
      const input = parseObject(body);
      if (input) return this.#ttl.update(input);
    }
    if (operation === 'DescribeTimeToLive') {
      const input = parseObject(body);
      const answer = input && (await this.#ttl.describe(input));
      if (answer) return answer;
    }
    if (TABLE_CHANGES.has(operation)) this.#schemas.clear();
    const input = parseObject(body);
    if (!input) {
      // Not a JSON object: the backend answers with its own error.
      return fromBackend(await this.#locks.run([], () => this.#backend.send(operation, body)));
    }
    const asked =
      input.ReturnConsumedCapacity === 'TOTAL' || input.ReturnConsumedCapacity === 'INDEXES';
    const metered = METERED.has(operation);
    const request = metered && !asked ? { ...input, ReturnConsumedCapacity: 'TOTAL' } : input;
    const locks = TRANSACTIONS.has(operation)
      ? await this.#transactionLocks(operation, input)
      : await this.#lockPlan(operation, input);
    return this.#locks.run(locks, async () => {
      let response = await this.#backend.send(operation, request);
      if (
        TRANSACTIONS.has(operation) &&
        response.status === 400 &&
        errorCode(bodyOf(response) ?? {}) === 'UnknownOperationException'
      ) {
        this.#emulated.add(operation);
        this.#options.log?.line(
          'dynamodb',
          `The backend lacks ${operation}: the local cloud emulates it`,
        );
        return operation === 'TransactWriteItems'
          ? this.#transactions.write(input, usage)
          : this.#transactions.get(input, usage);
      }
      if (SINGLE_WRITES.has(operation)) {
        response = await this.#afterSingleWrite(operation, input, response, usage);
      }
      if (!metered) return fromBackend(response);
      return this.#meter(operation, response, asked, usage);
    });
  }

  /**
   * A failed conditional write: AWS still bills the units of the item the
   * condition was checked against, and with `ReturnValuesOnConditionCheckFailure:
   * ALL_OLD` returns that item (dynalite ignores the parameter). The caller
   * holds the item's lock, so the item read now is the one the condition failed on.
   */
  async #afterSingleWrite(
    operation: string,
    input: Json,
    response: BackendResponse,
    usage: { writeUnits: number },
  ): Promise<BackendResponse> {
    const error = response.status === 400 ? bodyOf(response) : undefined;
    if (!error || errorCode(error) !== 'ConditionalCheckFailedException') return response;
    let old = isObject(error.Item) ? (error.Item as Item) : undefined;
    const table = input.TableName;
    if (!old && typeof table === 'string') {
      const key = await this.#keyOfRequest(operation, input, table);
      if (key) {
        const { Item } = await this.#backend.call('GetItem', {
          TableName: table,
          Key: key,
          ConsistentRead: true,
        });
        old = isObject(Item) ? (Item as Item) : undefined;
      }
    }
    usage.writeUnits += writeUnits(itemBytes(old as ItemJson | undefined));
    const wantsOld = input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD';
    if (!wantsOld || !old || error.Item) return response;
    const answer = withBody(response, { ...error, Item: old });
    return { status: answer.status, headers: answer.headers ?? {}, body: answer.body ?? '' };
  }

  /** Takes the units from the backend's ConsumedCapacity, and removes it when the caller did not ask for it. */
  #meter(
    operation: string,
    response: BackendResponse,
    asked: boolean,
    usage: { readUnits: number; writeUnits: number },
  ): AwsResponse {
    if (response.status !== 200) return fromBackend(response);
    const json = bodyOf(response);
    if (!json || json.ConsumedCapacity === undefined) return fromBackend(response);
    const units = capacityUnitsOf(json.ConsumedCapacity);
    if (READS.has(operation)) usage.readUnits += units;
    else usage.writeUnits += units;
    if (asked) return fromBackend(response);
    const { ConsumedCapacity: _, ...rest } = json;
    if (response.json) {
      delete response.json.ConsumedCapacity;
      return fromBackend(response);
    }
    return withBody(response, rest);
  }

  #transact(
    operation: string,
    body: Buffer,
    usage: { readUnits: number; writeUnits: number },
  ): Promise<AwsResponse> {
    const input = parseObject(body);
    if (!input) {
      return Promise.resolve(
        errorResponse(400, 'com.amazon.coral.service#SerializationException', 'Invalid JSON'),
      );
    }
    return this.#transactParsed(operation, input, usage);
  }

  /** An emulated transaction, holding the locks of all its items. */
  async #transactParsed(
    operation: string,
    input: Json,
    usage: { readUnits: number; writeUnits: number },
  ): Promise<AwsResponse> {
    const locks = await this.#transactionLocks(operation, input);
    return this.#locks.run(locks, () =>
      operation === 'TransactWriteItems'
        ? this.#transactions.write(input, usage)
        : this.#transactions.get(input, usage),
    );
  }

  /**
   * A transaction's locks (see item-locks.ts): each item's, and for a write its
   * partition's and an intent on its table. Items it cannot name are left out
   * (the emulator refuses them).
   */
  async #transactionLocks(operation: string, input: Json): Promise<LockRequest[]> {
    const write = operation === 'TransactWriteItems';
    const list = Array.isArray(input.TransactItems) ? input.TransactItems : [];
    const locks: LockRequest[] = [];
    for (const entry of list) {
      if (!isObject(entry)) continue;
      for (const [kind, params] of Object.entries(entry)) {
        if (!isObject(params) || typeof params.TableName !== 'string') continue;
        const table = params.TableName;
        try {
          const key = await this.#keyOfRequest(
            kind === 'Put' ? 'PutItem' : 'GetItem',
            params,
            table,
          );
          if (!key) continue;
          const schema = await this.#keySchema(table);
          locks.push({ id: itemLock(table, key, schema), mode: write ? 'exclusive' : 'shared' });
          if (write) {
            locks.push({ id: partitionLock(table, key[schema.hash]), mode: 'exclusive' });
            locks.push({ id: tableLock(table), mode: 'intent' });
          }
        } catch (error) {
          if (!(error instanceof BackendError)) throw error;
        }
      }
    }
    return locks;
  }

  /** The locks a request other than a transaction takes (see item-locks.ts). */
  async #lockPlan(operation: string, input: Json): Promise<readonly LockRequest[]> {
    const table = input.TableName;
    try {
      if (SINGLE_WRITES.has(operation) || operation === 'GetItem') {
        if (typeof table !== 'string') return NO_LOCKS;
        const key = await this.#keyOfRequest(operation, input, table);
        if (!key) return NO_LOCKS;
        const id = itemLock(table, key, await this.#keySchema(table));
        return [{ id, mode: operation === 'GetItem' ? 'shared' : 'exclusive' }];
      }
      if (operation === 'Query' && typeof table === 'string') {
        // An index's queries may see part of a transaction on AWS too.
        if (input.IndexName !== undefined) return NO_LOCKS;
        const schema = await this.#keySchema(table);
        const hash = hashValueOfQuery(input, schema.hash);
        return [
          hash === undefined
            ? { id: tableLock(table), mode: 'shared' }
            : { id: partitionLock(table, hash), mode: 'shared' },
        ];
      }
      if (operation === 'Scan' && typeof table === 'string') {
        return [{ id: tableLock(table), mode: 'shared' }];
      }
      if (operation === 'BatchWriteItem' && isObject(input.RequestItems)) {
        const locks: LockRequest[] = [];
        for (const [name, requests] of Object.entries(input.RequestItems)) {
          if (!Array.isArray(requests)) continue;
          const schema = await this.#keySchema(name);
          for (const request of requests) {
            if (!isObject(request)) continue;
            const put = isObject(request.PutRequest) ? request.PutRequest.Item : undefined;
            const del = isObject(request.DeleteRequest) ? request.DeleteRequest.Key : undefined;
            const key = isObject(put)
              ? keyOf(put as Item, schema)
              : isObject(del)
                ? del
                : undefined;
            if (key) locks.push({ id: itemLock(name, key, schema), mode: 'exclusive' });
          }
        }
        return locks;
      }
    } catch (error) {
      // A table that does not exist: nothing to lock, and the backend says so.
      if (error instanceof BackendError) return NO_LOCKS;
      throw error;
    }
    return NO_LOCKS;
  }

  /** The key a single-item request addresses (PutItem: from its item). */
  async #keyOfRequest(operation: string, input: Json, table: string): Promise<Item | undefined> {
    if (operation === 'PutItem') {
      if (!isObject(input.Item)) return undefined;
      try {
        return keyOf(input.Item as Item, await this.#keySchema(table));
      } catch (error) {
        if (error instanceof BackendError) return undefined;
        throw error;
      }
    }
    return isObject(input.Key) ? (input.Key as Item) : undefined;
  }

  /** Key schemas, read once per table (again after a table changes through this API). */
  #keySchema(table: string): Promise<KeySchema> {
    let schema = this.#schemas.get(table);
    if (!schema) {
      schema = keySchemaOf(this.#backend, table);
      this.#schemas.set(table, schema);
      schema.catch(() => this.#schemas.delete(table));
    }
    return schema;
  }
}

/**
 * The partition key value a Query names: `hash = :value` in its key condition
 * (the name possibly a `#placeholder`), or the legacy `KeyConditions`; undefined
 * when it cannot tell.
 */
export function hashValueOfQuery(input: Json, hashName: string): unknown {
  const legacy = input.KeyConditions;
  if (isObject(legacy)) {
    const condition = legacy[hashName];
    if (isObject(condition) && Array.isArray(condition.AttributeValueList)) {
      return condition.AttributeValueList[0];
    }
  }
  const expression = input.KeyConditionExpression;
  const values = input.ExpressionAttributeValues;
  if (typeof expression !== 'string' || !isObject(values)) return undefined;
  const names = isObject(input.ExpressionAttributeNames) ? input.ExpressionAttributeNames : {};
  for (const match of expression.matchAll(/(#?[A-Za-z0-9_.-]+)\s*=\s*(:[A-Za-z0-9_]+)/g)) {
    const [, rawName = '', placeholder = ''] = match;
    const name = rawName.startsWith('#') ? names[rawName] : rawName;
    if (name === hashName) return values[placeholder];
  }
  for (const match of expression.matchAll(/(:[A-Za-z0-9_]+)\s*=\s*(#?[A-Za-z0-9_.-]+)/g)) {
    const [, placeholder = '', rawName = ''] = match;
    const name = rawName.startsWith('#') ? names[rawName] : rawName;
    if (name === hashName) return values[placeholder];
  }
  return undefined;
}

function bodyOf(response: BackendResponse): Record<string, unknown> | undefined {
  return response.json ?? parseObject(response.body);
}

/** The sum of `CapacityUnits` of a ConsumedCapacity object or list (batch and transaction calls). */
export function capacityUnitsOf(consumed: unknown): number {
  const list = Array.isArray(consumed) ? consumed : [consumed];
  let units = 0;
  for (const entry of list) {
    if (isObject(entry) && typeof entry.CapacityUnits === 'number') units += entry.CapacityUnits;
  }
  return units;
}
