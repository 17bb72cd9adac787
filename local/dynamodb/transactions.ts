/**
 * TransactWriteItems and TransactGetItems for backends that lack them
 * (dynalite answers UnknownOperationException).
 *
 * The caller runs each transaction under an exclusive lock that every other
 * request to this DynamoDB (proxied or internal, such as the TTL sweeper)
 * holds shared, so nothing interleaves with a transaction. Given that, a
 * write transaction is:
 *
 * 1. Validate as AWS does (1-100 items, one action each, no two on one item,
 *    no unused expression attribute names or values).
 * 2. Snapshot every target item with a consistent GetItem.
 * 3. Check every condition WITHOUT writing anything observable: a conditional
 *    PutItem of the snapshot itself when the item exists (it rewrites the
 *    very item it read, so content and index entries stay the same), or a
 *    conditional DeleteItem of the key when it does not (deleting a missing
 *    item changes nothing). If the condition fails, the backend writes
 *    nothing. All conditions are checked, so every failing item is reported,
 *    as AWS does; if any fails the answer is TransactionCanceledException and
 *    no write has happened.
 * 4. Apply the writes in order, each still with its own condition. Should one
 *    fail anyway (a validation error only the write reveals, or a writer
 *    outside this process on a shared external endpoint), restore every item
 *    already written to its snapshot, newest first, and report the failure.
 *
 * The isolation holds only for traffic through this process: two local clouds
 * sharing one external endpoint do not see each other's locks.
 */
import { createHash } from 'node:crypto';
import type { AwsResponse, LogSink } from '../contracts';
import type { DynamoDbBackend } from './backend';
import { itemBytes, itemWriteUnits, readUnits } from './capacity';
import { BackendError } from './errors';
import { type Item, isExactKey, isObject, type KeySchema, keyOf } from './tables';
import { DYNAMODB_NS, fromBackend, jsonResponse, validationError } from './wire';

type Json = Readonly<Record<string, unknown>>;

const MAX_ITEMS = 100;
/** AWS keeps a ClientRequestToken for 10 minutes. */
const TOKEN_TTL_MS = 10 * 60 * 1000;

const WRITE_KINDS = ['ConditionCheck', 'Put', 'Delete', 'Update'] as const;
type WriteKind = (typeof WRITE_KINDS)[number];

interface Target {
  readonly table: string;
  readonly key: Item;
  /** The action's own parameters (`TransactItems[i].Put` etc.). */
  readonly params: Json;
}

interface WriteAction extends Target {
  readonly kind: WriteKind;
  readonly condition?: string;
  readonly returnOldOnFailure: boolean;
}

/** Parameters each write passes to the single-item operation. */
const WRITE_FIELDS: Readonly<Record<Exclude<WriteKind, 'ConditionCheck'>, readonly string[]>> = {
  Put: [
    'TableName',
    'Item',
    'ConditionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
  ],
  Update: [
    'TableName',
    'Key',
    'UpdateExpression',
    'ConditionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
  ],
  Delete: [
    'TableName',
    'Key',
    'ConditionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
  ],
};

const OPERATION: Readonly<Record<Exclude<WriteKind, 'ConditionCheck'>, string>> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
};

export class TransactionEmulator {
  /**
   * ClientRequestToken -> a digest of the request it was first used with, for
   * successful transactions, oldest first. A digest, not the request: tokens are
   * kept 10 minutes, and a busy local cloud makes tens of thousands in that time.
   */
  readonly #tokens = new Map<string, { readonly request: string; readonly expires: number }>();

  readonly #backend: DynamoDbBackend;
  readonly #schemaOf: (table: string) => Promise<KeySchema>;
  readonly #log?: LogSink;

  constructor(
    backend: DynamoDbBackend,
    schemaOf: (table: string) => Promise<KeySchema>,
    log?: LogSink,
  ) {
    this.#backend = backend;
    this.#schemaOf = schemaOf;
    this.#log = log;
  }

