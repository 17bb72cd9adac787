/**
 * What the jobs table's two stores (`JobStore` and the stream's `StreamStore`)
 * share of DynamoDB: one client on one table, the item shape, and how a
 * conditional write that was refused is told apart from one that failed.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type Delete,
  DeleteItemCommand,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  GetItemCommand,
  type Put,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  TransactWriteItemsCommand,
  type Update,
  UpdateItemCommand,
  type UpdateItemCommandInput,
  type UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

/** A request's input without the table, which the `TableClient` names. */
type OnTable<T> = Omit<T, 'TableName'>;

/** One item of a transaction on the table. */
export type TableWrite =
  | { readonly Put: OnTable<Put> }
  | { readonly Delete: OnTable<Delete> }
  | { readonly Update: OnTable<Update> };

/** BatchGetItem's limit of keys a call (AWS-FACTS). */
const BATCH_GET_KEYS = 100;

/** One client on one table: the requests the stores send, each naming the table. */
export class TableClient {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;

  constructor(client: DynamoDBClient, tableName: string) {
    this.#client = client;
    this.#tableName = tableName;
  }

  /** The item as it is now (a strongly consistent read), if there is one. */
  async get(key: Item): Promise<Item | undefined> {
    const { Item } = await this.#client.send(
      new GetItemCommand({ TableName: this.#tableName, Key: key, ConsistentRead: true }),
    );
    return Item;
  }

  async put(input: OnTable<PutItemCommandInput>): Promise<void> {
    await this.#client.send(new PutItemCommand({ ...input, TableName: this.#tableName }));
  }

  async delete(input: OnTable<DeleteItemCommandInput>): Promise<void> {
    await this.#client.send(new DeleteItemCommand({ ...input, TableName: this.#tableName }));
  }

  async update(input: OnTable<UpdateItemCommandInput>): Promise<UpdateItemCommandOutput> {
    return this.#client.send(new UpdateItemCommand({ ...input, TableName: this.#tableName }));
  }

  async query(input: OnTable<QueryCommandInput>): Promise<QueryCommandOutput> {
    return this.#client.send(new QueryCommand({ ...input, TableName: this.#tableName }));
  }

  /** Every page of a query, in order, each handed to `onPage` before the next is read. */
  async queryAll(
    input: OnTable<QueryCommandInput>,
    onPage: (page: { items: Item[]; count: number }) => void,
  ): Promise<void> {
    let startKey: Item | undefined;
    do {
      const page = await this.query({
        ...input,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      });
      onPage({ items: page.Items ?? [], count: page.Count ?? 0 });
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async transactWrite(writes: readonly TableWrite[]): Promise<void> {
    const TableName = this.#tableName;
    await this.#client.send(
      new TransactWriteItemsCommand({
        TransactItems: writes.map((write) => {
          if ('Put' in write) return { Put: { ...write.Put, TableName } };
          if ('Delete' in write) return { Delete: { ...write.Delete, TableName } };
          return { Update: { ...write.Update, TableName } };
        }),
      }),
    );
  }

  /** The items of these keys that exist, read strongly consistently, in no particular order. */
  async batchGet(keys: readonly Item[]): Promise<Item[]> {
    const found: Item[] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) {
      let pending: Item[] | undefined = keys.slice(i, i + BATCH_GET_KEYS);
      while (pending && pending.length > 0) {
        const response: BatchGetItemCommandOutput = await this.#client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.#tableName]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        found.push(...(response.Responses?.[this.#tableName] ?? []));
        pending = response.UnprocessedKeys?.[this.#tableName]?.Keys;
      }
    }
    return found;
  }
}

/**
 * Runs a conditional write and returns what it returns, or `refused` when its
 * condition did not hold: a duplicate or late caller, or a record that is gone,
 * is an answer, not an error. Any other error is thrown.
 */
export async function unlessRefused<T, R>(write: () => Promise<T>, refused: R): Promise<T | R> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return refused;
    throw error;
  }
}
