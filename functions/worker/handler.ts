/**
 * The worker Lambda, invoked asynchronously by start-job with a WorkerPayload.
 * Lambda's retries and OnFailure destination (the bus) cover the cases where
 * it throws; see `service.ts` for when that is.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { Defaults, EnvVar, intEnv, requireEnv } from '../../core/config';
import { getJobType } from '../shared/job-registry';
import { withLogContext } from '../shared/log';
import { createJobMetrics, withMetrics } from '../shared/metrics';
import { JobStore } from '../shared/store';
import {
  DEFAULT_DEADLINE_MARGIN_MS,
  maxResultBytesFor,
  runWorker,
  type WorkerDeps,
} from './service';

const metrics = createJobMetrics();

const deps: WorkerDeps = {
  store: new JobStore(new DynamoDBClient({}), requireEnv(EnvVar.TableName)),
  eventBridge: new EventBridgeClient({}),
  busName: requireEnv(EnvVar.EventBusName),
  maxEventBytes: intEnv(EnvVar.MaxEventBytes, Defaults.maxEventBytes),
  maxResultBytes: maxResultBytesFor(intEnv(EnvVar.MaxInputBytes, Defaults.maxInputBytes)),
  deadlineMarginMs: DEFAULT_DEADLINE_MARGIN_MS,
  now: () => new Date(),
  getJobType,
  maxTimeoutSeconds: intEnv(EnvVar.WorkerTimeoutSeconds, 15 * 60),
  metrics,
};

export const handler = withLogContext(
  'worker',
  withMetrics(metrics, async (event: unknown, context: Context): Promise<void> => {
    await runWorker(event, context, deps);
  }),
);
