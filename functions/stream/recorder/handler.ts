/**
 * The stream recorder Lambda: target of a rule for the six lifecycle events on
 * the bus. Logs each event for late subscribers and pushes it to live ones.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import { Defaults, EnvVar, intEnv, requireEnv } from '../../shared/config';
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

export async function handler(event: EventBridgeEvent<string, unknown>): Promise<RecordResult> {
  return recordEvent(event, deps);
}
