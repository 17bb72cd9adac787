/**
 * The handler of an API function that reads or changes the caller's own jobs
 * (get, list, cancel): the jobs table from the environment, the owner from the
 * request's IAM identity, and every outcome, thrown or returned, a JSON response.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EnvVar, requireEnv } from '../../core/config';
import type { JobEventType } from '../../core/events';
import { jobEventPutter } from './bus';
import {
  type ApiEvent,
  type ApiHandler,
  type ApiResult,
  apiHandler,
  jobNameParam,
  jsonResponse,
} from './http';
import { ownerOf } from './identity';
import { slotStoreFromEnv } from './limits-env';
import { appendJobKeys, withLogContext } from './log';
import { StepStore } from './step-store';
import { JobStore } from './store';

/** What the owner-scoped services need: the jobs table, a clock, and (to cancel) the bus. */
export interface OwnerApiDeps {
  readonly store: JobStore;
  /** The runs' step checkpoints (GET shows them). @default - steps are not shown */
  readonly steps?: StepStore;
  readonly now: () => Date;
  /** Puts a lifecycle event (cancel ends a queued run this way). @default - set when the function has a bus */
  readonly putEvent?: <T extends JobEventType>(detailType: T, detail: unknown) => Promise<void>;
}

/**
 * Builds the handler once, at module scope, so a missing table name fails the
 * cold start; `respond` answers one request of `owner`.
 */
export function ownerApiHandler(
  functionName: string,
  respond: (owner: string, event: ApiEvent, deps: OwnerApiDeps) => Promise<ApiResult>,
): ApiHandler {
  const dynamodb = new DynamoDBClient({});
  const tableName = requireEnv(EnvVar.TableName);
  const busName = process.env[EnvVar.EventBusName];
  const deps: OwnerApiDeps = {
    store: new JobStore(dynamodb, tableName, slotStoreFromEnv(dynamodb, tableName)),
    steps: new StepStore(dynamodb, tableName),
    now: () => new Date(),
    ...(busName ? { putEvent: jobEventPutter(new EventBridgeClient({}), busName) } : {}),
  };
  return withLogContext(
    functionName,
    apiHandler(async (event) => respond(ownerOf(event), event, deps)),
  );
}

/** An `ownerApiHandler` for a request about one job, the `{name}` in its path. */
export function jobApiHandler(
  functionName: string,
  statusCode: number,
  action: (owner: string, jobName: string, deps: OwnerApiDeps) => Promise<unknown>,
): ApiHandler {
  return ownerApiHandler(functionName, async (owner, event, deps) => {
    const jobName = jobNameParam(event);
    appendJobKeys({ owner, jobName });
    return jsonResponse(statusCode, await action(owner, jobName, deps));
  });
}
