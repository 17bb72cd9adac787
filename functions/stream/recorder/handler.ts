/**
 * The stream recorder Lambda: target of a rule for the six lifecycle events on
 * the bus. Logs each event for late subscribers and pushes it to live ones.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { Defaults, EnvVar, intEnv, requireEnv } from '../../../core/config';
import { withLogContext } from '../../shared/log';
import { createConnectionsApi } from '../connections';
import { StreamStore } from '../store';
import { type RecorderDeps, type RecordResult, recordEvent } from './service';

const deps: RecorderDeps = {
  store: new StreamStore(new DynamoDBClient({}), requireEnv(EnvVar.TableName)),
  connections: createConnectionsApi({
    callbackUrl: requireEnv(EnvVar.StreamCallbackUrl),
    region: requireEnv('AWS_REGION'),
  }),
  retentionSeconds: intEnv(EnvVar.OutcomeRetentionSeconds, Defaults.outcomeRetentionSeconds),
  now: () => new Date(),
};

export const handler = withLogContext(
  'stream-recorder',
  async (event: EventBridgeEvent<string, unknown>, _context?: Context): Promise<RecordResult> =>
    recordEvent(event, deps),
);
