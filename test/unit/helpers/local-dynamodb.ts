/**
 * The local cloud's DynamoDB (dynalite behind the emulator's transactions and
 * locks) on a port of its own, for tests of table code that needs real
 * conditions and transactions rather than a mocked client.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { JobsTable } from '../../../core/table';
import type { AwsService, LocalEnv, TableSpec } from '../../../local/contracts';
import { LocalDynamoDb } from '../../../local/dynamodb';

export const LOCAL_ENV: LocalEnv = {
  region: 'eu-west-1',
  accountId: '111122223333',
  partition: 'aws',
  timeScale: 1,
};

/** The jobs table as the template declares it: its key, its three indexes and TTL. */
export function jobsTableSpec(name = 'jobs'): TableSpec {
  const index = (
    definition: { indexName: string; partitionKey: string; sortKey: string },
    attributes: readonly string[],
  ) => ({
    IndexName: definition.indexName,
    KeySchema: [
      { AttributeName: definition.partitionKey, KeyType: 'HASH' },
      { AttributeName: definition.sortKey, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...attributes] },
  });
  const keys = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'gsi3pk', 'gsi3sk'];
  return {
    logicalId: 'JobsTable',
    name,
    arn: `arn:aws:dynamodb:${LOCAL_ENV.region}:${LOCAL_ENV.accountId}:table/${name}`,
    ttlAttribute: JobsTable.ttlAttribute,
    createTableInput: {
      AttributeDefinitions: keys.map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [
        index(JobsTable.byOwner, JobsTable.projectedAttributes),
        index(JobsTable.byOwnerStatus, JobsTable.projectedAttributes),
        index(JobsTable.byActive, JobsTable.activeProjectedAttributes),
      ],
    },
  };
}

/** Serves one emulated AWS service over HTTP, as the SDK reaches it. */
export async function serveAwsService(
  service: AwsService,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      service
        .handle({
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers,
          body: Buffer.concat(chunks),
          operation: headers['x-amz-target']?.split('.')[1],
        })
        .then((response) => {
          res.writeHead(response.status, response.headers);
          res.end(response.body);
        })
        .catch((error: unknown) => {
          res.writeHead(500);
          res.end(String(error));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface LocalTable {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  close(): Promise<void>;
}

/** An in-memory local DynamoDB with the jobs table, and an SDK client for it. */
export async function startLocalJobsTable(): Promise<LocalTable> {
  const db = await LocalDynamoDb.start({ env: LOCAL_ENV, ttlSweepIntervalMs: 0 });
  const spec = jobsTableSpec();
  await db.ensureTables([spec]);
  const http = await serveAwsService(db);
  const client = new DynamoDBClient({
    endpoint: http.url,
    region: LOCAL_ENV.region,
    credentials: { accessKeyId: 'AKIDCALLER', secretAccessKey: 'secret' },
    maxAttempts: 1,
  });
  return {
    client,
    tableName: spec.name,
    close: async () => {
      client.destroy();
      await http.close();
      await db.close();
    },
  };
}
