/**
 * The starter: starts a job for each event a trigger's rule delivers and each
 * firing of a schedule, both invoked asynchronously (EventBridge and
 * EventBridge Scheduler). A throw is retried by Lambda and then sent to the
 * start dead-letter queue; an event that can never start a job is rejected
 * (`Job Rejected`) without one (see `service.ts`).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';
import { Defaults, EnvVar, intEnv, requireEnv } from '../../core/config';
import { JOB_REJECTED_EVENT_TYPE } from '../../core/events';
import { jobEventPutter } from '../shared/bus';
import { ownerModelFromEnv } from '../shared/identity';
import { slotStoreFromEnv } from '../shared/limits-env';
import { withLogContext } from '../shared/log';
import { createJobMetrics, withMetrics } from '../shared/metrics';
import { StarterStore } from '../shared/starter-store';
import { JobStore } from '../shared/store';
import { type StarterDeps, type StarterResult, startFromPayload } from './service';

const metrics = createJobMetrics();
const dynamodb = new DynamoDBClient({});
const tableName = requireEnv(EnvVar.TableName);
const putEvent = jobEventPutter(new EventBridgeClient({}), requireEnv(EnvVar.EventBusName));

const deps: StarterDeps = {
  store: new JobStore(dynamodb, tableName, slotStoreFromEnv(dynamodb, tableName)),
  starters: new StarterStore(dynamodb, tableName),
  putEvent,
  putRejected: (detail) => putEvent(JOB_REJECTED_EVENT_TYPE, detail),
  lambda: new LambdaClient({
    requestHandler: { requestTimeout: 5000, throwOnRequestTimeout: true },
  }),
  workerFunctionName: requireEnv(EnvVar.WorkerFunctionName),
  maxInputBytes: intEnv(EnvVar.MaxInputBytes, Defaults.maxInputBytes),
  maxEventBytes: intEnv(EnvVar.MaxEventBytes, Defaults.maxEventBytes),
  retentionSeconds: intEnv(EnvVar.OutcomeRetentionSeconds, Defaults.outcomeRetentionSeconds),
  ownerModel: ownerModelFromEnv(),
  allowHttpLocalhost: process.env[EnvVar.LocalCloud] === 'true',
  now: () => new Date(),
  metrics,
};

export const handler = withLogContext(
  'start-from-event',
  withMetrics(
    metrics,
    async (payload: unknown, _context?: Context): Promise<StarterResult> =>
      startFromPayload(payload, deps),
  ),
);
