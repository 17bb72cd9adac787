import { describe, expect, it } from 'vitest';
import {
  formatEvent,
  formatJob,
  formatJobTable,
  humanWatchView,
  jsonWatchView,
  styleFor,
  type Writer,
} from '../../../cli/render';
import type { JobEvent } from '../../../client/events';
import type { JobView } from '../../../core/model';

const ESC = '\x1b[';

function capture(isTTY: boolean): Writer & { text: () => string } {
  let text = '';
  return {
    isTTY,
    columns: 80,
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
    text: () => text,
  };
}

const base = {
  version: '0',
  source: 'eventjobs',
  account: '000000000000',
  region: 'us-east-1',
  resources: [],
};
const who = {
  owner: 'arn:aws:iam::000000000000:user/alice',
  jobName: 'j1',
  runId: 'R1',
  type: 'sleep',
};
const EVENTS: JobEvent[] = [
  {
    ...base,
    id: 'e1',
    'detail-type': 'Job Started',
    time: '2026-01-01T10:00:00Z',
    detail: { ...who, attempt: 1, startedAt: '2026-01-01T10:00:00.000Z' },
  },
  {
    ...base,
    id: 'e2',
    'detail-type': 'Job Progress',
    time: '2026-01-01T10:00:01Z',
    detail: {
      ...who,
      attempt: 1,
      percent: 40,
      message: 'slept 2 of 5 s',
      at: '2026-01-01T10:00:01.000Z',
    },
  },
  {
    ...base,
    id: 'e3',
    'detail-type': 'Job Completed',
    time: '2026-01-01T10:00:05Z',
    detail: {
      ...who,
      attempt: 1,
      startedAt: '2026-01-01T10:00:00.000Z',
      finishedAt: '2026-01-01T10:00:05.000Z',
      durationMs: 5000,
      result: { sleptSeconds: 5 },
    },
  },
];

describe('styleFor', () => {
  it('is fancy only on a terminal without NO_COLOR and without --no-color', () => {
    expect(styleFor({ write: () => true, isTTY: true }, {}, true).fancy).toBe(true);
    expect(styleFor({ write: () => true, isTTY: false }, {}, true).fancy).toBe(false);
    expect(styleFor({ write: () => true }, {}, true).fancy).toBe(false);
    expect(styleFor({ write: () => true, isTTY: true }, { NO_COLOR: '1' }, true).fancy).toBe(false);
    expect(styleFor({ write: () => true, isTTY: true }, { NO_COLOR: '' }, true).fancy).toBe(true);
    expect(styleFor({ write: () => true, isTTY: true }, {}, false).fancy).toBe(false);
  });
});

