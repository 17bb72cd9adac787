/**
 * What the demo shows while its jobs run: one row per job with a progress
 * bar, fed by each job's event stream. On a terminal the rows are redrawn in
 * place (with an elapsed-time clock that ticks between events) and notes
 * scroll above them; otherwise every event is a plain line, as
 * `eventjobs watch` prints it.
 */
import {
  formatDuration,
  formatEvent,
  paint,
  paintStatus,
  progressBar,
  type Style,
  type WatchView,
  type Writer,
} from '../cli/render';
import { type JobEvent, terminalStatusOf } from '../client/events';

export type Outcome = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

/** Where a row stands: not started by a worker yet, running, ended, or lost (the stream failed). */
export type Phase = 'QUEUED' | 'RUNNING' | Outcome | 'ERROR';

export interface Row {
  readonly name: string;
  readonly type: string;
  phase: Phase;
  percent: number;
  message?: string;
  /** When the row's Job Started arrived (local clock), for the ticking elapsed time. */
  startedAt?: number;
  /** The run's duration as the worker measured it, once it has ended. */
  durationMs?: number;
  /** The terminal event, once it has arrived. */
  terminal?: JobEvent;
}

const BAR_WIDTH = 16;
const TICK_MS = 200;
const CSI = '\x1b[';

export class Board {
  readonly rows: Row[] = [];
  /** Lines of the board now on screen (live mode). */
  #drawn = 0;
  #ticker: ReturnType<typeof setInterval> | undefined;
  readonly #stdout: Writer;
  readonly #style: Style;
  readonly #live: boolean;

  /**
   * @param live redraw the rows in place (stdout is a terminal); otherwise plain lines
   */
  constructor(stdout: Writer, style: Style, live: boolean) {
    this.#stdout = stdout;
    this.#style = style;
    this.#live = live;
  }

  add(name: string, type: string): void {
    this.rows.push({ name, type, phase: 'QUEUED', percent: 0 });
  }

  start(): void {
    if (!this.#live) return;
    this.#stdout.write(`${CSI}?25l`);
    this.#redraw();
    this.#ticker = setInterval(() => this.#redraw(), TICK_MS);
  }

  /** Draws the final state and gives the cursor back; safe to call twice. */
  stop(): void {
    if (!this.#live || this.#ticker === undefined) return;
    clearInterval(this.#ticker);
    this.#ticker = undefined;
    this.#redraw();
    this.#stdout.write(`${CSI}?25h`);
  }

  /** A line of narration: above the rows on a terminal, else just a line. */
  note(text: string): void {
    if (!this.#live) {
      this.#stdout.write(`${text}\n`);
      return;
    }
    this.#erase();
    this.#stdout.write(`${text}\n`);
    this.#redraw();
  }

  /** A line of narration about one job, under its name. */
  noteFor(name: string, text: string): void {
    this.note(`${this.#label(name)}  ${text}`);
  }

  /** The stream of this job failed; the row says why. */
  lost(name: string, message: string): void {
    const row = this.#row(name);
    row.phase = 'ERROR';
    row.message = message;
    this.noteFor(name, paint(this.#style, 'red', `event stream failed: ${message}`));
  }

  /** A `WatchView` (cli/render.ts) for one job's events. */
  viewFor(name: string): WatchView {
    return {
      event: (event) => this.#apply(this.#row(name), event),
      close: () => undefined,
    };
  }

  #apply(row: Row, event: JobEvent): void {
    switch (event['detail-type']) {
      case 'Job Started':
        row.phase = 'RUNNING';
        row.startedAt = Date.now();
        row.percent = 0;
        break;
      case 'Job Progress':
        row.percent = event.detail.percent;
        row.message = event.detail.message;
        break;
      case 'Job Completed':
        row.percent = 100;
        row.message = undefined;
        break;
      case 'Job Failed':
        row.message = `${event.detail.error.name}: ${event.detail.error.message}`;
        break;
      case 'Job Cancelled':
      case 'Job Timed Out':
        row.message = event.detail.reason;
        break;
    }
    const outcome = terminalStatusOf(event['detail-type']);
    if (outcome !== undefined) {
      row.phase = outcome;
      row.terminal = event;
      row.durationMs =
        'durationMs' in event.detail && event.detail.durationMs !== undefined
          ? event.detail.durationMs
          : undefined;
    }
    if (!this.#live) {
      this.#stdout.write(`${this.#label(row.name)}  ${formatEvent(this.#style, event)}\n`);
    } else if (outcome !== undefined) {
      this.noteFor(row.name, formatEvent(this.#style, event));
    } else {
      this.#redraw();
    }
  }

  #row(name: string): Row {
    const row = this.rows.find((candidate) => candidate.name === name);
    if (!row) throw new Error(`no row for job ${name}`);
    return row;
  }

  get #nameWidth(): number {
    return Math.max(...this.rows.map((row) => row.name.length));
  }

  #label(name: string): string {
    return paint(this.#style, 'bold', name.padEnd(this.#nameWidth));
  }

  #erase(): void {
    // Up to the board's first line, then clear to the end of the screen.
    if (this.#drawn > 0) this.#stdout.write(`${CSI}${this.#drawn}F${CSI}J`);
    this.#drawn = 0;
  }

  #redraw(): void {
    this.#erase();
    const lines = this.rows.map((row) => this.#format(row));
    this.#stdout.write(lines.map((line) => `${line}\n`).join(''));
    this.#drawn = lines.length;
  }

  /** One row, never wider than the terminal: a wrapped row would break the redraw. */
  #format(row: Row): string {
    const percentLabel = `${Math.round(Math.max(0, Math.min(100, row.percent)))}%`;
    const bar = `${progressBar(this.#style, row.percent, BAR_WIDTH)}${' '.repeat(4 - percentLabel.length)}`;
    const barWidth = (this.#style.fancy ? BAR_WIDTH + 1 : 0) + 4;
    const status = `${paintStatus(this.#style, row.phase)}${' '.repeat(Math.max(0, 9 - row.phase.length))}`;
    const elapsedMs =
      row.durationMs ?? (row.startedAt === undefined ? undefined : Date.now() - row.startedAt);
    const elapsed = (formatDuration(elapsedMs) ?? '').padStart(7);
    const used = this.#nameWidth + 2 + 6 + 2 + barWidth + 2 + 9 + 2 + 7 + 2;
    const room = (this.#stdout.columns || 80) - used - 1;
    const message = row.message ?? '';
    const shown =
      message.length <= room ? message : room > 8 ? `${message.slice(0, room - 1)}…` : '';
    return [
      this.#label(row.name),
      row.type.padEnd(6),
      bar,
      status,
      paint(this.#style, 'dim', elapsed),
      paint(this.#style, 'dim', shown),
    ]
      .join('  ')
      .trimEnd();
  }
}
