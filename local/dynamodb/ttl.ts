/**
 * Time to live, which dynalite lacks (no UpdateTimeToLive, DescribeTimeToLive
 * always DISABLED, nothing expires).
 *
 * The local cloud deletes expired items itself: a sweep scans every table
 * with TTL enabled and deletes the items whose TTL attribute is a number of
 * epoch seconds not after now, each delete conditional on the attribute still
 * holding the value the scan saw, so an item rewritten meanwhile is kept.
 *
 * Real DynamoDB differs: it deletes lazily, typically within a few days of
 * expiry (AWS says "within two days", with no guarantee), and until then an
 * expired item is still returned by reads, queries and scans; code must filter
 * on the TTL attribute itself. The sweep here is prompter (every interval,
 * 60 s by default), which can hide a missing filter: tests that care should
 * write items that are already expired and read before calling `sweepNow()`.
 * Like AWS, items whose TTL is more than five years in the past, or not a
 * number, are never deleted.
 */
import type { AwsResponse, LogSink } from '../contracts';
import type { DynamoDbBackend } from './backend';
import { BackendError } from './errors';
import { type ItemLocks, itemLock, tableLock } from './item-locks';
import { describeTable, type Item, isObject, type KeySchema, keyOf } from './tables';
import { fromBackend, jsonResponse, validationError } from './wire';

type Json = Readonly<Record<string, unknown>>;

const FIVE_YEARS_SECONDS = 5 * 365 * 24 * 60 * 60;

export class TimeToLive {
  /** Table name -> TTL attribute, for tables with TTL enabled. */
  readonly #attributes = new Map<string, string>();

  readonly #backend: DynamoDbBackend;
  readonly #locks: ItemLocks;
  readonly #schemaOf: (table: string) => Promise<KeySchema>;
  readonly #log?: LogSink;

  constructor(
    backend: DynamoDbBackend,
    locks: ItemLocks,
    schemaOf: (table: string) => Promise<KeySchema>,
    log?: LogSink,
  ) {
    this.#backend = backend;
    this.#locks = locks;
    this.#schemaOf = schemaOf;
    this.#log = log;
  }

  enable(tableName: string, attribute: string): void {
    this.#attributes.set(tableName, attribute);
  }

  attributeOf(tableName: string): string | undefined {
    return this.#attributes.get(tableName);
  }

  /** DescribeTimeToLive for a table with TTL enabled here; undefined to let the backend answer. */
  async describe(input: Json): Promise<AwsResponse | undefined> {
    const table = input.TableName;
    if (typeof table !== 'string') return undefined;
    const attribute = this.#attributes.get(table);
    if (attribute === undefined) return undefined;
    const missing = await this.#missingTable(table);
    if (missing) return missing;
    return jsonResponse({
      TimeToLiveDescription: { AttributeName: attribute, TimeToLiveStatus: 'ENABLED' },
    });
  }

  /** UpdateTimeToLive, kept here so that DescribeTimeToLive and the sweeps agree with it. */
  async update(input: Json): Promise<AwsResponse> {
    const table = input.TableName;
    const spec = input.TimeToLiveSpecification;
    if (typeof table !== 'string') {
      return validationError(
        "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null",
      );
    }
    if (
      !isObject(spec) ||
      typeof spec.Enabled !== 'boolean' ||
      typeof spec.AttributeName !== 'string'
    ) {
      return validationError(
        "1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null",
      );
    }
    if (spec.AttributeName.length < 1 || spec.AttributeName.length > 255) {
      return validationError(
        "1 validation error detected: Value at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: " +
          'Member must have length less than or equal to 255',
      );
    }
    const missing = await this.#missingTable(table);
    if (missing) return missing;
    const current = this.#attributes.get(table);
    if (spec.Enabled) {
      if (current !== undefined) return validationError('TimeToLive is already enabled');
      this.#attributes.set(table, spec.AttributeName);
    } else {
      if (current === undefined) return validationError('TimeToLive is already disabled');
      this.#attributes.delete(table);
    }
    return jsonResponse({
      TimeToLiveSpecification: { AttributeName: spec.AttributeName, Enabled: spec.Enabled },
    });
  }

  /** Deletes every expired item of every table with TTL enabled; returns how many it deleted. */
  async sweep(nowSeconds: number): Promise<number> {
    let deleted = 0;
    for (const [table, attribute] of [...this.#attributes]) {
      try {
        deleted += await this.#sweepTable(table, attribute, nowSeconds);
      } catch (error) {
        if (error instanceof BackendError && error.code === 'ResourceNotFoundException') continue;
        throw error;
      }
    }
    return deleted;
  }

  async #sweepTable(table: string, attribute: string, nowSeconds: number): Promise<number> {
    const schema = await this.#schemaOf(table);
    const keyNames = schema.range === undefined ? [schema.hash] : [schema.hash, schema.range];
    const names: Record<string, string> = { '#ttl': attribute };
    for (const [index, name] of keyNames.entries()) names[`#k${index}`] = name;
    let deleted = 0;
    let startKey: unknown;
    do {
      const page = await this.#locks.run([{ id: tableLock(table), mode: 'shared' }], () =>
        this.#backend.call('Scan', {
          TableName: table,
          ConsistentRead: true,
          ProjectionExpression: Object.keys(names).join(', '),
          // BETWEEN on numbers only matches number attributes, as TTL does.
          FilterExpression: '#ttl BETWEEN :oldest AND :now',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':oldest': { N: String(Math.floor(nowSeconds) - FIVE_YEARS_SECONDS) },
            ':now': { N: String(Math.floor(nowSeconds)) },
          },
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of Array.isArray(page.Items) ? page.Items.filter(isObject) : []) {
        const expiry = (item as Item)[attribute];
        const key = keyOf(item as Item, schema);
        if (!expiry || !key) continue;
        const id = itemLock(table, key, schema);
        if (await this.#deleteIfUnchanged(table, key, id, attribute, expiry)) deleted += 1;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    if (deleted > 0)
      this.#log?.line('dynamodb', `TTL deleted ${deleted} expired item(s) from ${table}`);
    return deleted;
  }

  async #deleteIfUnchanged(
    table: string,
    key: Item,
    id: string,
    attribute: string,
    expiry: Json,
  ): Promise<boolean> {
    try {
      await this.#locks.run([{ id, mode: 'exclusive' }], () =>
        this.#backend.call('DeleteItem', {
          TableName: table,
          Key: key,
          ConditionExpression: '#ttl = :seen',
          ExpressionAttributeNames: { '#ttl': attribute },
          ExpressionAttributeValues: { ':seen': expiry },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof BackendError && error.code === 'ConditionalCheckFailedException') {
        return false;
      }
      throw error;
    }
  }

  async #missingTable(table: string): Promise<AwsResponse | undefined> {
    try {
      await describeTable(this.#backend, table);
      return undefined;
    } catch (error) {
      if (error instanceof BackendError) return fromBackend(error.response);
      throw error;
    }
  }
}