  /**
   * TransactWriteItems. The caller holds the exclusive lock of every item. Adds to
   * `usage` what AWS bills: two write units per KB of each item (the larger of
   * before and after), also when the transaction is cancelled by a condition.
   */
  async write(input: Json, usage: { writeUnits: number }): Promise<AwsResponse> {
    const items = checkItemList(input.TransactItems);
    if (typeof items === 'string') return validationError(items);

    const token = input.ClientRequestToken;
    if (
      token !== undefined &&
      (typeof token !== 'string' || token.length < 1 || token.length > 36)
    ) {
      return validationError(
        "1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: " +
          'Member must have length less than or equal to 36',
      );
    }
    const fingerprint = typeof token === 'string' ? requestDigest(items) : undefined;
    if (typeof token === 'string') {
      const seen = this.#rememberedToken(token);
      if (seen && seen !== fingerprint) {
        return jsonResponse(
          {
            __type: `${DYNAMODB_NS}IdempotentParameterMismatchException`,
            Message: 'Request parameters do not match those of the original request',
          },
          400,
        );
      }
      // Same token, same request: it succeeded before, so it succeeds again without writing.
      if (seen) return jsonResponse({});
    }

    const parsed = await this.#parseWrites(items);
    if (!Array.isArray(parsed)) return parsed;
    const actions: readonly WriteAction[] = parsed;

    const snapshots: (Item | undefined)[] = [];
    for (const action of actions) snapshots.push(await this.#read(action));

    const failed: boolean[] = [];
    for (const [index, action] of actions.entries()) {
      failed.push(
        action.condition === undefined
          ? false
          : !(await this.#conditionHolds(action, action.condition, snapshots[index])),
      );
    }
    if (failed.some(Boolean)) {
      for (const snapshot of snapshots)
        usage.writeUnits += itemWriteUnits(snapshot, undefined, true);
      return cancelled(actions, failed, snapshots);
    }

    const written: number[] = [];
    for (const [index, action] of actions.entries()) {
      const snapshot = snapshots[index];
      if (action.kind === 'ConditionCheck') {
        usage.writeUnits += itemWriteUnits(snapshot, undefined, true);
        continue;
      }
      try {
        const result = await this.#backend.call(OPERATION[action.kind], {
          ...pick(action.params, WRITE_FIELDS[action.kind]),
          // The item after the write, for the units it costs.
          ...(action.kind === 'Update' ? { ReturnValues: 'ALL_NEW' } : {}),
        });
        const after =
          action.kind === 'Put'
            ? (action.params.Item as Item)
            : action.kind === 'Update' && isObject(result.Attributes)
              ? (result.Attributes as Item)
              : undefined;
        usage.writeUnits += itemWriteUnits(snapshot, after, true);
        written.push(index);
      } catch (error) {
        const rollback = await this.#restore(actions, snapshots, written);
        if (rollback) return rollback;
        if (error instanceof BackendError) {
          if (error.code !== 'ConditionalCheckFailedException') return fromBackend(error.response);
          return cancelled(
            actions,
            actions.map((_, other) => other === index),
            snapshots,
          );
        }
        throw error;
      }
    }
    if (typeof token === 'string' && fingerprint !== undefined) {
      this.#tokens.set(token, { request: fingerprint, expires: Date.now() + TOKEN_TTL_MS });
    }
    return jsonResponse({});
  }

