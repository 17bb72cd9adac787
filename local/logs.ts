/**
 * Where the local cloud's logs go: the terminal, each line prefixed with its
 * source (a function's name, or a service), and with `--logs DIR` one file per
 * source as well. `--quiet` keeps the terminal for the cloud's own messages.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LogSink } from './contracts';

export interface LogOptions {
  /** One file per source in this directory. */
  readonly dir?: string;
  /** Print nothing to the terminal. */
  readonly quiet?: boolean;
  /** Where terminal lines go; stdout by default. */
  readonly write?: (text: string) => void;
  /** Colour the prefixes (on a TTY). */
  readonly color?: boolean;
}

const COLORS = [36, 35, 33, 32, 34, 91, 96, 95, 93, 92];

export class TerminalLogs implements LogSink {
  readonly #colorOf = new Map<string, number>();
  readonly #write: (text: string) => void;

  readonly #options: LogOptions;

  constructor(options: LogOptions = {}) {
    this.#options = options;
    this.#write = options.write ?? ((text) => process.stdout.write(text));
    if (options.dir) mkdirSync(options.dir, { recursive: true });
  }

  line(source: string, text: string): void {
    if (this.#options.dir) {
      appendFileSync(join(this.#options.dir, `${fileNameOf(source)}.log`), `${text}\n`);
    }
    if (this.#options.quiet) return;
    this.#write(`${this.#prefix(source)} ${text}\n`);
  }

  #prefix(source: string): string {
    const label = `[${shortName(source)}]`;
    if (!this.#options.color) return label;
    let color = this.#colorOf.get(source);
    if (color === undefined) {
      color = COLORS[this.#colorOf.size % COLORS.length] ?? 36;
      this.#colorOf.set(source, color);
    }
    return `\u001b[${color}m${label}\u001b[0m`;
  }
}

/** `EventJobs-AsyncJobsWorkerCD585522` reads better as `AsyncJobsWorker`. */
function shortName(source: string): string {
  const withoutStack = source.includes('-') ? source.slice(source.indexOf('-') + 1) : source;
  return withoutStack.replace(/[0-9A-F]{8}$/, '') || source;
}

function fileNameOf(source: string): string {
  return source.replace(/[^A-Za-z0-9._-]/g, '_');
}
