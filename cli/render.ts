/**
 * Everything the CLI prints for people: a job's summary, the list table,
 * one line per lifecycle event and the live progress bar. Colour and the
 * bar only on a terminal (never with NO_COLOR or --no-color); otherwise
 * plain lines that read well in logs.
 */

import type { JobEvent } from '../client/events';
import type { JobSummary, JobView } from '../core/model';

/** Where output goes; `process.stdout` fits. */
export interface Writer {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface Style {
  /** ANSI colours and the redrawn progress bar. */
  readonly fancy: boolean;
}

/** Fancy output only on a terminal, without NO_COLOR (non-empty) and without --no-color. */
export function styleFor(stdout: Writer, env: NodeJS.ProcessEnv, colorFlag: boolean): Style {
  return { fancy: stdout.isTTY === true && !env.NO_COLOR && colorFlag };
}

const ANSI = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, dim: 2, bold: 1 };
export type Color = keyof typeof ANSI;

export function paint(style: Style, color: Color, text: string): string {
  return style.fancy ? `\x1b[${ANSI[color]}m${text}\x1b[0m` : text;
}

const STATUS_COLORS: Record<string, Color> = {
  RUNNING: 'cyan',
  SUCCEEDED: 'green',
  FAILED: 'red',
  CANCELLED: 'yellow',
  TIMED_OUT: 'magenta',
};

export function paintStatus(style: Style, status: string): string {
  return paint(style, STATUS_COLORS[status] ?? 'bold', status);
}

