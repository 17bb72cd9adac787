/**
 * The completion Lambda, the target of two rules on the bus: the worker's
 * outcome events and the worker's OnFailure destination records.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import { getJobType } from '../jobs/registry';
import { Defaults, EnvVar, intEnv, requireEnv } from '../shared/config';
import { JobStore } from '../shared/store';
import { type CompletionDeps, completeRun } from './service';

const deps: CompletionDeps = {
  store: new JobStore(new DynamoDBClient({}), requireEnv(EnvVar.TableName)),
  retentionSeconds: intEnv(EnvVar.OutcomeRetentionSeconds, Defaults.outcomeRetentionSeconds),
  now: () => new Date(),
  getJobType,
};

export async function handler(event: EventBridgeEvent<string, unknown>): Promise<void> {
  await completeRun(event, deps);
}
