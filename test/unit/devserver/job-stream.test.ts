/**
 * The job event stream's hub and request matching (`devserver/job-stream.ts`).
 * The stream itself, over HTTP against the local cloud, is in
 * test/e2e/stream.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { EVENT_SOURCE, JobEventType } from '../../../core/events';
import { JobEventHub, streamJobName } from '../../../devserver/job-stream';
import type { EventEnvelope } from '../../../local/extensions';

function event(runId: string, type: string, source = EVENT_SOURCE, owner?: string): EventEnvelope {
  return {
    version: '0',
    id: `${runId}-${type}`,
    'detail-type': type,
    source,
    account: '000000000000',
    time: new Date(0).toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: { runId, ...(owner === undefined ? {} : { owner }) },
  };
}

describe('JobEventHub, by owner (GET /events)', () => {
  it("gives an owner's listeners only that owner's events, with rising positions", () => {
    // prepare
    const hub = new JobEventHub();
    const alice: string[] = [];
    const seqs: number[] = [];
    hub.subscribeOwner('alice', (e, seq) => {
      alice.push(e.id);
      seqs.push(seq);
    });

    // act
    hub.accept(event('r1', JobEventType.Started, EVENT_SOURCE, 'alice'));
    hub.accept(event('r2', JobEventType.Started, EVENT_SOURCE, 'bob'));
    hub.accept(event('r1', JobEventType.Completed, EVENT_SOURCE, 'alice'));
    hub.accept(event('r1', JobEventType.Failed, EVENT_SOURCE, 'alice'));

    // assess: a late terminal event of a run that ended is not shown here either
    expect(alice).toEqual([`r1-${JobEventType.Started}`, `r1-${JobEventType.Completed}`]);
    expect(seqs).toEqual([1, 3]);
    expect(hub.ownerHistory('alice', 1).map((e) => e.seq)).toEqual([3]);
    expect(hub.ownerHistory('bob', 0).map((e) => e.event.id)).toEqual([
      `r2-${JobEventType.Started}`,
    ]);
  });

  it("keeps only an owner's latest events for resuming", () => {
    const hub = new JobEventHub({ maxEventsPerOwner: 2 });
    for (const run of ['a', 'b', 'c'])
      hub.accept(event(run, JobEventType.Started, EVENT_SOURCE, 'o'));
    expect(hub.ownerHistory('o', 0).map((e) => e.seq)).toEqual([2, 3]);
  });
});

describe('JobEventHub', () => {
  it("keeps a run's lifecycle events in order, up to the first terminal one", () => {
    // prepare
    const hub = new JobEventHub();
    const live: number[] = [];
    hub.subscribe('r1', (_event, seq) => live.push(seq));

    // act
    hub.accept(event('r1', JobEventType.Started));
    hub.accept(event('r1', JobEventType.Progress));
    hub.accept(event('r1', JobEventType.Completed));
    hub.accept(event('r1', JobEventType.Failed));

    // assess
    const history = hub.history('r1');
    expect(history.events.map((e) => e['detail-type'])).toEqual([
      JobEventType.Started,
      JobEventType.Progress,
      JobEventType.Completed,
    ]);
    expect(history.terminal).toBe(true);
    expect(live).toEqual([1, 2, 3]);
  });

  it('ignores events of other sources and types, and events without a run id', () => {
    // prepare
    const hub = new JobEventHub();

    // act
    hub.accept(event('r1', JobEventType.Started, 'aws.lambda'));
    hub.accept(event('r1', 'Something Else'));
    hub.accept({ ...event('r1', JobEventType.Started), detail: {} });

    // assess
    expect(hub.size).toBe(0);
  });

  it('drops progress past the per-run limit but never the terminal event', () => {
    // prepare
    const hub = new JobEventHub({ maxEventsPerRun: 2 });

    // act
    for (let i = 0; i < 5; i++) hub.accept(event('r1', JobEventType.Progress));
    hub.accept(event('r1', JobEventType.TimedOut));

    // assess
    expect(hub.history('r1').events.map((e) => e['detail-type'])).toEqual([
      JobEventType.Progress,
      JobEventType.Progress,
      JobEventType.TimedOut,
    ]);
  });

  it('forgets the oldest finished run first when it holds too many', () => {
    // prepare
    const hub = new JobEventHub({ maxRuns: 2 });
    hub.accept(event('running', JobEventType.Started));
    hub.accept(event('finished', JobEventType.Completed));

    // act
    hub.accept(event('new', JobEventType.Started));

    // assess
    expect(hub.size).toBe(2);
    expect(hub.history('finished').events).toEqual([]);
    expect(hub.history('running').events).toHaveLength(1);
  });
});

describe('streamJobName', () => {
  it('recognises GET /jobs/{name}/events only', () => {
    expect(streamJobName('GET', '/jobs/hello/events')).toBe('hello');
    expect(streamJobName('POST', '/jobs/hello/events')).toBeUndefined();
    expect(streamJobName('GET', '/jobs/hello')).toBeUndefined();
    expect(streamJobName('GET', '/jobs/a/b/events')).toBeUndefined();
  });
});
