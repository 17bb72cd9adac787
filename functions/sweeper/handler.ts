/**
 * The sweeper Lambda, invoked once a minute by an EventBridge schedule rule.
 * A failed sweep is simply repeated by the next one.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { EnvVar, intEnv, requireEnv } from '../../core/config';
import { withLogContext } from '../shared/log';
import { JobStore } from '../shared/store';
import { type SweeperDeps, type SweepResult, sweep } from './service';

const deps: SweeperDeps = {
  store: new JobStore(new DynamoDBClient({}), requireEnv(EnvVar.TableName)),
  eventBridge: new EventBridgeClient({}),
  busName: requireEnv(EnvVar.EventBusName),
  graceMs: intEnv(EnvVar.SweepGraceSeconds, 30) * 1000,
  silentAfterMs: intEnv(EnvVar.SweepSilentAfterSeconds, 20 * 60) * 1000,
  startWindowMs: intEnv(EnvVar.SweepStartWindowSeconds, 6 * 60 * 60 + 5 * 60) * 1000,
  now: () => new Date(),
};

// Each line of a sweep names its run itself: one sweep ends many.
export const handler = withLogContext(
  'sweeper',
  async (_event?: unknown, _context?: Context): Promise<SweepResult> => sweep(deps),
);
