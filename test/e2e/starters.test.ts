/**
 * Triggers and schedules (issue 16) on a local cloud of this file's own: the
 * reference app with its example schedule (a 4-second `sleep` every minute,
 * overlap skip), schedules at 1/20 of real time (a minute every 3 s), and
 * every delivery to the starter duplicated (chaos `duplicate:StartFromEvent`),
 * as EventBridge and Scheduler may deliver at least once. Local only: the
 * duplicates and the scaled clock are the local cloud's.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobPartitionKey } from '../../core/table';
import { type RunningLocalCloud, startLocalCloud } from '../../local/cloud';
import { E2E_CONTEXT, ensureAssembly } from './assembly';
import { type CliWorkspace, cliWorkspace } from './cli-run';
import { callApi, eventually, uniqueName } from './client';
import type { E2eTarget } from './target';

const ROOT = resolve(import.meta.dirname, '../..');
const ALICE = 'arn:aws:iam::000000000000:user/alice';
const CONTEXT = {
  ...E2E_CONTEXT,
  exampleScheduleOwner: ALICE,
  exampleScheduleExpression: 'rate(1 minute)',
  exampleScheduleSeconds: '4',
};
const ASSEMBLY = resolve(
  ROOT,
  `.vitest/cdk.out.starters-${createHash('sha256').update(JSON.stringify(CONTEXT)).digest('hex').slice(0, 12)}`,
);
/** Schedules run 20 times as fast: `rate(1 minute)` fires every 3 s. */
const SCHEDULE_SCALE = 0.05;

let cloud: RunningLocalCloud;
let target: E2eTarget;
let eventBridge: EventBridgeClient;
let lambda: LambdaClient;
let sqs: SQSClient;
let dynamodb: DynamoDBClient;
const logs = mkdtempSync(join(tmpdir(), 'eventjobs-starters-'));

beforeAll(async () => {
  await ensureAssembly(ASSEMBLY, CONTEXT);
  cloud = await startLocalCloud({
    assemblyDir: ASSEMBLY,
    apiPort: 0,
    awsPort: 0,
    quiet: true,
    logsDir: logs,
    timeScale: 0.01,
    scheduleScale: SCHEDULE_SCALE,
    chaos: { rules: [{ kind: 'duplicate', target: 'StartFromEvent', probability: 1 }] },
  });
  const [alice, bob] = cloud.users;
  if (!alice || !bob) throw new Error('The local cloud has fewer than two identities');
  expect(alice.arn).toBe(ALICE);
  target = {
    kind: 'local',
    apiUrl: cloud.apiUrl,
    region: cloud.region,
    tableName: cloud.outputs.TableName ?? '',
    awsEndpoint: cloud.awsEndpoint,
    tableReader: alice,
    alice: { ...alice, owner: alice.arn },
    bob: { ...bob, owner: bob.arn },
    workerTimeoutSeconds: 6,
    outcomeQueueUrl: cloud.outputs.OutcomeQueueUrl ?? '',
  };
  const client = { region: cloud.region, endpoint: cloud.awsEndpoint, credentials: alice };
  eventBridge = new EventBridgeClient(client);
  lambda = new LambdaClient(client);
  sqs = new SQSClient(client);
  dynamodb = new DynamoDBClient(client);
}, 300_000);

afterAll(async () => {
  for (const c of [eventBridge, lambda, sqs, dynamodb]) c?.destroy();
  await cloud?.stop();
  if (!process.env.KEEP_LOGS)
    rmSync(logs, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}, 60_000);

interface JobBody {
  jobName: string;
  runId: string;
  status: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  result?: unknown;
  startedBy?: { kind: string; id: string; eventId?: string; scheduledTime?: string };
}

/** Puts one `Job Requested` on the default bus, as any publisher would; returns its event id. */
async function requestJob(detail: Record<string, unknown>): Promise<string> {
  const answer = await eventBridge.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: 'eventjobs.example',
          DetailType: 'Job Requested',
          Detail: JSON.stringify(detail),
        },
      ],
    }),
  );
  expect(answer.FailedEntryCount).toBe(0);
  const id = answer.Entries?.[0]?.EventId;
  if (!id) throw new Error('PutEvents returned no event id');
  return id;
}

