/** Tables: creating them from the template, and reading their key schemas. */
import type { TableSpec } from '../contracts';
import type { DynamoDbBackend } from './backend';
import { BackendError, DynamoDbSetupError, TableMismatchError } from './errors';

/** An attribute value on the wire, e.g. `{"S":"x"}`. */
export type AttributeValue = Readonly<Record<string, unknown>>;
export type Item = Readonly<Record<string, AttributeValue>>;

export interface KeySchema {
  readonly hash: string;
  readonly range?: string;
}

type Json = Readonly<Record<string, unknown>>;

const ACTIVE_POLL_MS = 20;

/** The table's description (`DescribeTable`'s `Table`); throws BackendError (e.g. ResourceNotFoundException). */
export async function describeTable(backend: DynamoDbBackend, tableName: string): Promise<Json> {
  const { Table } = await backend.call('DescribeTable', { TableName: tableName });
  if (!isObject(Table))
    throw new DynamoDbSetupError(`DescribeTable ${tableName} returned no Table`);
  return Table;
}

export async function keySchemaOf(backend: DynamoDbBackend, tableName: string): Promise<KeySchema> {
  return keySchemaFrom((await describeTable(backend, tableName)).KeySchema, tableName);
}

/** The key attributes of an item, or undefined when one is missing. */
export function keyOf(item: Item, schema: KeySchema): Item | undefined {
  const hash = item[schema.hash];
  if (!hash) return undefined;
  if (schema.range === undefined) return { [schema.hash]: hash };
  const range = item[schema.range];
  return range ? { [schema.hash]: hash, [schema.range]: range } : undefined;
}

/** True when `key` has exactly the schema's key attributes. */
export function isExactKey(key: Item, schema: KeySchema): boolean {
  const names = Object.keys(key);
  const expected = schema.range === undefined ? 1 : 2;
  return names.length === expected && keyOf(key, schema) !== undefined;
}

