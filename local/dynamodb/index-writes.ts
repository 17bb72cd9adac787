/**
 * Write units that a table's secondary indexes consume, as on-demand DynamoDB
 * bills them (developer guide, "Global secondary indexes", provisioned
 * throughput considerations): a write to a table item costs, in each index,
 *
 * - one write of the index entry when the item enters the index (the write
 *   gives it every index key attribute) or leaves it (the write removes one);
 * - two writes, a delete and a put, when an index key attribute changes value;
 * - one write when the item stays in the index with the same key and a
 *   projected attribute changes; none when nothing the index holds changes.
 *
 * Each index write is priced by the size of the index entry (the projected
 * attributes, the index keys and the table keys), one unit per KB.
 *
 * The embedded DynamoDB reports each write's before and after images here
 * (`meterIndexWrites`); a request counts the units by running inside
 * `indexWriteUnits.run(...)`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type ItemJson, itemBytes, writeUnits } from './capacity';

interface KeyElement {
  readonly AttributeName: string;
}

interface IndexDescription {
  readonly KeySchema: readonly KeyElement[];
  readonly Projection: {
    readonly ProjectionType?: string;
    readonly NonKeyAttributes?: readonly string[];
  };
}

export interface TableDescription {
  readonly KeySchema: readonly KeyElement[];
  readonly GlobalSecondaryIndexes?: readonly IndexDescription[];
  readonly LocalSecondaryIndexes?: readonly IndexDescription[];
}

/** The running request's tally: the index write units its writes consume. */
export const indexWriteUnits = new AsyncLocalStorage<{ indexWriteUnits: number }>();

/** Adds a table write's index units to the running request's tally, if any. */
export function meterIndexWrites(
  table: TableDescription,
  before: ItemJson | null | undefined,
  after: ItemJson | null | undefined,
): void {
  const tally = indexWriteUnits.getStore();
  if (!tally) return;
  tally.indexWriteUnits += indexUnitsOf(table, before ?? undefined, after ?? undefined);
}

/** The index write units of one table write from `before` to `after` (undefined: no item). */
export function indexUnitsOf(
  table: TableDescription,
  before: ItemJson | undefined,
  after: ItemJson | undefined,
): number {
  const tableKeys = table.KeySchema.map((key) => key.AttributeName);
  let units = 0;
  for (const index of [
    ...(table.GlobalSecondaryIndexes ?? []),
    ...(table.LocalSecondaryIndexes ?? []),
  ]) {
    const indexKeys = index.KeySchema.map((key) => key.AttributeName);
    const entryBefore = entryOf(index, indexKeys, tableKeys, before);
    const entryAfter = entryOf(index, indexKeys, tableKeys, after);
    if (entryBefore && entryAfter) {
      if (!sameValues(indexKeys, entryBefore, entryAfter)) {
        units += writeUnits(itemBytes(entryBefore)) + writeUnits(itemBytes(entryAfter));
      } else if (!sameEntry(entryBefore, entryAfter)) {
        units += writeUnits(Math.max(itemBytes(entryBefore), itemBytes(entryAfter)));
      }
    } else if (entryAfter) {
      units += writeUnits(itemBytes(entryAfter));
    } else if (entryBefore) {
      units += writeUnits(itemBytes(entryBefore));
    }
  }
  return units;
}

/** The item as the index holds it, or undefined when the item is not in the index. */
function entryOf(
  index: IndexDescription,
  indexKeys: readonly string[],
  tableKeys: readonly string[],
  item: ItemJson | undefined,
): ItemJson | undefined {
  if (!item || !indexKeys.every((name) => item[name] !== undefined)) return undefined;
  if (index.Projection.ProjectionType === 'ALL') return item;
  const entry: Record<string, ItemJson[string]> = {};
  for (const name of [...indexKeys, ...tableKeys, ...(index.Projection.NonKeyAttributes ?? [])]) {
    const value = item[name];
    if (value !== undefined) entry[name] = value;
  }
  return entry;
}

function sameValues(names: readonly string[], a: ItemJson, b: ItemJson): boolean {
  return names.every((name) => JSON.stringify(a[name]) === JSON.stringify(b[name]));
}

function sameEntry(a: ItemJson, b: ItemJson): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && sameValues(names, a, b);
}