async function getAs(who: 'alice' | 'bob', name: string) {
  return callApi(target, target[who], 'GET', `/jobs/${name}`);
}

async function finished(name: string, timeoutMs = 30_000): Promise<JobBody> {
  return eventually(
    `${name} to finish`,
    async () => {
      const answer = await getAs('alice', name);
      const job = answer.body as JobBody;
      return answer.status === 200 && ['SUCCEEDED', 'FAILED'].includes(job.status)
        ? job
        : undefined;
    },
    timeoutMs,
  );
}

/** The runs a name has had: its retained outcomes in the table (each run leaves one). */
async function runsOf(owner: string, name: string): Promise<string[]> {
  const { Items = [] } = await dynamodb.send(
    new QueryCommand({
      TableName: target.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :run)',
      ExpressionAttributeValues: {
        ':pk': { S: jobPartitionKey(owner, name) },
        ':run': { S: 'RUN#' },
      },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => item.runId?.S ?? '');
}

/** Reads the start dead-letter queue until it has a message for each of `eventIds`. */
async function deadLettered(eventIds: ReadonlySet<string>): Promise<Rejected[]> {
  const found: Rejected[] = [];
  const seen = () => new Set(found.map((body) => body.detail.startedBy.eventId));
  const match = (body: Rejected) => eventIds.has(body.detail?.startedBy?.eventId ?? '');
  const deadline = Date.now() + 30_000;
  while (seen().size < eventIds.size && Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: cloud.outputs.StartDeadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    const mine: Message[] = [];
    for (const message of Messages) {
      const body = JSON.parse(message.Body ?? '{}') as Rejected;
      if (match(body)) {
        found.push(body);
        mine.push(message);
      }
    }
    if (mine.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: cloud.outputs.StartDeadLetterQueueUrl,
          Entries: mine.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  }
  return found;
}

interface Rejected {
  source: string;
  'detail-type': string;
  detail: {
    startedBy: { kind: string; id: string; eventId?: string };
    reason: { code: string; message: string };
    event?: { id: string; detail: Record<string, unknown> };
    deadLettered: boolean;
  };
}

describe('a trigger on the default bus (Job Requested)', () => {
  it('starts the job the event asks for, owned by the owner the event names, once for a duplicated delivery', async () => {
    const requestId = uniqueName('requested');
    const putAt = Date.now();
    const eventId = await requestJob({
      type: 'echo',
      requestId,
      input: { value: 'from an event' },
      owner: target.alice.owner,
    });
    const job = await finished(requestId);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.result).toEqual({ value: 'from an event' });
    expect(job.startedBy).toEqual({
      kind: 'trigger',
      id: 'job-requested',
      eventId,
      source: 'eventjobs.example',
      detailType: 'Job Requested',
    });
    const latencyMs = Date.parse(job.startedAt ?? '') - putAt;
    console.log(`trigger latency, PutEvents to Job Started: ${latencyMs} ms`);

    // Chaos delivered the event to the starter twice (and queued each invoke twice): one run.
    expect(await runsOf(target.alice.owner, requestId)).toEqual([job.runId]);

    // The owner checks of the API hold for a job an event started.
    expect((await getAs('bob', requestId)).status).toBe(404);
    const bobsList = await callApi(target, target.bob, 'GET', '/jobs?limit=100');
    expect(JSON.stringify(bobsList.body)).not.toContain(requestId);
    const alicesList = await callApi(target, target.alice, 'GET', '/jobs?limit=100');
    const row = (alicesList.body as { jobs: JobBody[] }).jobs.find((j) => j.jobName === requestId);
    expect(row?.startedBy).toMatchObject({ kind: 'trigger', id: 'job-requested', eventId });
  });

  it('recognises the same event delivered again after its run ended, and starts nothing', async () => {
    const requestId = uniqueName('redelivered');
    const eventId = await requestJob({
      type: 'echo',
      requestId,
      input: { value: 1 },
      owner: target.alice.owner,
    });
    const job = await finished(requestId);

    // EventBridge may deliver an event again later: the rule's target payload, as the template builds it.
    const template = JSON.parse(
      readFileSync(join(ASSEMBLY, `${cloud.stackName}.template.json`), 'utf8'),
    ) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const rule = Object.entries(template.Resources).find(([id]) =>
      id.startsWith('JobRequestedRule'),
    );
    const targets = (rule?.[1].Properties.Targets ?? []) as Array<{
      InputTransformer: { InputTemplate: string };
    }>;
    const targetSpec = targets[0];
    const encoded = /"eventjobsStarter":"([^"]+)"/.exec(
      targetSpec?.InputTransformer.InputTemplate ?? '',
    )?.[1];
    expect(encoded).toBeTruthy();
    const payload = {
      eventjobsStarter: encoded,
      event: {
        version: '0',
        id: eventId,
        source: 'eventjobs.example',
        'detail-type': 'Job Requested',
        account: '000000000000',
        time: new Date().toISOString(),
        region: cloud.region,
        resources: [],
        detail: { type: 'echo', requestId, input: { value: 1 }, owner: target.alice.owner },
      },
    };
    const answer = await lambda.send(
      new InvokeCommand({
        FunctionName: cloud.outputs.StarterFunctionName,
        Payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
    const result = JSON.parse(Buffer.from(answer.Payload ?? []).toString('utf8')) as {
      outcome: string;
      run?: { runId: string };
    };
    expect(result).toMatchObject({ outcome: 'duplicate', run: { runId: job.runId } });
    expect(await runsOf(target.alice.owner, requestId)).toEqual([job.runId]);
    expect((await getAs('alice', requestId)).status).toBe(200);
  });

  it('sends a bad event to the dead-letter queue with its reason, as Job Rejected, without retrying it', async () => {
    const unknownType = await requestJob({
      type: 'no-such-type',
      requestId: uniqueName('bad-type'),
      input: {},
      owner: target.alice.owner,
    });
    const badInput = await requestJob({
      type: 'sleep',
      requestId: uniqueName('bad-input'),
      input: { seconds: 'soon' },
      owner: target.alice.owner,
    });
    const badOwner = await requestJob({
      type: 'echo',
      requestId: uniqueName('bad-owner'),
      input: { value: 1 },
      owner: 'somebody',
    });
    const ids = new Set([unknownType, badInput, badOwner]);
    // Each event was delivered twice (chaos): each is rejected, at least once.
    const rejected = await deadLettered(ids);
    const codes = new Map(rejected.map((r) => [r.detail.startedBy.eventId, r]));
    expect([...codes.keys()].sort()).toEqual([...ids].sort());
    for (const body of rejected) {
      expect(body.source).toBe('eventjobs');
      expect(body['detail-type']).toBe('Job Rejected');
      expect(body.detail.deadLettered).toBe(true);
      // The event itself travels with its reason, so it can be fixed and sent again.
      expect(body.detail.event?.id).toBe(body.detail.startedBy.eventId);
    }
    expect(codes.get(unknownType)?.detail.reason.code).toBe('UnknownJobType');
    expect(codes.get(badInput)?.detail.reason.code).toBe('InvalidInput');
    expect(codes.get(badOwner)?.detail.reason.code).toBe('InvalidOwner');
  });
});

describe('eventjobs emit (the CLI, as the README shows it)', () => {
  let cli: CliWorkspace;
  beforeAll(() => {
    cli = cliWorkspace(target);
  });
  afterAll(() => cli?.cleanup());

  it('puts a Job Requested the trigger starts, owned by the local identity; status shows it', async () => {
    const requestId = uniqueName('emitted');
    const emitted = await cli.run([
      'emit',
      'echo',
      '--request-id',
      requestId,
      '--input',
      '{"value":"from the CLI"}',
      '--json',
    ]);
    expect(emitted.stderr).toBe('');
    expect(emitted.code).toBe(0);
    const answer = JSON.parse(emitted.stdout) as {
      requestId: string;
      eventId: string;
      owner: string;
    };
    expect(answer).toMatchObject({ requestId, owner: target.alice.owner });
    const job = await finished(requestId);
    expect(job.result).toEqual({ value: 'from the CLI' });
    expect(job.startedBy).toMatchObject({ kind: 'trigger', eventId: answer.eventId });

    const status = await cli.run(['status', requestId]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`trigger job-requested (event ${answer.eventId})`);
  });

  it('refuses bad input with a usage error, and an AWS target without --owner', async () => {
    const badJson = await cli.run(['emit', 'echo', '--input', '{not json']);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/--input/);
    const noType = await cli.run(['emit']);
    expect(noType.code).toBe(2);
    const noOwner = await cli.run([
      'emit',
      'echo',
      '--url',
      'https://abc123.execute-api.us-east-1.amazonaws.com/',
    ]);
    expect(noOwner.code).toBe(2);
    expect(noOwner.stderr).toMatch(/--owner/);
  });
});