/** Creates each table that does not exist yet, checks the ones that do, and waits until all are ACTIVE. */
export async function ensureTables(
  backend: DynamoDbBackend,
  specs: readonly TableSpec[],
  options: { readonly timeoutMs: number; readonly where: string },
): Promise<void> {
  for (const spec of specs) {
    const wanted = createTableInput(spec);
    let existing = await describeIfExists(backend, spec.name);
    if (!existing) {
      try {
        await backend.call('CreateTable', wanted);
      } catch (error) {
        // Another process (sharing an external endpoint) may have created it first.
        if (!(error instanceof BackendError && error.code === 'ResourceInUseException')) {
          throw new DynamoDbSetupError(
            `Could not create table "${spec.name}": ${errorText(error)}`,
            {
              cause: error,
            },
          );
        }
      }
      existing = await describeIfExists(backend, spec.name);
      if (!existing) throw new DynamoDbSetupError(`Table "${spec.name}" vanished after creation`);
    }
    checkLayout(spec.name, wanted, existing, options.where);
  }
  const deadline = Date.now() + options.timeoutMs;
  for (const spec of specs) {
    for (;;) {
      const table = await describeTable(backend, spec.name);
      if (isActive(table)) break;
      if (Date.now() > deadline) {
        throw new DynamoDbSetupError(
          `Table "${spec.name}" is still ${String(table.TableStatus)} after ${options.timeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, ACTIVE_POLL_MS));
    }
  }
}

/**
 * The CreateTable input of a spec. Only what shapes the data is kept: the
 * template's encryption, point-in-time recovery, tags and TTL settings mean
 * nothing to a local store (TTL is handled by the sweeper), and an external
 * endpoint may reject them. PAY_PER_REQUEST is passed as it is: dynalite
 * accepts it.
 */
export function createTableInput(spec: TableSpec): Json {
  const source = spec.createTableInput;
  const input: Record<string, unknown> = { TableName: spec.name };
  for (const field of [
    'AttributeDefinitions',
    'KeySchema',
    'BillingMode',
    'ProvisionedThroughput',
  ]) {
    if (source[field] !== undefined) input[field] = source[field];
  }
  if (!Array.isArray(source.KeySchema) || !Array.isArray(source.AttributeDefinitions)) {
    throw new DynamoDbSetupError(
      `Table spec "${spec.logicalId}" has no KeySchema or AttributeDefinitions`,
    );
  }
  const indexes = (field: string, keep: readonly string[]) => {
    const list = source[field];
    if (!Array.isArray(list) || list.length === 0) return;
    input[field] = list.filter(isObject).map((index) => pick(index, keep));
  };
  indexes('GlobalSecondaryIndexes', [
    'IndexName',
    'KeySchema',
    'Projection',
    'ProvisionedThroughput',
  ]);
  indexes('LocalSecondaryIndexes', ['IndexName', 'KeySchema', 'Projection']);
  return input;
}

async function describeIfExists(
  backend: DynamoDbBackend,
  tableName: string,
): Promise<Json | undefined> {
  try {
    return await describeTable(backend, tableName);
  } catch (error) {
    if (error instanceof BackendError && error.code === 'ResourceNotFoundException')
      return undefined;
    throw new DynamoDbSetupError(`Could not describe table "${tableName}": ${errorText(error)}`, {
      cause: error,
    });
  }
}

function checkLayout(name: string, wanted: Json, existing: Json, where: string): void {
  const expected = layout(wanted);
  const actual = layout(existing);
  const missing = expected.filter((line) => !actual.includes(line));
  if (missing.length === 0) return;
  throw new TableMismatchError(
    `Table "${name}" already exists in ${where} with a different layout than the template's.\n` +
      `  template: ${expected.join('; ')}\n` +
      `  existing: ${actual.join('; ')}\n` +
      'Delete the table (or the data directory) to have it created again.',
  );
}

/** One line for the table key and one per index: key attributes with types, and the projection. */
function layout(table: Json): string[] {
  const types = new Map<string, string>();
  for (const definition of asArray(table.AttributeDefinitions)) {
    types.set(String(definition.AttributeName), String(definition.AttributeType));
  }
  const keyText = (schema: unknown) =>
    asArray(schema)
      .map(
        (key) =>
          `${String(key.AttributeName)}:${types.get(String(key.AttributeName)) ?? '?'} ${String(key.KeyType)}`,
      )
      .join(', ');
  const lines = [`key ${keyText(table.KeySchema)}`];
  for (const [kind, field] of [
    ['GSI', 'GlobalSecondaryIndexes'],
    ['LSI', 'LocalSecondaryIndexes'],
  ] as const) {
    for (const index of asArray(table[field])) {
      const projection = isObject(index.Projection) ? index.Projection : {};
      const attributes = asStrings(projection.NonKeyAttributes).sort().join(',');
      lines.push(
        `${kind} ${String(index.IndexName)} (${keyText(index.KeySchema)}) ` +
          `${String(projection.ProjectionType ?? 'ALL')}${attributes ? `[${attributes}]` : ''}`,
      );
    }
  }
  return lines;
}

function isActive(table: Json): boolean {
  if (table.TableStatus !== 'ACTIVE') return false;
  return asArray(table.GlobalSecondaryIndexes).every(
    (index) => index.IndexStatus === undefined || index.IndexStatus === 'ACTIVE',
  );
}

function keySchemaFrom(schema: unknown, tableName: string): KeySchema {
  const keys = asArray(schema);
  const hash = keys.find((key) => key.KeyType === 'HASH')?.AttributeName;
  const range = keys.find((key) => key.KeyType === 'RANGE')?.AttributeName;
  if (typeof hash !== 'string') {
    throw new DynamoDbSetupError(`Table "${tableName}" has no HASH key in its description`);
  }
  return typeof range === 'string' ? { hash, range } : { hash };
}

function pick(source: Json, fields: readonly string[]): Json {
  const result: Record<string, unknown> = {};
  for (const field of fields) if (source[field] !== undefined) result[field] = source[field];
  return result;
}

export function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function asArray(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
}

function errorText(error: unknown): string {
  if (error instanceof BackendError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
