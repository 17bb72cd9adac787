/**
 * What the starter function keeps besides the runs it starts, in the jobs
 * table, each item in a partition of its own:
 *
 * - `STARTED#<trigger or schedule id>#<event id or scheduled time>`: the run
 *   an event (or a firing) started, kept for as long as the run's outcome may
 *   be. EventBridge and Scheduler deliver at least once; a redelivery finds
 *   this and starts nothing, even after the run ended and its name is free.
 * - `SCHEDULE#<id>`: the last run a schedule started, for its overlap policy.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Item, TableClient, unlessRefused } from './dynamodb';

/** The run a trigger's event or a schedule's firing started. */
export interface StartedRun {
  readonly owner: string;
  readonly jobName: string;
  readonly runId: string;
}

export const STARTED_PARTITION_PREFIX = 'STARTED#';
export const SCHEDULE_PARTITION_PREFIX = 'SCHEDULE#';
const SORT_KEY = 'STARTER';

export class StarterStore {
  readonly #table: TableClient;

  constructor(client: DynamoDBClient, tableName: string) {
    this.#table = new TableClient(client, tableName);
  }

  /** The run this event of this trigger (or firing of this schedule) already started. */
  async startedBy(starterId: string, eventKey: string): Promise<StartedRun | undefined> {
    const item = await this.#table.get(startedKey(starterId, eventKey));
    return item ? runOf(item) : undefined;
  }

  /**
   * Records the run an event started, until `expiresAt` (epoch seconds). A
   * record already there (a concurrent redelivery that started the same run)
   * is kept.
   */
  async recordStarted(
    starterId: string,
    eventKey: string,
    run: StartedRun,
    expiresAt: number,
  ): Promise<void> {
    await unlessRefused(
      () =>
        this.#table.put({
          Item: { ...startedKey(starterId, eventKey), ...runItem(run), expiresAt: num(expiresAt) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      undefined,
    );
  }

  /** The last run a schedule started, and the firing that started it. */
  async lastRun(scheduleId: string): Promise<(StartedRun & { scheduledTime: string }) | undefined> {
    const item = await this.#table.get(scheduleKey(scheduleId));
    const run = item ? runOf(item) : undefined;
    const scheduledTime = item?.scheduledTime?.S;
    return run && scheduledTime ? { ...run, scheduledTime } : undefined;
  }

  async recordLastRun(scheduleId: string, run: StartedRun, scheduledTime: string): Promise<void> {
    await this.#table.put({
      Item: { ...scheduleKey(scheduleId), ...runItem(run), scheduledTime: { S: scheduledTime } },
    });
  }
}

function startedKey(starterId: string, eventKey: string): Item {
  return { pk: { S: `${STARTED_PARTITION_PREFIX}${starterId}#${eventKey}` }, sk: { S: SORT_KEY } };
}

function scheduleKey(scheduleId: string): Item {
  return { pk: { S: `${SCHEDULE_PARTITION_PREFIX}${scheduleId}` }, sk: { S: SORT_KEY } };
}

function runItem(run: StartedRun): Item {
  return { owner: { S: run.owner }, jobName: { S: run.jobName }, runId: { S: run.runId } };
}

function runOf(item: Item): StartedRun | undefined {
  const owner = item.owner?.S;
  const jobName = item.jobName?.S;
  const runId = item.runId?.S;
  return owner && jobName && runId ? { owner, jobName, runId } : undefined;
}

function num(value: number): { N: string } {
  return { N: String(value) };
}
