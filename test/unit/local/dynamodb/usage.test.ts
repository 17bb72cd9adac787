/**
 * What the local DynamoDB counts for a cost model: the capacity-unit
 * arithmetic of on-demand DynamoDB, the per-item locks that keep emulated
 * transactions isolated, and the calls and units `usage()` reports.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AwsRequest, Caller, LocalEnv, TableSpec } from '../../../../local/contracts';
import { LocalDynamoDb } from '../../../../local/dynamodb';
import {
  itemBytes,
  itemWriteUnits,
  queryReadUnits,
  readUnits,
  valueBytes,
  writeUnits,
} from '../../../../local/dynamodb/capacity';
import { hashValueOfQuery } from '../../../../local/dynamodb/dynamodb';
import {
  ItemLocks,
  itemLock,
  partitionLock,
  tableLock,
} from '../../../../local/dynamodb/item-locks';

const ENV: LocalEnv = {
  region: 'eu-west-1',
  accountId: '111122223333',
  partition: 'aws',
  timeScale: 1,
};

describe('capacity arithmetic', () => {
  it('sizes values as DynamoDB does: UTF-8 names and strings, numbers by significant digits', () => {
    // prepare / act / assess
    expect(valueBytes({ S: 'abc' })).toBe(3);
    expect(valueBytes({ S: 'é€' })).toBe(5);
    expect(valueBytes({ N: '0' })).toBe(1);
    expect(valueBytes({ N: '12345' })).toBe(4);
    expect(valueBytes({ N: '-1.50' })).toBe(2);
    expect(valueBytes({ N: '1000' })).toBe(2);
    expect(valueBytes({ B: Buffer.from('hello').toString('base64') })).toBe(5);
    expect(valueBytes({ BOOL: true })).toBe(1);
    expect(valueBytes({ NULL: true })).toBe(1);
    expect(valueBytes({ SS: ['a', 'bc'] })).toBe(3);
    expect(valueBytes({ L: [{ S: 'ab' }, { N: '1' }] })).toBe(3 + (1 + 2) + (1 + 2));
    expect(valueBytes({ M: { k: { S: 'v' } } })).toBe(3 + 1 + 1 + 1);
    expect(itemBytes({ pk: { S: 'JOB#1' }, n: { N: '7' } })).toBe(2 + 5 + 1 + 2);
    expect(itemBytes(undefined)).toBe(0);
  });

  it('bills reads per 4 KB: half when eventually consistent, twice in a transaction, a minimum for none', () => {
    expect(readUnits(0, 'strong')).toBe(1);
    expect(readUnits(0, 'eventual')).toBe(0.5);
    expect(readUnits(4096, 'strong')).toBe(1);
    expect(readUnits(4097, 'strong')).toBe(2);
    expect(readUnits(10 * 1024, 'eventual')).toBe(1.5);
    expect(readUnits(3500, 'transactional')).toBe(2);
  });

  it('bills writes per 1 KB of the larger version, twice in a transaction', () => {
    const small = { pk: { S: 'a' } };
    const large = { pk: { S: 'a' }, blob: { S: 'x'.repeat(2500) } };
    expect(writeUnits(0)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
    expect(itemWriteUnits(small, large)).toBe(3);
    expect(itemWriteUnits(large, undefined)).toBe(3);
    expect(itemWriteUnits(small, small, true)).toBe(2);
  });

  it('bills a Query or Scan by the total size read, rounded up once', () => {
    expect(queryReadUnits(3 * 1500, true)).toBe(2);
    expect(queryReadUnits(3 * 1500, false)).toBe(1);
    expect(queryReadUnits(0, true)).toBe(1);
  });
});

describe('ItemLocks', () => {
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('runs readers of one item together and a writer alone, in arrival order', async () => {
    const locks = new ItemLocks();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = locks.run([{ id: 'a', mode: 'shared' }], async () => {
      order.push('read1');
      await gate;
      order.push('read1 done');
    });
    const second = locks.run([{ id: 'a', mode: 'shared' }], async () => {
      order.push('read2');
    });
    const writer = locks.run([{ id: 'a', mode: 'exclusive' }], async () => {
      order.push('write');
    });
    await tick();
    expect(order).toEqual(['read1', 'read2']);
    release();
    await Promise.all([first, second, writer]);
    expect(order).toEqual(['read1', 'read2', 'read1 done', 'write']);
  });

  it('lets intents share and makes a shared lock wait for them', async () => {
    const locks = new ItemLocks();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const t1 = locks.run([{ id: 't', mode: 'intent' }], async () => {
      order.push('tx1');
      await gate;
    });
    const t2 = locks.run([{ id: 't', mode: 'intent' }], async () => {
      order.push('tx2');
    });
    const scan = locks.run([{ id: 't', mode: 'shared' }], async () => {
      order.push('scan');
    });
    await tick();
    expect(order).toEqual(['tx1', 'tx2']);
    release();
    await Promise.all([t1, t2, scan]);
    expect(order).toEqual(['tx1', 'tx2', 'scan']);
    await locks.whenIdle();
  });

  it('names items, partitions and tables apart', () => {
    const schema = { hash: 'pk', range: 'sk' };
    const a = itemLock('t', { pk: { S: 'a' }, sk: { S: 'x' } }, schema);
    expect(itemLock('t', { sk: { S: 'x' }, pk: { S: 'a' } }, schema)).toBe(a);
    expect(itemLock('t', { pk: { S: 'a' }, sk: { S: 'y' } }, schema)).not.toBe(a);
    expect(partitionLock('t', { S: 'a' })).not.toBe(tableLock('t'));
  });

  it('finds the partition a Query names, through placeholders or legacy conditions', () => {
    expect(
      hashValueOfQuery(
        {
          KeyConditionExpression: '#p = :pk AND begins_with(sk, :run)',
          ExpressionAttributeNames: { '#p': 'pk' },
          ExpressionAttributeValues: { ':pk': { S: 'JOB#1' }, ':run': { S: 'RUN#' } },
        },
        'pk',
      ),
    ).toEqual({ S: 'JOB#1' });
    expect(
      hashValueOfQuery(
        { KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'x' }] } } },
        'pk',
      ),
    ).toEqual({ S: 'x' });
    expect(hashValueOfQuery({ KeyConditionExpression: 'sk = :s' }, 'pk')).toBeUndefined();
  });
});

describe('LocalDynamoDb.usage', () => {
  const table: TableSpec = {
    logicalId: 'Table',
    name: 'things',
    arn: `arn:aws:dynamodb:${ENV.region}:${ENV.accountId}:table/things`,
    ttlAttribute: 'expiresAt',
    createTableInput: {
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    },
  };
  const fn: Caller = {
    accessKeyId: 'ASIAFUNCTION',
    accountId: ENV.accountId,
    arn: `arn:aws:sts::${ENV.accountId}:assumed-role/Role/fn`,
    userId: 'AROAX:fn',
  };
  const person: Caller = {
    accessKeyId: 'AKIAPERSON',
    accountId: ENV.accountId,
    arn: `arn:aws:iam::${ENV.accountId}:user/alice`,
    userId: 'AIDAX',
  };
  let db: LocalDynamoDb;

  beforeEach(async () => {
    db = await LocalDynamoDb.start({ env: ENV, ttlSweepIntervalMs: 0 });
    await db.ensureTables([table]);
  });
  afterEach(async () => {
    await db.close();
  });

  const call = async (operation: string, input: object, caller: Caller = fn) => {
    const request: AwsRequest = {
      method: 'POST',
      path: '/',
      query: new URLSearchParams(),
      headers: { 'x-amz-target': `DynamoDB_20120810.${operation}` },
      body: Buffer.from(JSON.stringify(input)),
      operation,
      caller,
    };
    const response = await db.handle(request);
    return { status: response.status, body: JSON.parse(String(response.body)) };
  };
  const big = (pk: string, sk: string) => ({
    pk: { S: pk },
    sk: { S: sk },
    data: { S: 'x'.repeat(1500) },
  });

  it('counts calls and units per operation, as on-demand DynamoDB bills them', async () => {
    // prepare
    const item = big('a', '1');
    // act
    const put = await call('PutItem', { TableName: 'things', Item: item });
    const get = await call('GetItem', { TableName: 'things', Key: { pk: item.pk, sk: item.sk } });
    const strong = await call('GetItem', {
      TableName: 'things',
      Key: { pk: item.pk, sk: item.sk },
      ConsistentRead: true,
      ReturnConsumedCapacity: 'TOTAL',
    });
    await call('PutItem', { TableName: 'things', Item: big('a', '2') });
    await call('PutItem', { TableName: 'things', Item: big('a', '3') });
    const query = await call('Query', {
      TableName: 'things',
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: 'a' } },
      ConsistentRead: true,
    });
    const failed = await call('PutItem', {
      TableName: 'things',
      Item: { pk: item.pk, sk: item.sk },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    await call('GetItem', { TableName: 'things', Key: { pk: item.pk, sk: item.sk } }, person);
    // assess
    expect(put.status).toBe(200);
    expect(put.body.ConsumedCapacity).toBeUndefined();
    expect(get.body.Item).toEqual(item);
    expect(get.body.ConsumedCapacity).toBeUndefined();
    expect(strong.body.ConsumedCapacity).toMatchObject({ CapacityUnits: 1, TableName: 'things' });
    expect(query.body.Count).toBe(3);
    expect(failed.status).toBe(400);
    expect(failed.body.__type).toMatch(/ConditionalCheckFailedException$/);
    const usage = db.usage();
    // Items of ~1.5 KB: 2 write units each; a failed condition still pays for the item it read.
    expect(usage.functions.PutItem).toEqual({
      calls: 4,
      readUnits: 0,
      writeUnits: 3 * 2 + 2,
      indexWriteUnits: 0,
    });
    expect(usage.functions.GetItem).toEqual({
      calls: 2,
      readUnits: 0.5 + 1,
      writeUnits: 0,
      indexWriteUnits: 0,
    });
    // Three items of ~1.5 KB read together: 4.5 KB, two read units for a consistent Query.
    expect(usage.functions.Query).toEqual({
      calls: 1,
      readUnits: 2,
      writeUnits: 0,
      indexWriteUnits: 0,
    });
    expect(usage.others.GetItem).toEqual({
      calls: 1,
      readUnits: 0.5,
      writeUnits: 0,
      indexWriteUnits: 0,
    });
  });

  it('bills an emulated transaction two units per KB and keeps the TTL sweep apart', async () => {
    // prepare
    await call('PutItem', { TableName: 'things', Item: { pk: { S: 't' }, sk: { S: 'ACTIVE' } } });
    await call('PutItem', {
      TableName: 'things',
      Item: {
        pk: { S: 'old' },
        sk: { S: '1' },
        expiresAt: { N: String(Math.floor(Date.now() / 1000) - 100) },
      },
    });
    // act
    const transaction = await call('TransactWriteItems', {
      TransactItems: [
        { Put: { TableName: 'things', Item: big('t', 'RUN#1') } },
        {
          Delete: {
            TableName: 'things',
            Key: { pk: { S: 't' }, sk: { S: 'ACTIVE' } },
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
      ],
    });
    const deleted = await db.sweepNow();
    // assess
    expect(transaction.status).toBe(200);
    expect(deleted).toBe(1);
    const usage = db.usage();
    expect(usage.functions.TransactWriteItems).toEqual({
      calls: 1,
      readUnits: 0,
      writeUnits: 2 * 2 + 2 * 1,
      indexWriteUnits: 0,
    });
    expect(usage.functions.Scan).toBeUndefined();
    expect(usage.internal.Scan?.calls).toBeGreaterThan(0);
    expect(usage.internal.DeleteItem).toEqual({ calls: 1 });
  });

  describe('with secondary indexes', () => {
    const indexed: TableSpec = {
      logicalId: 'Indexed',
      name: 'indexed',
      arn: `arn:aws:dynamodb:${ENV.region}:${ENV.accountId}:table/indexed`,
      createTableInput: {
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'owner', AttributeType: 'S' },
          { AttributeName: 'status', AttributeType: 'S' },
          { AttributeName: 'due', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: [
          {
            // Every item with an owner; holds the status and a big note too.
            IndexName: 'byOwner',
            KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['status', 'note'] },
          },
          {
            // Keyed on the status: a status change moves the entry.
            IndexName: 'byStatus',
            KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
          {
            // Sparse: only items with a due date.
            IndexName: 'byDue',
            KeySchema: [{ AttributeName: 'due', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
    };
    const key = { pk: { S: 'j' }, sk: { S: 'ACTIVE' } };
    const indexUnits = (operation: string) => db.usage().functions[operation]?.indexWriteUnits;

    beforeEach(async () => {
      await db.ensureTables([indexed]);
    });

    it("bills a write once per index it enters, by the entry's size", async () => {
      // act: in byOwner (note of 1.5 KB: 2 units) and byStatus (keys only: 1), not in byDue
      const put = await call('PutItem', {
        TableName: 'indexed',
        Item: { ...key, owner: { S: 'o' }, status: { S: 'QUEUED' }, note: { S: 'n'.repeat(1500) } },
      });
      // assess
      expect(put.status).toBe(200);
      expect(indexUnits('PutItem')).toBe(2 + 1);
      expect(db.usage().functions.PutItem?.writeUnits).toBe(2);
    });

    it('bills a key change as a delete and a put, a projected change once, anything else not at all', async () => {
      // prepare
      await call('PutItem', {
        TableName: 'indexed',
        Item: { ...key, owner: { S: 'o' }, status: { S: 'QUEUED' }, extra: { S: 'a' } },
      });
      const update = (expression: string, values: object) =>
        call('UpdateItem', {
          TableName: 'indexed',
          Key: key,
          UpdateExpression: expression,
          ...(expression.includes('#s') ? { ExpressionAttributeNames: { '#s': 'status' } } : {}),
          ExpressionAttributeValues: values,
        });
      // act
      const unprojected = await update('SET extra = :v', { ':v': { S: 'b' } });
      const afterUnprojected = indexUnits('UpdateItem');
      // status: byOwner's projection changes (1), byStatus's key changes (delete + put: 2)
      const status = await update('SET #s = :v', { ':v': { S: 'RUNNING' } });
      const afterStatus = indexUnits('UpdateItem');
      // a due date: the item enters byDue (ALL: the whole item, under 1 KB)
      const due = await update('SET due = :v', { ':v': { S: '2026' } });
      const afterDue = indexUnits('UpdateItem');
      // assess
      expect([unprojected.status, status.status, due.status]).toEqual([200, 200, 200]);
      expect(afterUnprojected).toBe(0);
      expect(afterStatus).toBe(1 + 2);
      expect(afterDue).toBe(3 + 1);
    });

    it('bills a delete once per index the item leaves, and nothing for a failed condition', async () => {
      // prepare
      await call('PutItem', {
        TableName: 'indexed',
        Item: { ...key, owner: { S: 'o' }, status: { S: 'QUEUED' }, due: { S: '2026' } },
      });
      // act
      const refused = await call('DeleteItem', {
        TableName: 'indexed',
        Key: key,
        ConditionExpression: '#s = :done',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':done': { S: 'DONE' } },
      });
      const refusedUnits = indexUnits('DeleteItem');
      const deleted = await call('DeleteItem', { TableName: 'indexed', Key: key });
      // assess
      expect(refused.status).toBe(400);
      expect(refusedUnits).toBe(0);
      expect(deleted.status).toBe(200);
      expect(indexUnits('DeleteItem')).toBe(3);
    });

    it('bills the index writes of an emulated transaction to the transaction', async () => {
      // prepare
      await call('PutItem', {
        TableName: 'indexed',
        Item: { ...key, owner: { S: 'o' }, status: { S: 'RUNNING' } },
      });
      // act: the outcome enters byOwner and byStatus; the active record leaves both
      const transaction = await call('TransactWriteItems', {
        TransactItems: [
          {
            Put: {
              TableName: 'indexed',
              Item: {
                pk: { S: 'j' },
                sk: { S: 'RUN#1' },
                owner: { S: 'o' },
                status: { S: 'DONE' },
              },
            },
          },
          { Delete: { TableName: 'indexed', Key: key } },
        ],
      });
      // assess
      expect(transaction.status).toBe(200);
      expect(indexUnits('TransactWriteItems')).toBe(2 + 2);
      expect(indexUnits('PutItem')).toBe(2);
      expect(indexUnits('DeleteItem')).toBeUndefined();
    });
  });
});
