/**
 * The dlq command's list and redrive, against a local cloud started in this
 * process from a tiny fixture stack (test/fixtures/assembly/dlq): a bus whose
 * rule targets a function, the rule's DLQ and the function's DLQ.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busOfRule,
  deadLetterQueues,
  eventEntry,
  findQueue,
  formatLetter,
  listQueue,
  redriveQueue,
} from '../../../devserver/dlq';
import { resolveTarget, type Target } from '../../../devserver/dlq-cli';
import { writeStateFile } from '../../../devserver/state-file';
import { type RunningLocalCloud, startLocalCloud } from '../../../local/cloud';
import { eventually, RecordingLog } from '../../fixtures/lambda/harness';

const ASSEMBLY = resolve(import.meta.dirname, '../../fixtures/assembly/dlq');

let cloud: RunningLocalCloud;
let log: RecordingLog;
let target: Target;
let dir: string;

beforeAll(async () => {
  log = new RecordingLog();
  cloud = await startLocalCloud({
    assemblyDir: ASSEMBLY,
    apiPort: 0,
    awsPort: 0,
    log,
    timeScale: 0.001,
    ttlSweepIntervalMs: 0,
  });
  dir = mkdtempSync(join(tmpdir(), 'eventjobs-dlq-'));
  const stateFile = join(dir, 'local.json');
  writeStateFile(stateFile, cloud);
  target = resolveTarget({ stateFile });
});

afterAll(async () => {
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const queueArn = (output: string) => {
  const url = cloud.outputs[output] ?? '';
  const name = url.split('/').pop() ?? '';
  return `arn:aws:sqs:${cloud.region}:${cloud.accountId}:${name}`;
};

const ruleArn = () => `arn:aws:events:${cloud.region}:${cloud.accountId}:rule/dlq-bus/the-rule`;

function received(): string[] {
  return log.lines
    .filter((line) => line.text.includes('received '))
    .map((line) => line.text.slice(line.text.indexOf('received ') + 9));
}

const event = (id: string) => ({
  version: '0',
  id,
  'detail-type': 'Job Completed',
  source: 'dlq-test',
  account: '000000000000',
  time: '2026-11-28T00:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:lambda:us-east-1:000000000000:function:w'],
  detail: { jobName: id },
});

async function seedRuleDlq(body: string): Promise<string> {
  const s = (StringValue: string) => ({ DataType: 'String', StringValue });
  return cloud.services.sqs.send(queueArn('RuleDeadLetterQueueUrl'), body, {
    RULE_ARN: s(ruleArn()),
    TARGET_ARN: s('arn:aws:lambda:us-east-1:000000000000:function:x'),
    ERROR_CODE: s('INTERNAL_ERROR'),
    ERROR_MESSAGE: s('boom'),
  });
}

describe('the dlq command against a local cloud', () => {
  it('finds the DLQs and their functions from the stack outputs', () => {
    // Act
    const queues = deadLetterQueues(target.outputs);

    // Assess
    expect(queues.map((q) => [q.name, q.functionName])).toEqual([
      ['Completion', cloud.outputs.CompletionFunctionName],
      ['Rule', undefined],
    ]);
    expect(findQueue(queues, 'completion')?.name).toBe('Completion');
    expect(findQueue(queues, 'RuleDeadLetterQueueUrl')?.name).toBe('Rule');
    expect(findQueue(queues, cloud.outputs.RuleDeadLetterQueueUrl ?? '')?.name).toBe('Rule');
    expect(findQueue(queues, 'nope')).toBeUndefined();
  });

  it('lists messages with their attributes and leaves them in the queue', async () => {
    // Prepare
    const id = await seedRuleDlq(JSON.stringify(event('listed')));
    const queue = findQueue(deadLetterQueues(target.outputs), 'rule');
    if (!queue) throw new Error('no rule queue');

    // Act
    const letters = await listQueue(target.clients.sqs, queue);
    const again = await listQueue(target.clients.sqs, queue);

    // Assess
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      messageId: id,
      attributes: { ERROR_CODE: 'INTERNAL_ERROR', ERROR_MESSAGE: 'boom', RULE_ARN: ruleArn() },
    });
    expect(letters.map((letter) => formatLetter(letter)).join()).toContain(
      'ERROR_CODE=INTERNAL_ERROR',
    );
    expect(again.map((letter) => letter.messageId)).toEqual([id]);

    // Clean up for the next test.
    await redriveQueue(target.clients, queue);
    await eventually(() => expect(received().some((r) => r.includes('listed'))).toBe(true));
  });

  it('redrives a rule DLQ message onto its bus, and deletes it', async () => {
    // Prepare
    await seedRuleDlq(JSON.stringify(event('from-rule-dlq')));
    const queue = findQueue(deadLetterQueues(target.outputs), 'rule');
    if (!queue) throw new Error('no rule queue');

    // Act
    const result = await redriveQueue(target.clients, queue);

    // Assess
    expect(result.redriven).toHaveLength(1);
    expect(result.failed).toEqual([]);
    await eventually(() => {
      const got = received().find((r) => r.includes('from-rule-dlq'));
      expect(got).toBeDefined();
      expect(JSON.parse(got ?? '{}')).toMatchObject({
        source: 'dlq-test',
        'detail-type': 'Job Completed',
        detail: { jobName: 'from-rule-dlq' },
        resources: ['arn:aws:lambda:us-east-1:000000000000:function:w'],
      });
    });
    expect(cloud.services.sqs.peek(queueArn('RuleDeadLetterQueueUrl'))).toHaveLength(0);
  });

  it('redrives a function DLQ message by invoking the function again, and deletes it', async () => {
    // Prepare
    const body = JSON.stringify(event('from-function-dlq'));
    await cloud.services.sqs.send(queueArn('CompletionDeadLetterQueueUrl'), body, {
      RequestID: { DataType: 'String', StringValue: 'req-1' },
      ErrorCode: { DataType: 'Number', StringValue: '200' },
      ErrorMessage: { DataType: 'String', StringValue: 'crashed' },
    });
    const queue = findQueue(deadLetterQueues(target.outputs), 'completion');
    if (!queue) throw new Error('no completion queue');

    // Act
    const result = await redriveQueue(target.clients, queue);

    // Assess
    expect(result).toMatchObject({ failed: [] });
    expect(result.redriven).toHaveLength(1);
    await eventually(() =>
      expect(received().filter((r) => r.includes('from-function-dlq'))).toEqual([body]),
    );
    expect(cloud.services.sqs.peek(queueArn('CompletionDeadLetterQueueUrl'))).toHaveLength(0);
  });

  it('keeps a message it cannot redrive, and says why', async () => {
    // Prepare
    const id = await seedRuleDlq('not an event');
    const queue = findQueue(deadLetterQueues(target.outputs), 'rule');
    if (!queue) throw new Error('no rule queue');

    // Act
    const result = await redriveQueue(target.clients, queue);

    // Assess
    expect(result.redriven).toEqual([]);
    expect(result.failed).toEqual([{ messageId: id, reason: expect.stringMatching(/JSON/) }]);
    const left = await listQueue(target.clients.sqs, queue);
    expect(left.map((letter) => letter.messageId)).toEqual([id]);
  });
});

describe('resolveTarget', () => {
  it('says there is no running local cloud when the state file is missing', () => {
    expect(() => resolveTarget({ stateFile: join(tmpdir(), 'no-such-dir', 'local.json') })).toThrow(
      /No running local cloud: .* does not exist/,
    );
  });
});

describe('redrive helpers', () => {
  it('reads the bus of a rule ARN', () => {
    expect(busOfRule('arn:aws:events:us-east-1:1:rule/my-bus/my-rule')).toBe('my-bus');
    expect(busOfRule('arn:aws:events:us-east-1:1:rule/my-rule')).toBe('default');
    expect(busOfRule('arn:aws:sqs:us-east-1:1:q')).toBeUndefined();
  });

  it('builds the PutEvents entry from the event', () => {
    expect(eventEntry(JSON.stringify(event('x')), 'bus')).toEqual({
      Source: 'dlq-test',
      DetailType: 'Job Completed',
      Detail: '{"jobName":"x"}',
      Resources: ['arn:aws:lambda:us-east-1:000000000000:function:w'],
      EventBusName: 'bus',
    });
    expect(() => eventEntry('{"a":1}', 'bus')).toThrow(/not an EventBridge event/);
  });
});