  /**
   * TransactGetItems: every item read while no write can interleave (the caller
   * holds every item's lock). Adds two read units per 4 KB of each item to `usage`.
   */
  async get(input: Json, usage: { readUnits: number }): Promise<AwsResponse> {
    const items = checkItemList(input.TransactItems);
    if (typeof items === 'string') return validationError(items);
    const targets: Target[] = [];
    const schemas = new Map<string, KeySchema>();
    for (const [index, item] of items.entries()) {
      const kinds = Object.keys(item).filter((name) => item[name] !== undefined);
      const params = item.Get;
      if (kinds.length !== 1 || !isObject(params)) {
        return validationError('TransactItems can only contain one of Get');
      }
      const target = await this.#target(params, 'Key', index, schemas);
      if (!('key' in target)) return target;
      const unused = unusedPlaceholders(params, [params.ProjectionExpression]);
      if (unused) return validationError(unused);
      targets.push(target);
    }
    const duplicate = duplicateTarget(targets);
    if (duplicate) return validationError(duplicate);

    const responses: Json[] = [];
    for (const target of targets) {
      try {
        const { Item } = await this.#backend.call('GetItem', {
          ...pick(target.params, [
            'TableName',
            'Key',
            'ProjectionExpression',
            'ExpressionAttributeNames',
          ]),
          ConsistentRead: true,
        });
        responses.push(isObject(Item) ? { Item } : {});
        usage.readUnits += readUnits(
          itemBytes(isObject(Item) ? (Item as Item) : undefined),
          'transactional',
        );
      } catch (error) {
        if (error instanceof BackendError) return fromBackend(error.response);
        throw error;
      }
    }
    return jsonResponse({ Responses: responses });
  }

  async #parseWrites(items: readonly Json[]): Promise<WriteAction[] | AwsResponse> {
    const actions: WriteAction[] = [];
    const schemas = new Map<string, KeySchema>();
    for (const [index, item] of items.entries()) {
      const kinds = WRITE_KINDS.filter((kind) => item[kind] !== undefined);
      const kind = kinds[0];
      const params = kind === undefined ? undefined : item[kind];
      if (kinds.length !== 1 || kind === undefined || !isObject(params)) {
        return validationError(
          'TransactItems can only contain one of Check, Put, Update or Delete',
        );
      }
      const target = await this.#target(params, kind === 'Put' ? 'Item' : 'Key', index, schemas);
      if (!('key' in target)) return target;
      const condition = params.ConditionExpression;
      if (condition !== undefined && typeof condition !== 'string') {
        return validationError('ConditionExpression must be a string');
      }
      if (kind === 'ConditionCheck' && condition === undefined) {
        return validationError(
          `1 validation error detected: Value null at 'transactItems.${index + 1}.member.conditionCheck.conditionExpression' ` +
            'failed to satisfy constraint: Member must not be null',
        );
      }
      const unused = unusedPlaceholders(params, [
        condition,
        kind === 'Update' ? params.UpdateExpression : undefined,
      ]);
      if (unused) return validationError(unused);
      actions.push({
        ...target,
        kind,
        condition,
        returnOldOnFailure: params.ReturnValuesOnConditionCheckFailure === 'ALL_OLD',
      });
    }
    const duplicate = duplicateTarget(actions);
    return duplicate ? validationError(duplicate) : actions;
  }

  /** The table and key an action addresses; an error answer when they are missing or wrong. */
  async #target(
    params: Json,
    keyField: 'Key' | 'Item',
    index: number,
    schemas: Map<string, KeySchema>,
  ): Promise<Target | AwsResponse> {
    const table = params.TableName;
    const source = params[keyField];
    if (typeof table !== 'string' || !isObject(source)) {
      const missing = typeof table !== 'string' ? 'tableName' : keyField.toLowerCase();
      return validationError(
        `1 validation error detected: Value null at 'transactItems.${index + 1}.member.${missing}' ` +
          'failed to satisfy constraint: Member must not be null',
      );
    }
    let schema = schemas.get(table);
    if (!schema) {
      try {
        schema = await this.#schemaOf(table);
      } catch (error) {
        if (error instanceof BackendError) return fromBackend(error.response);
        throw error;
      }
      schemas.set(table, schema);
    }
    const item = source as Item;
    if (keyField === 'Item') {
      const key = keyOf(item, schema);
      return key
        ? { table, key, params }
        : validationError('One of the required keys was not given a value');
    }
    return isExactKey(item, schema)
      ? { table, key: item, params }
      : validationError('The provided key element does not match the schema');
  }

  async #read(target: Target): Promise<Item | undefined> {
    const { Item } = await this.#backend.call('GetItem', {
      TableName: target.table,
      Key: target.key,
      ConsistentRead: true,
    });
    return isObject(Item) ? (Item as Item) : undefined;
  }

  /**
   * Evaluates a condition against the item as it is, writing nothing that
   * changes it (see the module comment). Errors other than a failed
   * condition (a bad expression) propagate as BackendError.
   */
  async #conditionHolds(
    action: WriteAction,
    condition: string,
    snapshot: Item | undefined,
  ): Promise<boolean> {
    const request: Record<string, unknown> = {
      TableName: action.table,
      ConditionExpression: condition,
      ...usedPlaceholders(action.params, condition),
    };
    try {
      if (snapshot) await this.#backend.call('PutItem', { ...request, Item: snapshot });
      else await this.#backend.call('DeleteItem', { ...request, Key: action.key });
      return true;
    } catch (error) {
      if (error instanceof BackendError && error.code === 'ConditionalCheckFailedException') {
        return false;
      }
      throw error;
    }
  }

  /** Puts the written items back as they were; an error answer if that fails. */
  async #restore(
    actions: readonly WriteAction[],
    snapshots: readonly (Item | undefined)[],
    written: readonly number[],
  ): Promise<AwsResponse | undefined> {
    const failures: string[] = [];
    for (const index of [...written].reverse()) {
      const action = actions[index];
      if (!action) continue;
      const snapshot = snapshots[index];
      try {
        if (snapshot)
          await this.#backend.call('PutItem', { TableName: action.table, Item: snapshot });
        else await this.#backend.call('DeleteItem', { TableName: action.table, Key: action.key });
      } catch (error) {
        failures.push(`${action.table} ${JSON.stringify(action.key)}: ${String(error)}`);
      }
    }
    if (failures.length === 0) return undefined;
    const message = `Transaction rollback failed; these items may hold a partial transaction: ${failures.join('; ')}`;
    this.#log?.line('dynamodb', message);
    return jsonResponse({ __type: `${DYNAMODB_NS}InternalServerError`, message }, 500);
  }

  #rememberedToken(token: string): string | undefined {
    const now = Date.now();
    // In insertion order, so in order of expiry: the first one still kept ends the purge.
    for (const [name, entry] of this.#tokens) {
      if (entry.expires > now) break;
      this.#tokens.delete(name);
    }
    return this.#tokens.get(token)?.request;
  }
}

