import { beforeEach, describe, expect, it } from 'vitest';
import { createJobMetrics, withMetrics } from '../../../../functions/shared/metrics';
import { capturePowertoolsOutput, type PowertoolsOutput } from '../../helpers/powertools-output';

let output: PowertoolsOutput;

beforeEach(() => {
  output = capturePowertoolsOutput();
});

describe('createJobMetrics', () => {
  it('writes nothing, and warns of nothing, when an invocation recorded nothing', () => {
    // Prepare
    const metrics = createJobMetrics();

    // Act
    metrics.publish();

    // Assess
    expect(output.lines()).toEqual([]);
  });

  it('keeps the type as the only dimension (no Powertools `service`)', () => {
    // Prepare
    const metrics = createJobMetrics();
    metrics.started('echo');

    // Act
    metrics.publish();

    // Assess
    const [emf] = output.emf();
    expect(emf?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['type']]);
    expect(emf).not.toHaveProperty('service');
  });

  it('writes one line per type when two types are recorded before a publish', () => {
    // Prepare
    const metrics = createJobMetrics();

    // Act
    metrics.started('echo');
    metrics.started('sleep');
    metrics.publish();

    // Assess
    expect(output.emf()).toEqual([
      expect.objectContaining({ type: 'echo', JobsStarted: 1 }),
      expect.objectContaining({ type: 'sleep', JobsStarted: 1 }),
    ]);
  });

  it('records no queue wait it cannot compute', () => {
    // Prepare
    const metrics = createJobMetrics();

    // Act
    metrics.queueWait('echo', Number.NaN);
    metrics.publish();

    // Assess
    expect(output.emf()).toEqual([]);
  });
});

describe('withMetrics', () => {
  it('publishes what an invocation recorded even when it throws', async () => {
    // Prepare
    const metrics = createJobMetrics();
    const handler = withMetrics(metrics, async () => {
      metrics.finished('echo', 'FAILED', 12);
      throw new Error('after the outcome was recorded');
    });

    // Act
    const running = handler();

    // Assess
    await expect(running).rejects.toThrow('after the outcome was recorded');
    expect(output.emf()).toEqual([
      expect.objectContaining({ type: 'echo', JobsFailed: 1, RunDuration: 12 }),
    ]);
  });
});
