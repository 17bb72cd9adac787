/**
 * Chaos in the local cloud: the setting's parser, the seeded draws, and each
 * kind of fault injected where it says (Lambda crash, hang and duplicate
 * async invokes; EventBridge duplicate deliveries and PutEvents failures) and
 * counted.
 */
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Chaos,
  ChaosSettingError,
  formatChaosReport,
  parseChaos,
  seededRandom,
} from '../../../local/chaos';
import { startLocalCloud } from '../../../local/cloud';
import type { InvocationType, InvokeResult, LambdaInvoker } from '../../../local/contracts';
import { LocalEventBridge } from '../../../local/eventbridge/bus';
import { LocalLambda } from '../../../local/lambda';
import {
  eventually,
  FakeBus,
  FakeQueues,
  fixtureSpec,
  RecordingLog,
  TEST_ENV,
} from '../../fixtures/lambda/harness';

let lambda: LocalLambda | undefined;
let bridge: LocalEventBridge | undefined;

afterEach(async () => {
  await lambda?.close();
  bridge?.close();
  lambda = undefined;
  bridge = undefined;
});

function chaos(setting: string, seed = 1): Chaos {
  return new Chaos({ rules: parseChaos(setting), seed });
}

describe('parseChaos', () => {
  it('reads kinds with targets and the project shorthands', () => {
    // Act
    const rules = parseChaos(
      'worker-crash=0.05, worker-hang=0.02,duplicate-delivery=0.05,completion-crash=0.05,put-events-failure=0.02,duplicate:Completion=1',
    );

    // Assess
    expect(rules).toEqual([
      { kind: 'crash', target: 'Worker', probability: 0.05 },
      { kind: 'hang', target: 'Worker', probability: 0.02 },
      { kind: 'duplicate', target: undefined, probability: 0.05 },
      { kind: 'crash', target: 'Completion', probability: 0.05 },
      { kind: 'put-events-failure', target: undefined, probability: 0.02 },
      { kind: 'duplicate', target: 'Completion', probability: 1 },
    ]);
  });

  it.each([
    ['', /empty/],
    ['crash:Worker', /KIND\[:TARGET\]=PROBABILITY/],
    ['crash:Worker=1.5', /from 0 to 1, got "1.5"/],
    ['crash:Worker=abc', /from 0 to 1/],
    ['crash:Worker=', /from 0 to 1/],
    ['explode:Worker=0.1', /unknown kind "explode"/],
    ['crash=0.1', /crash needs a target function/],
    ['hang=0.1', /hang needs a target/],
    ['put-events-failure:Bus=0.1', /takes no target/],
    ['crash:Wor ker=0.1', /target must be part of/],
    ['crash:Worker=0.1,worker-crash=0.2', /given twice/],
  ])('refuses %j', (setting, message) => {
    expect(() => parseChaos(setting)).toThrow(ChaosSettingError);
    expect(() => parseChaos(setting)).toThrow(message);
  });
});

describe('Chaos draws', () => {
  it('never injects at probability 0 and always at 1', () => {
    // Prepare
    const subject = { name: 'EventJobs-Worker' };
    const never = chaos('crash:Worker=0');
    const always = chaos('crash:Worker=1');

    // Act
    const drawsNever = Array.from({ length: 200 }, () => never.inject('crash', subject));
    const drawsAlways = Array.from({ length: 200 }, () => always.inject('crash', subject));

    // Assess
    expect(drawsNever.every((hit) => !hit)).toBe(true);
    expect(drawsAlways.every((hit) => hit)).toBe(true);
    expect(never.report().total).toBe(0);
    expect(always.report()).toMatchObject({
      total: 200,
      byKind: { crash: 200, hang: 0, duplicate: 0, 'put-events-failure': 0 },
      bySubject: { 'crash:EventJobs-Worker': 200 },
    });
  });

  it('replays the same faults from the same seed', () => {
    // Prepare
    const subject = { name: 'Worker' };
    const run = (seed: number) => {
      const c = chaos('crash:Worker=0.3', seed);
      return Array.from({ length: 100 }, () => c.inject('crash', subject));
    };

    // Act
    const first = run(42);
    const again = run(42);
    const other = run(43);

    // Assess
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    const hits = first.filter(Boolean).length;
    expect(hits).toBeGreaterThan(10);
    expect(hits).toBeLessThan(50);
  });

  it('matches targets by logical id or name, a targeted rule before a catch-all', () => {
    // Prepare
    const c = chaos('duplicate=0,duplicate:Completion=1');

    // Act / Assess
    expect(c.inject('duplicate', { name: 'fn-1', logicalId: 'AsyncJobsCompletionA4F8' })).toBe(
      true,
    );
    expect(c.inject('duplicate', { name: 'EventJobs-AsyncJobsWorker' })).toBe(false);
    expect(c.inject('crash', { name: 'Completion' })).toBe(false);
  });

  it('gives numbers in [0, 1) from seededRandom', () => {
    const random = seededRandom(7);
    const values = Array.from({ length: 1000 }, random);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(990);
  });

  it('formats its report with the setting and seed', () => {
    // Prepare
    const c = chaos('crash:Worker=1', 9);
    c.inject('crash', { name: 'Worker' });

    // Act
    const text = formatChaosReport(c.report());

    // Assess
    expect(text).toContain('Chaos (crash:Worker=1, seed 9): 1 fault(s) injected');
    expect(text).toContain('crash:Worker  1');
  });
});

