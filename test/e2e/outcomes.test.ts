/**
 * Outcomes to an app's own target (issue 16): the reference app routes every
 * recorded outcome (`Job Finished`) to its outcome queue with `onOutcome`.
 * The queue is shared by the whole suite, so the test reads until it finds
 * its own runs and deletes what it reads.
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { callApi, uniqueName } from './client';

const target = inject('e2e');
const sqs = new SQSClient({
  region: target.region,
  credentials: target.tableReader,
  ...(target.awsEndpoint ? { endpoint: target.awsEndpoint } : {}),
});

afterAll(() => sqs.destroy());

interface FinishedEvent {
  source: string;
  'detail-type': string;
  detail: {
    owner: string;
    jobName: string;
    runId: string;
    type: string;
    status: string;
    result?: unknown;
    error?: { name: string; message: string };
    finishedAt: string;
  };
}

/** Reads the queue until every run id in `runIds` has a message; returns them by run id. */
async function receiveFor(
  runIds: readonly string[],
  timeoutMs: number,
): Promise<Map<string, FinishedEvent[]>> {
  const found = new Map<string, FinishedEvent[]>();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !runIds.every((id) => found.has(id))) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: target.outcomeQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    for (const message of Messages) {
      const event = JSON.parse(message.Body ?? '{}') as FinishedEvent;
      if (runIds.includes(event.detail?.runId)) {
        found.set(event.detail.runId, [...(found.get(event.detail.runId) ?? []), event]);
      }
    }
    await deleteAll(Messages);
  }
  return found;
}

async function deleteAll(messages: readonly Message[]): Promise<void> {
  if (messages.length === 0) return;
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: target.outcomeQueueUrl,
      Entries: messages.map((message, i) => ({
        Id: String(i),
        ReceiptHandle: message.ReceiptHandle ?? '',
      })),
    }),
  );
}

async function start(type: string, input: unknown): Promise<{ name: string; runId: string }> {
  const name = uniqueName(`outcome-${type}`);
  const response = await callApi(target, target.alice, 'POST', '/jobs', { type, name, input });
  expect(response.status, response.text).toBe(202);
  return { name, runId: (response.body as { runId: string }).runId };
}

describe('outcomes to an app target (onOutcome)', () => {
  it("each run's recorded outcome reaches the app's SQS queue as one Job Finished event", async () => {
    const ok = await start('echo', { value: { hello: 'queue' } });
    const failed = await start('fail', { message: 'on purpose' });

    const found = await receiveFor([ok.runId, failed.runId], 60_000);

    const [succeeded] = found.get(ok.runId) ?? [];
    expect(succeeded?.source).toBe('eventjobs');
    expect(succeeded?.['detail-type']).toBe('Job Finished');
    expect(succeeded?.detail).toMatchObject({
      owner: target.alice.owner,
      jobName: ok.name,
      type: 'echo',
      status: 'SUCCEEDED',
      result: { value: { hello: 'queue' } },
    });
    const [failure] = found.get(failed.runId) ?? [];
    expect(failure?.detail).toMatchObject({
      jobName: failed.name,
      type: 'fail',
      status: 'FAILED',
      error: { message: 'on purpose' },
    });
    // The outcome GET shows is the one the event carried.
    const view = await callApi(target, target.alice, 'GET', `/jobs/${ok.name}`);
    expect((view.body as { finishedAt: string }).finishedAt).toBe(succeeded?.detail.finishedAt);
  }, 90_000);
});
