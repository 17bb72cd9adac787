/**
 * The completion Lambda, the target of two rules on the bus: the worker's
 * outcome events and the worker's OnFailure destination records.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { Defaults, EnvVar, intEnv, requireEnv } from '../../core/config';
import { jobEventPutter } from '../shared/bus';
import { dispatcherFor } from '../shared/dispatch';
import { getJobType } from '../shared/job-registry';
import { slotStoreFromEnv } from '../shared/limits-env';
import { withLogContext } from '../shared/log';
import { createJobMetrics, withMetrics } from '../shared/metrics';
import { redrive } from '../shared/redrive';
import { JobStore } from '../shared/store';
import { deliverWebhook } from '../shared/webhook';
import { type CompletionDeps, completeRun } from './service';
import { readSecretString } from './webhook-secret';

const busName = requireEnv(EnvVar.EventBusName);
const secretArn = requireEnv(EnvVar.WebhookSecretArn);
const eventBridge = new EventBridgeClient({});
const allowHttpLocalhost = process.env[EnvVar.LocalCloud] === 'true';
const metrics = createJobMetrics();
const dynamodb = new DynamoDBClient({});
const tableName = requireEnv(EnvVar.TableName);
const store = new JobStore(dynamodb, tableName, slotStoreFromEnv(dynamodb, tableName));
const dispatch = dispatcherFor(store, metrics);

const worker = {
  lambda: new LambdaClient({}),
  workerFunctionName: requireEnv(EnvVar.WorkerFunctionName),
};

const deps: CompletionDeps = {
  store,
  ...(dispatch ? { dispatch } : {}),
  redrive: (job, now) => redrive(job, now, { store, worker }),
  retentionSeconds: intEnv(EnvVar.OutcomeRetentionSeconds, Defaults.outcomeRetentionSeconds),
  now: () => new Date(),
  getJobType,
  metrics,
  putEvent: jobEventPutter(eventBridge, busName),
  deliverWebhook: async ({ url, deliveryId, body }) => {
    // A secret that cannot be read throws: the event is retried, and delivery with it.
    const secret = await readSecretString(secretArn);
    const result = await deliverWebhook({ url, body, secret, deliveryId, allowHttpLocalhost });
    return { url, ...result };
  },
};

export const handler = withLogContext(
  'completion',
  withMetrics(
    metrics,
    async (event: EventBridgeEvent<string, unknown>, _context?: Context): Promise<void> => {
      await completeRun(event, deps);
    },
  ),
);
