/**
 * The stream connection Lambda, behind every route of the WebSocket API:
 * `$connect` (IAM-authorized), `subscribe`, `$default` and `$disconnect`.
 * Messages to the client go through the @connections API, never through the
 * route's response.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { EnvVar, requireEnv } from '../../../core/config';
import { ForbiddenError } from '../../../core/errors';
import { decodeUtf8 } from '../../shared/http';
import { describeError, log, withLogContext } from '../../shared/log';
import { JobStore } from '../../shared/store';
import { createConnectionsApi } from '../connections';
import { connectionOwner, type WebSocketEvent } from '../identity';
import { StreamStore } from '../store';
import {
  badMessage,
  type ConnectionDeps,
  connect,
  disconnect,
  subscribe,
  unknownMessage,
} from './service';

const client = new DynamoDBClient({});
const tableName = requireEnv(EnvVar.TableName);
const deps: ConnectionDeps = {
  store: new StreamStore(client, tableName),
  jobs: new JobStore(client, tableName),
  connections: createConnectionsApi({
    callbackUrl: requireEnv(EnvVar.StreamCallbackUrl),
    region: requireEnv('AWS_REGION'),
  }),
  now: () => new Date(),
};

export const handler = withLogContext(
  'stream-connection',
  async (event: WebSocketEvent, _context?: Context): Promise<APIGatewayProxyResultV2> =>
    route(event, deps),
);

/** Dispatches one WebSocket request by its route key. */
export async function route(
  event: WebSocketEvent,
  routeDeps: ConnectionDeps,
): Promise<APIGatewayProxyResultV2> {
  const { connectionId, routeKey } = event.requestContext;
  switch (routeKey) {
    case '$connect': {
      let owner: string;
      try {
        owner = connectionOwner(event);
      } catch (error) {
        if (error instanceof ForbiddenError) return { statusCode: 403 };
        throw error;
      }
      await connect(connectionId, owner, routeDeps);
      return { statusCode: 200 };
    }
    case '$disconnect':
      await disconnect(connectionId, routeDeps);
      return { statusCode: 200 };
    case 'subscribe': {
      const body =
        event.body && event.isBase64Encoded
          ? decodeUtf8(Buffer.from(event.body, 'base64'))
          : event.body;
      if (body === undefined && event.body) {
        await badMessage(connectionId, 'The message is not valid UTF-8', routeDeps);
        return { statusCode: 200 };
      }
      const result = await subscribe(connectionId, body, routeDeps);
      log.info('Subscribe', { connectionId, ...result });
      return { statusCode: 200 };
    }
    default:
      log.warn('Message on an unknown route', { connectionId, routeKey });
      await unknownMessage(connectionId, routeDeps).catch((error: unknown) => {
        log.warn('Could not answer an unknown message', describeError(error));
      });
      return { statusCode: 200 };
  }
}