describe('watch views', () => {
  it('prints plain lines, one per event, and the result, when not on a terminal', () => {
    // Prepare
    const out = capture(false);
    const view = humanWatchView(out, { fancy: false });

    // Act
    for (const event of EVENTS) view.event(event);
    view.close();

    // Assess
    expect(out.text()).not.toContain(ESC);
    expect(out.text()).not.toContain('\r');
    expect(out.text().split('\n')).toEqual([
      '10:00:00  Job Started    attempt 1',
      '10:00:01  Job Progress   40%  slept 2 of 5 s',
      '10:00:05  Job Completed  SUCCEEDED in 5.0 s (attempt 1)',
      '{',
      '  "sleptSeconds": 5',
      '}',
      '',
    ]);
  });

  it('redraws a coloured progress bar in place on a terminal', () => {
    // Prepare
    const out = capture(true);
    const view = humanWatchView(out, { fancy: true });

    // Act
    for (const event of EVENTS) view.event(event);
    view.close();

    // Assess
    const text = out.text();
    expect(text).toContain(ESC);
    expect(text).toContain('\r\x1b[2K');
    expect(text).toContain('40%');
    expect(text).toContain('slept 2 of 5 s');
    // Progress is a redrawn bar, not a line of its own.
    expect(text).not.toMatch(/Job Progress/);
    expect(text).toMatch(/Job Completed/);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('writes each event as one JSON line in --json mode', () => {
    const out = capture(true);
    const view = jsonWatchView(out);
    for (const event of EVENTS) view.event(event);
    const lines = out.text().trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual(EVENTS);
  });
});

describe('formatEvent', () => {
  it('says a queued job waits, and where', () => {
    const style = { fancy: false };
    const queued = (position?: number) =>
      formatEvent(style, {
        ...base,
        id: 'q',
        time: '2026-01-01T10:00:00Z',
        'detail-type': 'Job Queued',
        detail: {
          ...who,
          queuedAt: '2026-01-01T10:00:00.000Z',
          ...(position !== undefined ? { position } : {}),
        },
      });
    expect(queued(3)).toBe('10:00:00  Job Queued     waiting for a slot, position 3');
    expect(queued()).toBe('10:00:00  Job Queued     waiting for a slot');
  });

  it('describes failures, cancellations and timeouts', () => {
    const style = { fancy: false };
    const stopped = {
      ...who,
      finishedAt: '2026-01-01T10:00:05.000Z',
      reason: 'asked to',
      reportedBy: 'sweeper' as const,
    };
    expect(
      formatEvent(style, {
        ...base,
        id: 'f',
        time: '2026-01-01T10:00:05Z',
        'detail-type': 'Job Failed',
        detail: {
          ...who,
          attempt: 2,
          startedAt: '2026-01-01T10:00:00.000Z',
          finishedAt: '2026-01-01T10:00:05.000Z',
          durationMs: 5000,
          error: { name: 'Error', message: 'boom' },
          attempts: [
            {
              attempt: 1,
              error: { name: 'Error', message: 'boom' },
              at: '2026-01-01T10:00:01.000Z',
            },
            {
              attempt: 2,
              error: { name: 'Error', message: 'boom' },
              at: '2026-01-01T10:00:05.000Z',
            },
          ],
        },
      }),
    ).toBe('10:00:05  Job Failed     FAILED after 2 attempts: Error: boom');
    expect(
      formatEvent(style, {
        ...base,
        id: 'c',
        time: '2026-01-01T10:00:05Z',
        'detail-type': 'Job Cancelled',
        detail: stopped,
      }),
    ).toBe('10:00:05  Job Cancelled  CANCELLED: asked to (reported by the sweeper)');
    expect(
      formatEvent(style, {
        ...base,
        id: 't',
        time: '2026-01-01T10:00:05Z',
        'detail-type': 'Job Timed Out',
        detail: stopped,
      }),
    ).toBe('10:00:05  Job Timed Out  TIMED_OUT: asked to (reported by the sweeper)');
  });
});

describe('formatJob and formatJobTable', () => {
  const running: JobView = {
    jobName: 'j1',
    runId: 'R1',
    type: 'sleep',
    status: 'RUNNING',
    createdAt: '2026-01-01T10:00:00.000Z',
    attempt: 1,
    progress: { percent: 40, message: 'slept 2 of 5 s', at: '2026-01-01T10:00:01.000Z' },
    input: { seconds: 5 },
  };

  it('summarises a job as aligned lines, plain when not fancy', () => {
    const text = formatJob({ fancy: false }, running);
    expect(text).toContain('status    RUNNING');
    expect(text).toContain('progress  40%');
    expect(text).toContain('message   slept 2 of 5 s');
    expect(text).not.toContain(ESC);
  });

  it('shows the error of a failed job, and colours when fancy', () => {
    const failed: JobView = {
      ...running,
      status: 'FAILED',
      progress: undefined,
      finishedAt: '2026-01-01T10:00:05.000Z',
      durationMs: 5000,
      error: { name: 'Error', message: 'boom' },
    };
    expect(formatJob({ fancy: false }, failed)).toContain('error     Error: boom');
    expect(formatJob({ fancy: false }, failed)).toContain(
      'finished  2026-01-01T10:00:05.000Z (5.0 s)',
    );
    expect(formatJob({ fancy: true }, failed)).toContain(`${ESC}31mFAILED`);
  });

  it('says which trigger, schedule or replay started a job', () => {
    const startedBy = (value: JobView['startedBy']) =>
      formatJob({ fancy: false }, { ...running, startedBy: value });
    expect(startedBy({ kind: 'replay', jobName: 'first', runId: 'R0' })).toMatch(
      /started by +replay of first \(run R0\)/,
    );
    expect(startedBy({ kind: 'trigger', id: 'orders', eventId: 'E1' })).toMatch(
      /started by +trigger orders \(event E1\)/,
    );
    expect(
      startedBy({ kind: 'schedule', id: 'nightly', scheduledTime: '2026-01-01T06:00:00Z' }),
    ).toMatch(/started by +schedule nightly \(2026-01-01T06:00:00Z\)/);
    expect(formatJob({ fancy: false }, running)).not.toContain('started by');
  });

  it('lays out a table with aligned columns', () => {
    const table = formatJobTable({ fancy: false }, [
      { ...running },
      {
        jobName: 'a-longer-name',
        runId: 'R2',
        type: 'echo',
        status: 'SUCCEEDED',
        createdAt: '2026-01-01T09:00:00.000Z',
        finishedAt: '2026-01-01T09:00:01.000Z',
      },
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toBe(
      'NAME           STATUS     TYPE   PROGRESS  CREATED                   FINISHED',
    );
    expect(lines[1]).toMatch(/^j1 +RUNNING +sleep +40% +2026-01-01T10:00:00.000Z$/);
    expect(lines[2]).toMatch(
      /^a-longer-name +SUCCEEDED +echo +2026-01-01T09:00:00.000Z +2026-01-01T09:00:01.000Z$/,
    );
  });
});
