/**
 * The sweeper Lambda, invoked once a minute by an EventBridge schedule rule.
 * A failed sweep is simply repeated by the next one.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';
import { Defaults, EnvVar, intEnv, requireEnv } from '../../core/config';
import { dispatcherFor } from '../shared/dispatch';
import { slotStoreFromEnv } from '../shared/limits-env';
import { withLogContext } from '../shared/log';
import { redrive } from '../shared/redrive';
import { JobStore } from '../shared/store';
import { type SweeperDeps, type SweepResult, sweep } from './service';

const dynamodb = new DynamoDBClient({});
const tableName = requireEnv(EnvVar.TableName);
const store = new JobStore(dynamodb, tableName, slotStoreFromEnv(dynamodb, tableName));
// Each look is short: a sweep looks at every owner and type with queued runs.
const dispatch = dispatcherFor(store, undefined, { timeMs: 5_000 });

const worker = {
  lambda: new LambdaClient({}),
  workerFunctionName: requireEnv(EnvVar.WorkerFunctionName),
};

const deps: SweeperDeps = {
  store,
  ...(dispatch ? { dispatch } : {}),
  redrive: (job, now) => redrive(job, now, { store, worker }),
  eventBridge: new EventBridgeClient({}),
  busName: requireEnv(EnvVar.EventBusName),
  graceMs: intEnv(EnvVar.SweepGraceSeconds, 30) * 1000,
  silentAfterMs: intEnv(EnvVar.SweepSilentAfterSeconds, 20 * 60) * 1000,
  startWindowMs: intEnv(EnvVar.SweepStartWindowSeconds, 6 * 60 * 60 + 5 * 60) * 1000,
  queueTimeoutMs: intEnv(EnvVar.QueueTimeoutSeconds, Defaults.queueTimeoutSeconds) * 1000,
  now: () => new Date(),
};

// Each line of a sweep names its run itself: one sweep ends many.
export const handler = withLogContext(
  'sweeper',
  async (_event?: unknown, _context?: Context): Promise<SweepResult> => sweep(deps),
);