describe('chaos in the local Lambda', () => {
  function start(setting: string) {
    const log = new RecordingLog();
    const queues = new FakeQueues();
    const injected = chaos(setting);
    lambda = new LocalLambda({
      env: TEST_ENV,
      functions: [
        fixtureSpec('echo', { asyncConfig: { maximumRetryAttempts: 0 } }),
        fixtureSpec('sleeps', {
          name: 'hangs',
          timeoutSeconds: 1,
          asyncConfig: { maximumRetryAttempts: 0 },
        }),
      ],
      log,
      chaos: injected,
    });
    lambda.setDestinations({ events: new FakeBus(), queues });
    return { lambda, log, chaos: injected };
  }

  it('crash: the invocation ends with Runtime.ExitError', async () => {
    // Prepare
    const { lambda, chaos } = start('crash:echo=1');

    // Act
    const result = await lambda.invoke('echo', '{"a":1}', 'RequestResponse');

    // Assess
    expect(result.functionError).toBe('Unhandled');
    expect(JSON.parse(result.payload)).toMatchObject({ errorType: 'Runtime.ExitError' });
    expect(chaos.report().bySubject).toEqual({ 'crash:echo': 1 });
  });

  it('hang: the invocation runs into its timeout without an answer', async () => {
    // Prepare
    const { lambda, chaos, log } = start('hang:hangs=1');
    const startedAt = Date.now();

    // Act
    const result = await lambda.invoke('hangs', '{}', 'RequestResponse');

    // Assess
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(950);
    expect(JSON.parse(result.payload)).toMatchObject({ errorType: 'Sandbox.Timedout' });
    expect(log.textOf('hangs').some((line) => line.includes('Task timed out after 1.00'))).toBe(
      true,
    );
    expect(chaos.report().byKind.hang).toBe(1);
  });

  it('duplicate: an async invoke runs twice with the same request id', async () => {
    // Prepare
    const { lambda, chaos, log } = start('duplicate:echo=1');

    // Act
    await lambda.invoke('echo', '{"n":1}', 'Event');
    await lambda.whenIdle();

    // Assess
    expect(lambda.stats().invocations).toEqual({ echo: 2 });
    const starts = log.textOf('echo').filter((line) => line.startsWith('START RequestId:'));
    expect(starts).toHaveLength(2);
    expect(starts[0]).toBe(starts[1]);
    expect(chaos.report().bySubject).toEqual({ 'duplicate:echo': 1 });
  });

  it('leaves functions that no rule targets alone', async () => {
    // Prepare
    const { lambda, chaos } = start('crash:Worker=1,hang:Worker=1');

    // Act
    const result = await lambda.invoke('echo', '{"a":1}', 'RequestResponse');

    // Assess
    expect(result.functionError).toBeUndefined();
    expect(chaos.report().total).toBe(0);
  });
});

