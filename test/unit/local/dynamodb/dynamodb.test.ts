/**
 * The local cloud's DynamoDB, driven through the real SDK v3 client over
 * HTTP, as the functions reach it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactGetItemsCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobStatus } from '../../../../core/model';
import { JobsTable } from '../../../../core/table';
import { JobStore } from '../../../../functions/shared/store';
import type { LocalEnv, TableSpec } from '../../../../local/contracts';
import {
  LocalDynamoDb,
  type LocalDynamoDbOptions,
  TableMismatchError,
} from '../../../../local/dynamodb';
import { serveAwsService } from '../../helpers/local-dynamodb';

const ENV: LocalEnv = {
  region: 'eu-west-1',
  accountId: '111122223333',
  partition: 'aws',
  timeScale: 1,
};

type Item = Record<string, AttributeValue>;

/** The jobs table as the template declares it (two GSIs with an INCLUDE projection, TTL). */
function jobsTableSpec(name = 'jobs'): TableSpec {
  const index = (definition: { indexName: string; partitionKey: string; sortKey: string }) => ({
    IndexName: definition.indexName,
    KeySchema: [
      { AttributeName: definition.partitionKey, KeyType: 'HASH' },
      { AttributeName: definition.sortKey, KeyType: 'RANGE' },
    ],
    Projection: {
      ProjectionType: 'INCLUDE',
      NonKeyAttributes: [...JobsTable.projectedAttributes],
    },
  });
  return {
    logicalId: 'JobsTable',
    name,
    arn: `arn:aws:dynamodb:${ENV.region}:${ENV.accountId}:table/${name}`,
    ttlAttribute: JobsTable.ttlAttribute,
    createTableInput: {
      AttributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk'].map((name) => ({
        AttributeName: name,
        AttributeType: 'S',
      })),
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [index(JobsTable.byOwner), index(JobsTable.byOwnerStatus)],
      // Template-only settings the local store must ignore.
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    },
  };
}

/** A tiny AWS endpoint: every request goes to the one service. */
const serve = serveAwsService;

function clientFor(url: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: url,
    region: ENV.region,
    credentials: { accessKeyId: 'AKIDCALLER', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
}

interface Running {
  readonly db: LocalDynamoDb;
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

async function startLocal(
  options: Partial<LocalDynamoDbOptions> = {},
  specs: readonly TableSpec[] = [jobsTableSpec()],
): Promise<Running> {
  const db = await LocalDynamoDb.start({ env: ENV, ttlSweepIntervalMs: 0, ...options });
  await db.ensureTables(specs);
  const http = await serve(db);
  const client = clientFor(http.url);
  return {
    db,
    client,
    close: async () => {
      client.destroy();
      await http.close();
      await db.close();
    },
  };
}

const key = (pk: string, sk: string): Item => ({ pk: { S: pk }, sk: { S: sk } });

async function getItem(client: DynamoDBClient, pk: string, sk: string): Promise<Item | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: 'jobs', Key: key(pk, sk), ConsistentRead: true }),
  );
  return Item;
}