/** What tells two TransactWriteItems requests apart, in 44 characters. */
function requestDigest(items: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(items)).digest('base64');
}

/** The TransactItems list, or AWS's validation message. */
function checkItemList(value: unknown): Json[] | string {
  const prefix =
    "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: ";
  if (!Array.isArray(value)) {
    return "1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null";
  }
  if (value.length < 1) return `${prefix}Member must have length greater than or equal to 1`;
  if (value.length > MAX_ITEMS) {
    return `${prefix}Member must have length less than or equal to ${MAX_ITEMS}`;
  }
  if (!value.every(isObject)) return `${prefix}Member must not be null`;
  return value;
}

function duplicateTarget(targets: readonly Target[]): string | undefined {
  const seen = new Set<string>();
  for (const target of targets) {
    const id = JSON.stringify([target.table, Object.entries(target.key).sort()]);
    if (seen.has(id)) return 'Transaction request cannot include multiple operations on one item';
    seen.add(id);
  }
  return undefined;
}

const NAME_TOKEN = /#[A-Za-z0-9_]+/g;
const VALUE_TOKEN = /:[A-Za-z0-9_]+/g;

/** Each placeholder map an action defines (`ExpressionAttributeNames`/`Values`), with its token pattern. */
function* placeholderMaps(params: Json) {
  for (const [field, pattern] of [
    ['ExpressionAttributeNames', NAME_TOKEN],
    ['ExpressionAttributeValues', VALUE_TOKEN],
  ] as const) {
    const defined = params[field];
    if (isObject(defined)) yield { field, defined, pattern };
  }
}

/** AWS's message when an action defines expression names or values that none of its expressions use. */
function unusedPlaceholders(params: Json, expressions: readonly unknown[]): string | undefined {
  const text = expressions.filter((expression) => typeof expression === 'string').join(' ');
  for (const { field, defined, pattern } of placeholderMaps(params)) {
    const used = new Set(text.match(pattern) ?? []);
    const unused = Object.keys(defined).filter((name) => !used.has(name));
    if (unused.length > 0) {
      return `Value provided in ${field} unused in expressions: keys: {${unused.join(', ')}}`;
    }
  }
  return undefined;
}

/** The expression names and values one expression refers to (the backend rejects unused ones). */
function usedPlaceholders(params: Json, expression: string): Json {
  const result: Record<string, unknown> = {};
  for (const { field, defined, pattern } of placeholderMaps(params)) {
    const subset: Record<string, unknown> = {};
    for (const name of expression.match(pattern) ?? []) {
      if (defined[name] !== undefined) subset[name] = defined[name];
    }
    if (Object.keys(subset).length > 0) result[field] = subset;
  }
  return result;
}

/** TransactionCanceledException as DynamoDB writes it (note `Message`, capitalised, for this error). */
function cancelled(
  actions: readonly WriteAction[],
  failed: readonly boolean[],
  snapshots: readonly (Item | undefined)[],
): AwsResponse {
  const reasons = actions.map((action, index) => {
    if (!failed[index]) return { Code: 'None' };
    const snapshot = snapshots[index];
    return {
      ...(action.returnOldOnFailure && snapshot ? { Item: snapshot } : {}),
      Code: 'ConditionalCheckFailed',
      Message: 'The conditional request failed',
    };
  });
  return jsonResponse(
    {
      __type: `${DYNAMODB_NS}TransactionCanceledException`,
      CancellationReasons: reasons,
      Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons
        .map((reason) => reason.Code)
        .join(', ')}]`,
    },
    400,
  );
}

function pick(source: Json, fields: readonly string[]): Json {
  const result: Record<string, unknown> = {};
  for (const field of fields) if (source[field] !== undefined) result[field] = source[field];
  return result;
}