describe('chaos in the local EventBridge', () => {
  const BUS = { name: 'jobs', arn: 'arn:aws:events:us-east-1:123456789012:event-bus/jobs' };
  const TARGET = 'arn:aws:lambda:us-east-1:123456789012:function:Completion';

  class RecordingLambda implements LambdaInvoker {
    readonly calls: string[] = [];
    find() {
      return undefined;
    }
    async invoke(_ref: string, payload: string, _type: InvocationType): Promise<InvokeResult> {
      this.calls.push(payload);
      return { statusCode: 202, payload: '', executedVersion: '$LATEST' };
    }
  }

  function start(setting: string) {
    const invoked = new RecordingLambda();
    const injected = chaos(setting);
    bridge = new LocalEventBridge({
      env: TEST_ENV,
      buses: [BUS],
      rules: [
        {
          logicalId: 'Rule',
          name: 'rule',
          arn: 'arn:aws:events:us-east-1:123456789012:rule/jobs/rule',
          busName: 'jobs',
          enabled: true,
          eventPattern: { source: ['test'] },
          targets: [
            {
              id: 'completion',
              arn: TARGET,
              retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeSeconds: 60 },
            },
          ],
        },
      ],
      lambda: invoked,
      queues: new FakeQueues(),
      log: new RecordingLog(),
      chaos: injected,
    });
    return { bridge, invoked, chaos: injected };
  }

  const entry = { Source: 'test', DetailType: 'T', Detail: '{}', EventBusName: 'jobs' };

  it('duplicate: the target gets the same event twice', async () => {
    // Prepare
    const { bridge, invoked, chaos } = start('duplicate:Completion=1');

    // Act
    await bridge.putEvents([entry]);
    await eventually(() => expect(invoked.calls).toHaveLength(2));
    await bridge.whenIdle();

    // Assess
    const [first, second] = invoked.calls.map((call) => JSON.parse(call) as { id: string });
    expect(first?.id).toBe(second?.id);
    expect(chaos.report().bySubject).toEqual({ [`duplicate:${TARGET}`]: 1 });
    expect(bridge.metrics().delivered).toBe(2);
  });

  it('put-events-failure: a PutEvents API entry fails with InternalFailure and is not routed', async () => {
    // Prepare
    const { bridge, invoked, chaos } = start('put-events-failure=1');
    const service = bridge.service();

    // Act
    const response = await service.handle({
      method: 'POST',
      path: '/',
      query: new URLSearchParams(),
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: Buffer.from(JSON.stringify({ Entries: [entry, entry] })),
      operation: 'PutEvents',
    });
    await bridge.whenIdle();

    // Assess
    expect(response.status).toBe(200);
    expect(JSON.parse(String(response.body))).toEqual({
      FailedEntryCount: 2,
      Entries: [
        { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal Failure' },
        { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal Failure' },
      ],
    });
    expect(invoked.calls).toHaveLength(0);
    expect(chaos.report().byKind['put-events-failure']).toBe(2);
  });

  it('put-events-failure spares AWS-internal puts (Lambda destinations)', async () => {
    // Prepare
    const { bridge, invoked, chaos } = start('put-events-failure=1');

    // Act
    const result = await bridge.putEvents([entry]);
    await eventually(() => expect(invoked.calls).toHaveLength(1));

    // Assess
    expect(result.FailedEntryCount).toBe(0);
    expect(chaos.report().total).toBe(0);
  });
});

describe('chaos in the local cloud', () => {
  const assemblyDir = resolve(import.meta.dirname, '../../fixtures/assembly/dlq');

  it('refuses a target that names no function', async () => {
    // Act
    const starting = startLocalCloud({
      assemblyDir,
      apiPort: 0,
      awsPort: 0,
      log: new RecordingLog(),
      chaos: { rules: parseChaos('crash:Complet1on=0.5') },
    });

    // Assess
    await expect(starting).rejects.toThrow(
      /chaos crash:Complet1on matches no function; the stack has Completion/,
    );
  });

  it('reports what it injected, and notes the setting at start', async () => {
    // Prepare
    const cloud = await startLocalCloud({
      assemblyDir,
      apiPort: 0,
      awsPort: 0,
      log: new RecordingLog(),
      chaos: { rules: parseChaos('crash:Completion=1'), seed: 5 },
    });
    try {
      // Act
      const result = await cloud.services.lambda.invoke(
        cloud.outputs.CompletionFunctionName ?? '',
        '{}',
        'RequestResponse',
      );

      // Assess
      expect(JSON.parse(result.payload)).toMatchObject({ errorType: 'Runtime.ExitError' });
      expect(cloud.chaosReport()).toMatchObject({ seed: 5, total: 1, byKind: { crash: 1 } });
      expect(cloud.notes.join('\n')).toContain(
        'Chaos: injecting faults crash:Completion=1 (seed 5',
      );
    } finally {
      await cloud.stop();
    }
  });
});