/** What the completion function writes: the outcome, and the active record's deletion, in one transaction. */
function finishRun(pk: string, outcomeSk: string, runId: string) {
  return new TransactWriteItemsCommand({
    TransactItems: [
      {
        Put: {
          TableName: 'jobs',
          Item: { ...key(pk, outcomeSk), runId: { S: runId } },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Delete: {
          TableName: 'jobs',
          Key: key(pk, 'ACTIVE'),
          ConditionExpression: 'runId = :runId',
          ExpressionAttributeValues: { ':runId': { S: runId } },
        },
      },
    ],
  });
}

describe('local DynamoDB (in memory)', () => {
  let local: Running;
  let client: DynamoDBClient;

  beforeAll(async () => {
    local = await startLocal();
    client = local.client;
  });
  afterAll(async () => {
    await local.close();
  });

  describe('tables', () => {
    it('creates the table with its GSIs and INCLUDE projection, ACTIVE, with ARNs of the local account', async () => {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: 'jobs' }));

      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.TableArn).toBe(`arn:aws:dynamodb:eu-west-1:111122223333:table/jobs`);
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual([
        'byOwner',
        'byOwnerStatus',
      ]);
      expect(Table?.GlobalSecondaryIndexes?.[0]?.Projection).toEqual({
        ProjectionType: 'INCLUDE',
        NonKeyAttributes: [...JobsTable.projectedAttributes],
      });
    });

    it('answers a GSI query with the projected attributes only', async () => {
      await client.send(
        new PutItemCommand({
          TableName: 'jobs',
          Item: {
            ...key('JOB#u#a', 'ACTIVE'),
            gsi1pk: { S: 'OWNER#u' },
            gsi1sk: { S: '2026-01-01#1' },
            jobName: { S: 'a' },
            input: { S: '{"large":true}' },
          },
        }),
      );

      const { Items } = await client.send(
        new QueryCommand({
          TableName: 'jobs',
          IndexName: 'byOwner',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'OWNER#u' } },
        }),
      );

      expect(Items).toHaveLength(1);
      expect(Items?.[0]?.jobName).toEqual({ S: 'a' });
      expect(Items?.[0]?.input).toBeUndefined();
    });

    it('leaves existing tables and their items alone when asked again', async () => {
      await client.send(new PutItemCommand({ TableName: 'jobs', Item: key('keep', 'me') }));

      await local.db.ensureTables([jobsTableSpec()]);

      expect(await getItem(client, 'keep', 'me')).toEqual(key('keep', 'me'));
    });

    it('refuses a table that exists with another key schema', async () => {
      const spec = jobsTableSpec();
      const other: TableSpec = {
        ...spec,
        createTableInput: {
          ...spec.createTableInput,
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        },
      };

      const attempt = local.db.ensureTables([other]);

      await expect(attempt).rejects.toBeInstanceOf(TableMismatchError);
      await expect(attempt).rejects.toThrow(/Table "jobs" already exists .*different layout/);
    });

    it('refuses a table whose index projects other attributes', async () => {
      const spec = jobsTableSpec();
      const indexes = spec.createTableInput.GlobalSecondaryIndexes as {
        Projection: unknown;
      }[];
      const other: TableSpec = {
        ...spec,
        createTableInput: {
          ...spec.createTableInput,
          GlobalSecondaryIndexes: indexes.map((index) => ({
            ...index,
            Projection: { ProjectionType: 'ALL' },
          })),
        },
      };

      await expect(local.db.ensureTables([other])).rejects.toBeInstanceOf(TableMismatchError);
    });
  });

  describe('TransactWriteItems', () => {
    it('puts the outcome and deletes the active record together', async () => {
      await client.send(
        new PutItemCommand({
          TableName: 'jobs',
          Item: { ...key('JOB#t1', 'ACTIVE'), runId: { S: 'r1' } },
        }),
      );

      await client.send(finishRun('JOB#t1', 'RUN#r1', 'r1'));

      expect(await getItem(client, 'JOB#t1', 'ACTIVE')).toBeUndefined();
      expect(await getItem(client, 'JOB#t1', 'RUN#r1')).toEqual({
        ...key('JOB#t1', 'RUN#r1'),
        runId: { S: 'r1' },
      });
    });

    it('cancels with reasons per item and changes nothing when a condition fails', async () => {
      const active = { ...key('JOB#t2', 'ACTIVE'), runId: { S: 'current' }, n: { N: '1' } };
      await client.send(new PutItemCommand({ TableName: 'jobs', Item: active }));

      const error = await client.send(finishRun('JOB#t2', 'RUN#late', 'late')).catch((e) => e);

      expect(error).toBeInstanceOf(TransactionCanceledException);
      expect(error.message).toBe(
        'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]',
      );
      expect(error.CancellationReasons).toEqual([
        { Code: 'None' },
        { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
      ]);
      expect(await getItem(client, 'JOB#t2', 'RUN#late')).toBeUndefined();
      expect(await getItem(client, 'JOB#t2', 'ACTIVE')).toEqual(active);
    });

    it('applies the writes when every ConditionCheck holds, leaving checked items as they were', async () => {
      const guard = { ...key('JOB#cc', 'GUARD'), open: { BOOL: true }, n: { N: '7' } };
      await client.send(new PutItemCommand({ TableName: 'jobs', Item: guard }));

      await client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: 'jobs',
                Key: key('JOB#cc', 'GUARD'),
                ConditionExpression: '#open = :yes',
                ExpressionAttributeNames: { '#open': 'open' },
                ExpressionAttributeValues: { ':yes': { BOOL: true } },
              },
            },
            {
              ConditionCheck: {
                TableName: 'jobs',
                Key: key('JOB#cc', 'ABSENT'),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: 'jobs',
                Key: key('JOB#cc', 'COUNTER'),
                UpdateExpression: 'ADD n :one',
                ConditionExpression: 'attribute_not_exists(n) OR n < :max',
                ExpressionAttributeValues: { ':one': { N: '1' }, ':max': { N: '10' } },
              },
            },
          ],
        }),
      );

      expect(await getItem(client, 'JOB#cc', 'GUARD')).toEqual(guard);
      expect(await getItem(client, 'JOB#cc', 'ABSENT')).toBeUndefined();
      expect((await getItem(client, 'JOB#cc', 'COUNTER'))?.n).toEqual({ N: '1' });
    });

    it('rejects expression values that no expression of the action uses', async () => {
      await expect(
        client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Delete: {
                  TableName: 'jobs',
                  Key: key('JOB#unused', 'X'),
                  ExpressionAttributeValues: { ':v': { S: 'x' } },
                },
              },
            ],
          }),
        ),
      ).rejects.toThrow(
        'Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}',
      );
    });

    it('reports every failing condition, with the old item when asked', async () => {
      const first = { ...key('JOB#t3', 'A'), v: { S: 'a' } };
      const second = { ...key('JOB#t3', 'B'), v: { S: 'b' } };
      await client.send(new PutItemCommand({ TableName: 'jobs', Item: first }));
      await client.send(new PutItemCommand({ TableName: 'jobs', Item: second }));

      const error = await client
        .send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                ConditionCheck: {
                  TableName: 'jobs',
                  Key: key('JOB#t3', 'A'),
                  ConditionExpression: 'attribute_not_exists(pk)',
                  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                },
              },
              {
                Update: {
                  TableName: 'jobs',
                  Key: key('JOB#t3', 'B'),
                  UpdateExpression: 'SET v = :new',
                  ConditionExpression: 'v = :expected',
                  ExpressionAttributeValues: { ':new': { S: 'x' }, ':expected': { S: 'zzz' } },
                },
              },
              { Put: { TableName: 'jobs', Item: key('JOB#t3', 'C') } },
            ],
          }),
        )
        .catch((e) => e);

      expect(error).toBeInstanceOf(TransactionCanceledException);
      expect(error.CancellationReasons).toEqual([
        { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: first },
        { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
        { Code: 'None' },
      ]);
      expect(await getItem(client, 'JOB#t3', 'B')).toEqual(second);
      expect(await getItem(client, 'JOB#t3', 'C')).toBeUndefined();
    });

    it('rolls back the writes already made when a later write fails', async () => {
      const counter = { ...key('JOB#t4', 'COUNTER'), n: { S: 'not a number' } };
      await client.send(new PutItemCommand({ TableName: 'jobs', Item: counter }));
      const existing = { ...key('JOB#t4', 'EXISTING'), v: { S: 'old' } };
      await client.send(new PutItemCommand({ TableName: 'jobs', Item: existing }));

      const attempt = client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: 'jobs', Item: key('JOB#t4', 'NEW') } },
            { Put: { TableName: 'jobs', Item: { ...key('JOB#t4', 'EXISTING'), v: { S: 'new' } } } },
            {
              Update: {
                TableName: 'jobs',
                Key: key('JOB#t4', 'COUNTER'),
                // Only evaluating the update reveals that n is not a number.
                UpdateExpression: 'SET n = n + :one',
                ExpressionAttributeValues: { ':one': { N: '1' } },
              },
            },
          ],
        }),
      );

      await expect(attempt).rejects.toMatchObject({ name: 'ValidationException' });
      expect(await getItem(client, 'JOB#t4', 'NEW')).toBeUndefined();
      expect(await getItem(client, 'JOB#t4', 'EXISTING')).toEqual(existing);
      expect(await getItem(client, 'JOB#t4', 'COUNTER')).toEqual(counter);
    });

    it('rejects two operations on one item as AWS does', async () => {
      const attempt = client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: 'jobs', Item: { ...key('JOB#t5', 'X'), v: { S: '1' } } } },
            { Delete: { TableName: 'jobs', Key: key('JOB#t5', 'X') } },
          ],
        }),
      );

      await expect(attempt).rejects.toMatchObject({
        name: 'ValidationException',
        message: 'Transaction request cannot include multiple operations on one item',
      });
      expect(await getItem(client, 'JOB#t5', 'X')).toBeUndefined();
    });

    it('rejects empty, oversized and ambiguous transactions', async () => {
      const puts = (count: number) =>
        Array.from({ length: count }, (_, i) => ({
          Put: { TableName: 'jobs', Item: key('JOB#t6', `I${i}`) },
        }));

      await expect(
        client.send(new TransactWriteItemsCommand({ TransactItems: [] })),
      ).rejects.toMatchObject({ name: 'ValidationException' });
      await expect(
        client.send(new TransactWriteItemsCommand({ TransactItems: puts(101) })),
      ).rejects.toThrow(/less than or equal to 100/);
      await expect(
        client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Put: { TableName: 'jobs', Item: key('JOB#t6', 'P') },
                Delete: { TableName: 'jobs', Key: key('JOB#t6', 'Q') },
              },
            ],
          }),
        ),
      ).rejects.toThrow('TransactItems can only contain one of Check, Put, Update or Delete');
      await client.send(new TransactWriteItemsCommand({ TransactItems: puts(100) }));
      expect(await getItem(client, 'JOB#t6', 'I99')).toBeDefined();
    });

    it('lets exactly one of many concurrent transactions on one item win, in isolation', async () => {
      await client.send(
        new PutItemCommand({
          TableName: 'jobs',
          Item: { ...key('JOB#race', 'ACTIVE'), runId: { S: 'r' } },
        }),
      );
      const partition = async () => {
        const { Items } = await client.send(
          new QueryCommand({
            TableName: 'jobs',
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: 'JOB#race' } },
            ConsistentRead: true,
          }),
        );
        return (Items ?? []).map((item) => item.sk?.S ?? '?');
      };
      // Readers running alongside must never see a transaction half done:
      // the partition always holds either ACTIVE or one RUN# item.
      const seen: string[][] = [];
      let racing = true;
      const readers = Array.from({ length: 4 }, async () => {
        while (racing) seen.push(await partition());
      });

      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => client.send(finishRun('JOB#race', `RUN#${i}`, 'r'))),
      );
      racing = false;
      await Promise.all(readers);

      const won = results.filter((result) => result.status === 'fulfilled');
      const lost = results.filter((result) => result.status === 'rejected');
      expect(won).toHaveLength(1);
      for (const result of lost) {
        expect(result.reason).toBeInstanceOf(TransactionCanceledException);
      }
      const final = await partition();
      expect(final).toHaveLength(1);
      expect(final[0]).toMatch(/^RUN#/);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((items) => items.length !== 1)).toEqual([]);
    });

    it('treats a repeated ClientRequestToken as the same, already applied, transaction', async () => {
      const write = (value: string) =>
        new TransactWriteItemsCommand({
          ClientRequestToken: 'token-1',
          TransactItems: [
            {
              Update: {
                TableName: 'jobs',
                Key: key('JOB#t7', 'C'),
                UpdateExpression: 'ADD n :one',
                ExpressionAttributeValues: { ':one': { N: value } },
              },
            },
          ],
        });

      await client.send(write('1'));
      await client.send(write('1'));

      expect((await getItem(client, 'JOB#t7', 'C'))?.n).toEqual({ N: '1' });
      await expect(client.send(write('2'))).rejects.toMatchObject({
        name: 'IdempotentParameterMismatchException',
      });
    });

    it('answers ResourceNotFoundException for a missing table', async () => {
      await expect(
        client.send(
          new TransactWriteItemsCommand({
            TransactItems: [{ Put: { TableName: 'nope', Item: key('a', 'b') } }],
          }),
        ),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    });
  });

  describe('TransactGetItems', () => {
    it('reads several items at once, empty for a missing one', async () => {
      await client.send(new PutItemCommand({ TableName: 'jobs', Item: key('JOB#g', '1') }));

      const { Responses } = await client.send(
        new TransactGetItemsCommand({
          TransactItems: [
            { Get: { TableName: 'jobs', Key: key('JOB#g', '1') } },
            { Get: { TableName: 'jobs', Key: key('JOB#g', '2') } },
          ],
        }),
      );

      expect(Responses).toEqual([{ Item: key('JOB#g', '1') }, {}]);
    });
  });

  describe('ReturnValuesOnConditionCheckFailure', () => {
    it('returns the existing item with a failed conditional PutItem', async () => {
      const existing = { ...key('JOB#rv', 'ACTIVE'), runId: { S: 'first' } };
      await client.send(new PutItemCommand({ TableName: 'jobs', Item: existing }));

      const error = await client
        .send(
          new PutItemCommand({
            TableName: 'jobs',
            Item: { ...key('JOB#rv', 'ACTIVE'), runId: { S: 'second' } },
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        )
        .catch((e) => e);

      expect(error).toBeInstanceOf(ConditionalCheckFailedException);
      expect(error.Item).toEqual(existing);
    });

    it('returns no item when it was not asked for, or when there is none', async () => {
      await client.send(new PutItemCommand({ TableName: 'jobs', Item: key('JOB#rv2', 'A') }));

      const unasked = await client
        .send(
          new PutItemCommand({
            TableName: 'jobs',
            Item: key('JOB#rv2', 'A'),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        .catch((e) => e);
      const missing = await client
        .send(
          new DeleteItemCommand({
            TableName: 'jobs',
            Key: key('JOB#rv2', 'B'),
            ConditionExpression: 'attribute_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        )
        .catch((e) => e);

      expect(unasked).toBeInstanceOf(ConditionalCheckFailedException);
      expect(unasked.Item).toBeUndefined();
      expect(missing).toBeInstanceOf(ConditionalCheckFailedException);
      expect(missing.Item).toBeUndefined();
    });
  });

  describe('the project store against it', () => {
    it('creates, refuses a second start, and finishes a run exactly once', async () => {
      const store = new JobStore(client, 'jobs');
      const job = {
        owner: 'arn:aws:iam::111122223333:user/alice',
        jobName: 'nightly',
        runId: '01JDXR3Y5Q6Z8A9B0C1D2E3F4G',
        type: 'echo',
        status: JobStatus.Running,
        input: { value: 1 },
        inputHash: 'h',
        createdAt: '2026-01-05T10:00:00.000Z',
        updatedAt: '2026-01-05T10:00:00.000Z',
      };

      const created = await store.createActive(job);
      const again = await store.createActive({ ...job, runId: 'other' });
      const outcome = {
        ...job,
        status: JobStatus.Succeeded,
        finishedAt: '2026-01-05T10:00:05.000Z',
        expiresAt: 2_000_000_000,
      };
      const first = await store.finishRun(outcome);
      const duplicate = await store.finishRun(outcome);

      expect(created).toMatchObject({ created: true, job: { runId: job.runId } });
      expect(created.created && created.job.status).toBe(JobStatus.Running);
      expect(again).toMatchObject({ created: false, existing: { runId: job.runId } });
      expect(first).toBe(true);
      expect(duplicate).toBe(false);
      expect(await store.getActive(job.owner, job.jobName)).toBeUndefined();
      expect(await store.getLatestOutcome(job.owner, job.jobName, 1_900_000_000)).toMatchObject({
        runId: job.runId,
        status: 'SUCCEEDED',
      });
    });
  });

  describe('time to live', () => {
    it('reports TTL as enabled on the attribute of the spec', async () => {
      const { TimeToLiveDescription } = await client.send(
        new DescribeTimeToLiveCommand({ TableName: 'jobs' }),
      );

      expect(TimeToLiveDescription).toEqual({
        TimeToLiveStatus: 'ENABLED',
        AttributeName: 'expiresAt',
      });
    });

    it('deletes expired items only', async () => {
      const now = Math.floor(Date.now() / 1000);
      const items: Record<string, AttributeValue | undefined> = {
        expired: { N: String(now - 10) },
        expiringNow: { N: String(now) },
        future: { N: String(now + 3600) },
        notANumber: { S: String(now - 10) },
        tooOld: { N: String(now - 6 * 365 * 24 * 3600) },
        noTtl: undefined,
      };
      for (const [sk, expiresAt] of Object.entries(items)) {
        await client.send(
          new PutItemCommand({
            TableName: 'jobs',
            Item: { ...key('JOB#ttl', sk), ...(expiresAt ? { expiresAt } : {}) },
          }),
        );
      }

      const deleted = await local.db.sweepNow();

      const { Items } = await client.send(
        new QueryCommand({
          TableName: 'jobs',
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'JOB#ttl' } },
          ConsistentRead: true,
        }),
      );
      expect(deleted).toBe(2);
      expect(Items?.map((item) => item.sk?.S).sort()).toEqual([
        'future',
        'noTtl',
        'notANumber',
        'tooOld',
      ]);
    });

    it('enables TTL on another table through UpdateTimeToLive', async () => {
      await client.send(
        new CreateTableCommand({
          TableName: 'other',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      const before = await client.send(new DescribeTimeToLiveCommand({ TableName: 'other' }));

      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: 'other',
          TimeToLiveSpecification: { AttributeName: 'gone', Enabled: true },
        }),
      );
      await client.send(
        new PutItemCommand({
          TableName: 'other',
          Item: { id: { S: 'x' }, gone: { N: '1700000000' } },
        }),
      );
      await local.db.sweepNow();

      expect(before.TimeToLiveDescription?.TimeToLiveStatus).toBe('DISABLED');
      const after = await client.send(new DescribeTimeToLiveCommand({ TableName: 'other' }));
      expect(after.TimeToLiveDescription?.TimeToLiveStatus).toBe('ENABLED');
      const { Item } = await client.send(
        new GetItemCommand({ TableName: 'other', Key: { id: { S: 'x' } } }),
      );
      expect(Item).toBeUndefined();
      await expect(
        client.send(
          new UpdateTimeToLiveCommand({
            TableName: 'other',
            TimeToLiveSpecification: { AttributeName: 'gone', Enabled: true },
          }),
        ),
      ).rejects.toThrow('TimeToLive is already enabled');
    });
  });
});

describe('local DynamoDB with a data directory', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-dynamodb-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps tables and items across close and reopen', async () => {
    const first = await startLocal({ dataDir: join(dataDir, 'db') });
    await first.client.send(
      new PutItemCommand({ TableName: 'jobs', Item: { ...key('kept', 'x'), v: { S: 'yes' } } }),
    );
    await first.close();

    const second = await startLocal({ dataDir: join(dataDir, 'db') });
    try {
      expect(await getItem(second.client, 'kept', 'x')).toEqual({
        ...key('kept', 'x'),
        v: { S: 'yes' },
      });
      const { TimeToLiveDescription } = await second.client.send(
        new DescribeTimeToLiveCommand({ TableName: 'jobs' }),
      );
      expect(TimeToLiveDescription?.TimeToLiveStatus).toBe('ENABLED');
    } finally {
      await second.close();
    }
  });

  it('refuses a data directory whose table has another key schema', async () => {
    const spec = jobsTableSpec();
    const first = await startLocal({ dataDir: join(dataDir, 'db') }, [
      {
        ...spec,
        createTableInput: {
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        },
      },
    ]);
    await first.close();

    const db = await LocalDynamoDb.start({ env: ENV, dataDir: join(dataDir, 'db') });
    try {
      await expect(db.ensureTables([spec])).rejects.toThrow(
        /Table "jobs" already exists in the data directory .*\n.*template: key pk:S HASH, sk:S RANGE/,
      );
    } finally {
      await db.close();
    }
  });
});

describe('local DynamoDB on an external endpoint', () => {
  it('uses the other server, and still fills in transactions', async () => {
    const owner = await startLocal();
    const guest = await startLocal({ endpoint: owner.db.backendEndpoint });
    try {
      await guest.client.send(
        new PutItemCommand({
          TableName: 'jobs',
          Item: { ...key('JOB#ext', 'ACTIVE'), runId: { S: 'r' } },
        }),
      );
      await guest.client.send(finishRun('JOB#ext', 'RUN#r', 'r'));

      expect(await getItem(owner.client, 'JOB#ext', 'ACTIVE')).toBeUndefined();
      expect(await getItem(owner.client, 'JOB#ext', 'RUN#r')).toBeDefined();
    } finally {
      await guest.close();
      await owner.close();
    }
  });

  it('fails at start when nothing answers at the endpoint', async () => {
    await expect(LocalDynamoDb.start({ env: ENV, endpoint: 'http://127.0.0.1:9' })).rejects.toThrow(
      /does not answer ListTables/,
    );
  });

  it('refuses a data directory together with an endpoint', async () => {
    await expect(
      LocalDynamoDb.start({ env: ENV, endpoint: 'http://127.0.0.1:9', dataDir: '/tmp/x' }),
    ).rejects.toThrow('not both');
  });
});
