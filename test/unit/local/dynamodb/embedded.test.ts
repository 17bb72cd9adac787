/**
 * The embedded DynamoDB (dynalite in process): what its LevelDB store keeps
 * between requests.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDynalite } from '../../../../local/dynamodb/embedded';

interface LevelIterator {
  _close(): Promise<void>;
}
type OpenIterator = (this: unknown, options: unknown) => LevelIterator;
type IteratorFactories = Record<'_keys' | '_values' | '_iterator', OpenIterator>;

/** memory-level, the copy dynalite resolves; its iterators are what a Query or Scan reads through. */
const require = createRequire(import.meta.url);
const memoryLevel = createRequire(require.resolve('dynalite/db'))('memory-level') as {
  MemoryLevel: { prototype: IteratorFactories };
};

describe('the embedded DynamoDB', () => {
  const prototype = ownerOf(memoryLevel.MemoryLevel.prototype, '_values');
  const originals: IteratorFactories = {
    _keys: prototype._keys,
    _values: prototype._values,
    _iterator: prototype._iterator,
  };
  let open = 0;
  let dynamodb: EmbeddedDynalite;

  beforeAll(async () => {
    // Counts the store's iterators that are opened and not yet closed.
    for (const name of ['_keys', '_values', '_iterator'] as const) {
      const original = originals[name];
      prototype[name] = function (this: unknown, options: unknown) {
        const iterator = original.call(this, options);
        open += 1;
        const close = iterator._close.bind(iterator);
        iterator._close = () => {
          open -= 1;
          return close();
        };
        return iterator;
      };
    }
    dynamodb = await EmbeddedDynalite.start({ region: 'eu-west-1', accountId: '111122223333' });
    await dynamodb.call('CreateTable', {
      TableName: 'items',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
    await waitFor(async () => {
      const { Table } = await dynamodb.call('DescribeTable', { TableName: 'items' });
      return (Table as { TableStatus?: string }).TableStatus === 'ACTIVE';
    });
    for (const sk of ['a', 'b', 'c']) {
      await dynamodb.call('PutItem', {
        TableName: 'items',
        Item: { pk: { S: 'P' }, sk: { S: sk } },
      });
    }
  });

  afterAll(async () => {
    await dynamodb.close();
    Object.assign(prototype, originals);
  });

  it('closes the store iterator of every Query and Scan, read to the end or cut short by a Limit', async () => {
    // Prepare
    const query = { TableName: 'items', KeyConditionExpression: 'pk = :pk' };
    const requests: [string, Record<string, unknown>][] = [
      ['Query', { ...query, ExpressionAttributeValues: { ':pk': { S: 'P' } } }],
      ['Query', { ...query, ExpressionAttributeValues: { ':pk': { S: 'P' } }, Limit: 1 }],
      ['Query', { ...query, ExpressionAttributeValues: { ':pk': { S: 'none' } } }],
      ['Scan', { TableName: 'items' }],
      ['Scan', { TableName: 'items', Limit: 2 }],
      ['ListTables', {}],
    ];
    const before = open;

    // Act
    for (let round = 0; round < 10; round++) {
      for (const [operation, input] of requests) await dynamodb.call(operation, input);
    }

    // Assess: an open iterator would keep the store's items as they were, deleted ones too.
    await waitFor(async () => open === before);
    expect(open).toBe(before);
  });
});

/** The prototype in the chain that defines `name` (memory-level's own class, under the local cloud's subclass). */
function ownerOf(prototype: IteratorFactories, name: keyof IteratorFactories): IteratorFactories {
  let owner: IteratorFactories | null = prototype;
  while (owner && !Object.hasOwn(owner, name)) owner = Object.getPrototypeOf(owner);
  if (!owner) throw new Error(`memory-level has no ${name}`);
  return owner;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition()) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