export function formatDuration(ms: number | undefined): string | undefined {
  if (ms === undefined) return undefined;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** `[██████░░░░] 60%` on a terminal, `60%` otherwise. */
export function progressBar(style: Style, percent: number, width = 24): string {
  const clamped = Math.max(0, Math.min(100, percent));
  const label = `${Math.round(clamped)}%`;
  if (!style.fancy) return label;
  const filled = Math.round((clamped / 100) * width);
  return `${paint(style, 'cyan', '█'.repeat(filled))}${paint(style, 'dim', '░'.repeat(width - filled))} ${label}`;
}

/** `GET /jobs/{name}` as aligned `label  value` lines. */
export function formatJob(style: Style, job: JobView): string {
  const rows: Array<[string, string | undefined]> = [
    ['name', job.jobName],
    ['run', job.runId],
    ['type', job.type],
    ['status', paintStatus(style, job.status)],
    ['attempt', job.attempt === undefined ? undefined : String(job.attempt)],
    [
      'progress',
      job.progress === undefined ? undefined : progressBar(style, job.progress.percent, 20),
    ],
    ['message', job.progress?.message],
    ['created', job.createdAt],
    ['started by', startedByText(job.startedBy)],
    ['started', job.startedAt],
    ['heartbeat', job.status === 'RUNNING' ? job.heartbeatAt : undefined],
    ['deadline', job.status === 'RUNNING' ? job.deadlineAt : undefined],
    ['cancel asked', job.cancelRequestedAt],
    [
      'finished',
      job.finishedAt === undefined
        ? undefined
        : `${job.finishedAt}${job.durationMs === undefined ? '' : ` (${formatDuration(job.durationMs)})`}`,
    ],
    [
      'error',
      job.error === undefined
        ? undefined
        : paint(style, 'red', `${job.error.name}: ${job.error.message}`),
    ],
  ];
  for (const attempt of job.attempts ?? []) {
    rows.push([
      `attempt ${attempt.attempt}`,
      `${attempt.error.name}: ${attempt.error.message} (${attempt.at})`,
    ]);
  }
  rows.push(['expires', job.expiresAt]);
  const shown = rows.filter((row): row is [string, string] => row[1] !== undefined);
  const width = Math.max(...shown.map(([label]) => label.length));
  return shown
    .map(([label, value]) => `${paint(style, 'dim', label.padEnd(width))}  ${value}`)
    .join('\n');
}

/** Which trigger (and event), schedule (and firing) or replay (of which run) started a job; undefined for an API start. */
function startedByText(startedBy: JobView['startedBy']): string | undefined {
  switch (startedBy?.kind) {
    case undefined:
      return undefined;
    case 'trigger':
      return `trigger ${startedBy.id} (event ${startedBy.eventId})`;
    case 'schedule':
      return `schedule ${startedBy.id} (${startedBy.scheduledTime})`;
    case 'replay':
      return `replay of ${startedBy.jobName} (run ${startedBy.runId})`;
  }
}

/** `GET /jobs` as a table: NAME STATUS TYPE PROGRESS CREATED FINISHED. */
export function formatJobTable(style: Style, jobs: readonly JobSummary[]): string {
  const header = ['NAME', 'STATUS', 'TYPE', 'PROGRESS', 'CREATED', 'FINISHED'];
  const rows = jobs.map((job) => [
    job.jobName,
    job.status,
    job.type,
    job.progress === undefined ? '' : `${Math.round(job.progress.percent)}%`,
    job.createdAt,
    job.finishedAt ?? '',
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  // Pad before painting: escape codes have no width on screen.
  const line = (cells: string[], paintCell: (cell: string, i: number) => string) =>
    cells
      .map((cell, i) => paintCell(i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0), i))
      .join('  ')
      .trimEnd();
  return [
    line(header, (cell) => paint(style, 'bold', cell)),
    ...rows.map((row) =>
      line(row, (cell, i) =>
        i === 1 ? paint(style, STATUS_COLORS[cell.trim()] ?? 'bold', cell) : cell,
      ),
    ),
  ].join('\n');
}

/** The clock time of an ISO timestamp, for event lines (`12:00:03`). */
function clock(iso: string | undefined): string {
  return iso?.slice(11, 19) ?? '--:--:--';
}

/** One line per lifecycle event: `12:00:03  Job Progress   40%  slept 12 of 30 s`. */
export function formatEvent(style: Style, event: JobEvent): string {
  const label = event['detail-type'].padEnd(13);
  const at = paint(style, 'dim', clock(event.time));
  const text = (() => {
    switch (event['detail-type']) {
      case 'Job Queued': {
        const d = event.detail;
        return `${paint(style, 'dim', label)}  waiting for a slot${d.position !== undefined ? `, position ${d.position}` : ''}`;
      }
      case 'Job Started': {
        const d = event.detail;
        return `${paint(style, 'blue', label)}  attempt ${d.attempt}${d.deadlineAt ? `, deadline ${d.deadlineAt}` : ''}`;
      }
      case 'Job Progress': {
        const d = event.detail;
        return `${paint(style, 'cyan', label)}  ${Math.round(d.percent)}%${d.message ? `  ${d.message}` : ''}`;
      }
      case 'Job Completed': {
        const d = event.detail;
        return `${paint(style, 'green', label)}  ${paintStatus(style, 'SUCCEEDED')} in ${formatDuration(d.durationMs)} (attempt ${d.attempt})`;
      }
      case 'Job Failed': {
        const d = event.detail;
        const attempts =
          d.attempts && d.attempts.length > 1 ? ` after ${d.attempts.length} attempts` : '';
        return `${paint(style, 'red', label)}  ${paintStatus(style, 'FAILED')}${attempts}: ${d.error.name}: ${d.error.message}`;
      }
      case 'Job Cancelled': {
        const d = event.detail;
        return `${paint(style, 'yellow', label)}  ${paintStatus(style, 'CANCELLED')}: ${d.reason}${d.reportedBy ? ` (reported by the ${d.reportedBy})` : ''}`;
      }
      case 'Job Timed Out': {
        const d = event.detail;
        return `${paint(style, 'magenta', label)}  ${paintStatus(style, 'TIMED_OUT')}: ${d.reason}${d.reportedBy ? ` (reported by the ${d.reportedBy})` : ''}`;
      }
    }
  })();
  return `${at}  ${text}`;
}

/** Pretty JSON for people, compact-free and stable. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value ?? null, null, 2);
}

/** How `watch` shows a stream of events. */
export interface WatchView {
  event(event: JobEvent): void;
  /** The stream is over (terminal event, error or Ctrl-C): leave the terminal tidy. */
  close(): void;
}

const CLEAR_LINE = '\r\x1b[2K';
const BAR_WIDTH = 24;

/**
 * For people: every event as a line; on a terminal, progress redraws one bar
 * in place (with `\r`) under the lines instead of adding a line per report.
 */
export function humanWatchView(stdout: Writer, style: Style): WatchView {
  let bar: string | undefined;
  const clearBar = () => {
    if (bar !== undefined) stdout.write(CLEAR_LINE);
  };
  const drawBar = () => {
    if (bar !== undefined) stdout.write(bar);
  };
  return {
    event(event) {
      if (!style.fancy) {
        stdout.write(`${formatEvent(style, event)}\n`);
        if (event['detail-type'] === 'Job Completed') printResult(stdout, event.detail.result);
        return;
      }
      clearBar();
      if (event['detail-type'] === 'Job Progress') {
        const { percent, message } = event.detail;
        // A line wider than the terminal wraps, and \r can then only redraw its last row.
        const room = (stdout.columns || 80) - BAR_WIDTH - 8;
        const shown =
          message && message.length > room
            ? room > 8
              ? `${message.slice(0, room - 1)}…`
              : undefined
            : message;
        bar = `${progressBar(style, percent, BAR_WIDTH)}${shown ? `  ${shown}` : ''}`;
        drawBar();
        return;
      }
      stdout.write(`${formatEvent(style, event)}\n`);
      if (event['detail-type'] === 'Job Started') {
        bar = progressBar(style, 0, BAR_WIDTH);
        drawBar();
      } else if (event['detail-type'] === 'Job Completed') {
        bar = undefined;
        printResult(stdout, event.detail.result);
      } else {
        bar = undefined;
      }
    },
    close() {
      clearBar();
      bar = undefined;
    },
  };
}

function printResult(stdout: Writer, result: unknown): void {
  stdout.write(`${formatJson(result)}\n`);
}

/** For machines: each event, as EventBridge delivered it, on its own line (NDJSON). */
export function jsonWatchView(stdout: Writer): WatchView {
  return {
    event(event) {
      stdout.write(`${JSON.stringify(event)}\n`);
    },
    close() {},
  };
}
