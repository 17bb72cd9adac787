/**
 * The worker Lambda, invoked asynchronously by start-job with a WorkerPayload.
 * Lambda's retries and OnFailure destination (the bus) cover the cases where
 * it throws; see `service.ts` for when that is.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { Context } from 'aws-lambda';
import { Defaults, EnvVar, intEnv, requireEnv } from '../../core/config';
import { getJobType } from '../shared/job-registry';
import { withLogContext } from '../shared/log';
import { createJobMetrics, withMetrics } from '../shared/metrics';
import { StepStore } from '../shared/step-store';
import { JobStore } from '../shared/store';
import { resumerOf } from './resume';
import {
  DEFAULT_DEADLINE_MARGIN_MS,
  maxResultBytesFor,
  runWorker,
  type WorkerDeps,
} from './service';

const metrics = createJobMetrics();

const dynamodb = new DynamoDBClient({});
const tableName = requireEnv(EnvVar.TableName);

const deps: WorkerDeps = {
  store: new JobStore(dynamodb, tableName),
  steps: new StepStore(dynamodb, tableName),
  resumer: resumerOf({
    lambda: new LambdaClient({}),
    scheduler: new SchedulerClient({}),
    timerRoleArn: requireEnv(EnvVar.TimerRoleArn),
    timerGroupName: requireEnv(EnvVar.TimerGroupName),
  }),
  retentionSeconds: intEnv(EnvVar.OutcomeRetentionSeconds, Defaults.outcomeRetentionSeconds),
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