describe('the example schedule (rate(1 minute), overlap skip, 20 times as fast)', () => {
  it('fires in scaled time, skips while its run runs, and starts one run per firing', async () => {
    const runs = await eventually(
      'three runs of the schedule',
      async () => {
        const answer = await callApi(target, target.alice, 'GET', '/jobs?limit=100');
        const scheduled = (answer.body as { jobs: JobBody[] }).jobs
          .filter((j) => j.startedBy?.kind === 'schedule' && j.status === 'SUCCEEDED')
          .sort((a, b) => a.jobName.localeCompare(b.jobName));
        return scheduled.length >= 3 ? scheduled : undefined;
      },
      90_000,
      500,
    );
    const details = await Promise.all(
      runs.map(async (r) => (await getAs('alice', r.jobName)).body as JobBody),
    );
    const times = details.map((d) => Date.parse(d.startedBy?.scheduledTime ?? ''));
    for (const [index, job] of details.entries()) {
      expect(job.startedBy).toMatchObject({ kind: 'schedule', id: 'example' });
      // The name template's default: {id}-{scheduledTime}, the time compacted.
      const compact = new Date(times[index] ?? 0)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace(/[-:]/g, '');
      expect(job.jobName).toBe(`example-${compact}`);
      // One run per firing, though chaos delivered each firing twice.
      expect(await runsOf(target.alice.owner, job.jobName)).toEqual([job.runId]);
    }
    // A rate() counts whole minutes of the scaled clock from the schedule's creation...
    const gaps = times.slice(1).map((t, i) => (t - (times[i] ?? 0)) / 60_000);
    for (const gap of gaps) expect(Number.isInteger(gap)).toBe(true);
    // ...and a 4-second run outlasts a 3-second minute: the firing in between was skipped.
    expect(gaps.every((gap) => gap >= 2)).toBe(true);
    // No two runs of the schedule overlapped.
    for (let i = 1; i < details.length; i += 1) {
      expect(Date.parse(details[i]?.startedAt ?? '')).toBeGreaterThanOrEqual(
        Date.parse(details[i - 1]?.finishedAt ?? ''),
      );
    }
    // Real time between firings: about 3 s per scaled minute.
    const created = details.map((d) => Date.parse(d.createdAt));
    const realPerMinute =
      ((created.at(-1) ?? 0) - (created[0] ?? 0)) /
      (((times.at(-1) ?? 0) - (times[0] ?? 0)) / 60_000);
    console.log(
      `schedule: ${details.length} runs, gaps ${gaps.join(', ')} scaled minutes, ${Math.round(realPerMinute)} ms real per scaled minute`,
    );
    expect(realPerMinute).toBeGreaterThan(1_000);
    expect(realPerMinute).toBeLessThan(10_000);
  }, 120_000);
});
