/**
 * Capacity units the way on-demand DynamoDB bills them (AWS developer guide,
 * "DynamoDB read and write operations" and "Item sizes and formats"):
 *
 * - an item's size is the UTF-8 length of its attribute names plus its
 *   values: strings and binaries by length, numbers about one byte per two
 *   significant digits plus one, booleans and nulls one byte, lists and maps
 *   three bytes plus one byte per element plus the elements (a map's keys
 *   count as attribute names);
 * - a read costs one unit per 4 KB of the item (rounded up per item),
 *   half that when eventually consistent and twice that in a transaction;
 *   a missing item still costs the minimum;
 * - a write costs one unit per 1 KB of the larger of the item before and
 *   after it, twice that in a transaction; a write whose condition fails
 *   still costs the units of the item it was checked against (1 when there
 *   is none);
 * - Query and Scan cost by the total size of the items read, rounded up to
 *   4 KB once per call (not per item), whatever a filter or projection then
 *   drops.
 */

export type AttributeValueJson = Readonly<Record<string, unknown>>;
export type ItemJson = Readonly<Record<string, AttributeValueJson>>;

export const READ_UNIT_BYTES = 4 * 1024;
export const WRITE_UNIT_BYTES = 1024;

export type ReadMode = 'eventual' | 'strong' | 'transactional';

/** The billed size of an item in bytes. */
export function itemBytes(item: ItemJson | undefined): number {
  if (!item) return 0;
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8(name) + valueBytes(value);
  return size;
}

/** The size of one attribute value (without its name). */
export function valueBytes(value: AttributeValueJson): number {
  const [type, raw] = Object.entries(value)[0] ?? [];
  switch (type) {
    case 'S':
      return utf8(String(raw));
    case 'N':
      return numberBytes(String(raw));
    case 'B':
      return binaryBytes(raw);
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return listOf(raw).reduce<number>((sum, entry) => sum + utf8(String(entry)), 0);
    case 'NS':
      return listOf(raw).reduce<number>((sum, entry) => sum + numberBytes(String(entry)), 0);
    case 'BS':
      return listOf(raw).reduce<number>((sum, entry) => sum + binaryBytes(entry), 0);
    case 'L':
      return (
        3 +
        listOf(raw).reduce<number>(
          (sum, entry) => sum + 1 + valueBytes(entry as AttributeValueJson),
          0,
        )
      );
    case 'M': {
      const entries = Object.entries((raw ?? {}) as Record<string, AttributeValueJson>);
      return (
        3 + entries.reduce((sum, [name, entry]) => sum + 1 + utf8(name) + valueBytes(entry), 0)
      );
    }
    default:
      return 0;
  }
}

/** Read units for one item of `bytes` (at least the minimum, even for a missing item). */
export function readUnits(bytes: number, mode: ReadMode): number {
  const units = Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES));
  return mode === 'eventual' ? units / 2 : mode === 'transactional' ? units * 2 : units;
}

/** Read units of a Query or Scan that read `totalBytes` of items in all. */
export function queryReadUnits(totalBytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(totalBytes / READ_UNIT_BYTES));
  return consistent ? units : units / 2;
}

/** Write units for a write of an item whose larger version (before or after) is `bytes`. */
export function writeUnits(bytes: number, transactional = false): number {
  const units = Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
  return transactional ? units * 2 : units;
}

/** Write units of a single write: the larger of the item before and after. */
export function itemWriteUnits(
  before: ItemJson | undefined,
  after: ItemJson | undefined,
  transactional = false,
): number {
  return writeUnits(Math.max(itemBytes(before), itemBytes(after)), transactional);
}

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Significant digits, two to a byte, plus one byte (AWS: "approximately"). */
function numberBytes(text: string): number {
  const digits = text
    .replace(/^[+-]/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  if (digits.length === 0) return 1;
  return Math.ceil(digits.length / 2) + 1;
}

function binaryBytes(raw: unknown): number {
  if (typeof raw === 'string') return Buffer.from(raw, 'base64').length;
  if (raw instanceof Uint8Array) return raw.length;
  return 0;
}

function listOf(raw: unknown): readonly unknown[] {
  return Array.isArray(raw) ? raw : [];
}
