/**
 * The stream connection handler's `subscribe` route with a body API Gateway
 * delivered base64-encoded (a binary frame): bytes that are not UTF-8 get a
 * BadRequest error frame and no subscription, instead of being read with
 * U+FFFD in place of the bad bytes.
 */
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { JobStore } from '../../../../functions/shared/store';
import type { ConnectionDeps } from '../../../../functions/stream/connection/service';
import type { ConnectionsApi } from '../../../../functions/stream/connections';
import type { WebSocketEvent } from '../../../../functions/stream/identity';
import type { StreamMessage } from '../../../../functions/stream/messages';
import { connectionKey, StreamStore } from '../../../../functions/stream/store';
import { USER_ARN } from '../../helpers/api-event';

const ddb = mockClient(DynamoDBClient);
const NOW = new Date('2025-11-28T10:00:05.000Z');
let route: (event: WebSocketEvent, deps: ConnectionDeps) => Promise<unknown>;

beforeAll(async () => {
  vi.stubEnv('JOBS_TABLE_NAME', 'jobs-table');
  vi.stubEnv('STREAM_CALLBACK_URL', 'https://abc.execute-api.eu-west-1.amazonaws.com/live');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  ({ route } = await import('../../../../functions/stream/connection/handler'));
});

afterAll(() => {
  vi.unstubAllEnvs();
});

/** The @connections API as a recorder of what was posted. */
class PostedMessages implements ConnectionsApi {
  readonly posted: Array<{ connectionId: string; message: StreamMessage }> = [];

  async post(connectionId: string, message: unknown): Promise<void> {
    this.posted.push({ connectionId, message: message as StreamMessage });
  }

  async close(): Promise<void> {}
}

let connections: PostedMessages;

function deps(): ConnectionDeps {
  const client = new DynamoDBClient({});
  return {
    store: new StreamStore(client, 'jobs-table'),
    jobs: new JobStore(client, 'jobs-table'),
    connections,
    now: () => NOW,
  };
}

/** A `subscribe` message as API Gateway delivers it to the route's Lambda. */
function subscribeEvent(body: Buffer): WebSocketEvent {
  return {
    body: body.toString('base64'),
    isBase64Encoded: true,
    requestContext: {
      routeKey: 'subscribe',
      connectionId: 'conn-a',
      eventType: 'MESSAGE',
      messageId: 'm1',
      extendedRequestId: 'x1',
      messageDirection: 'IN',
      stage: 'live',
      requestId: 'r1',
      requestTime: '28/Nov/2025:10:00:05 +0000',
      requestTimeEpoch: NOW.getTime(),
      domainName: 'abc.execute-api.eu-west-1.amazonaws.com',
      apiId: 'abc',
    },
  } as WebSocketEvent;
}

beforeEach(() => {
  ddb.reset();
  // The connection exists and belongs to the caller; no job of any name does.
  const connection = connectionKey('conn-a');
  ddb.on(GetItemCommand).resolves({});
  ddb.on(GetItemCommand, { Key: connection }).resolves({
    Item: {
      ...connection,
      owner: { S: USER_ARN },
      expiresAt: { N: String(Math.floor(NOW.getTime() / 1000) + 3600) },
    },
  });
  ddb.on(QueryCommand).resolves({ Items: [] });
  connections = new PostedMessages();
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
});

describe('stream connection: a subscribe message that is not UTF-8', () => {
  it('answers with a BadRequest error frame and subscribes to nothing', async () => {
    // Prepare: a valid request but for one byte, 0xff, inside the name.
    const body = Buffer.concat([
      Buffer.from('{"action":"subscribe","name":"nightly-'),
      Buffer.from([0xff]),
      Buffer.from('report"}'),
    ]);

    // Act
    const result = await route(subscribeEvent(body), deps());

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(connections.posted).toEqual([
      {
        connectionId: 'conn-a',
        message: { type: 'error', code: 'BadRequest', message: expect.stringMatching(/UTF-8/) },
      },
    ]);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('reads a base64 body that is UTF-8 as the request it is', async () => {
    // Prepare
    const body = Buffer.from('{"action":"subscribe","name":"no-such-job"}');

    // Act
    await route(subscribeEvent(body), deps());

    // Assess: it got as far as looking the job up
    expect(connections.posted).toEqual([
      {
        connectionId: 'conn-a',
        message: {
          type: 'error',
          code: 'NotFound',
          message: expect.stringContaining('no-such-job'),
        },
      },
    ]);
  });
});
