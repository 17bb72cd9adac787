/**
 * The schedules on disk (`<dataDir>/scheduler.json`), so that a local cloud
 * killed and started again on the same data still fires them: the whole file
 * is written on every change, to a temporary file renamed over the old one,
 * so a kill mid-write leaves the previous version whole.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogSink } from '../contracts';
import type { ScheduleDefinition } from './input';

/** A schedule as the local Scheduler keeps it. */
export interface StoredSchedule extends ScheduleDefinition {
  /** Epoch milliseconds. */
  readonly creationDate: number;
  readonly lastModificationDate: number;
  /**
   * When a one-time schedule invoked its target. AWS keeps such a schedule
   * (ActionAfterCompletion NONE) and never invokes it again; this says so
   * across restarts.
   */
  readonly completedAt?: number;
}

interface SchedulerFile {
  readonly version: 1;
  readonly schedules: readonly StoredSchedule[];
}

export class ScheduleStore {
  readonly #path: string | undefined;
  readonly #log: LogSink;

  /** `path` undefined: memory only. */
  constructor(path: string | undefined, log: LogSink) {
    this.#path = path;
    this.#log = log;
  }

  load(): StoredSchedule[] {
    const path = this.#path;
    if (!path || !existsSync(path)) return [];
    try {
      const file = JSON.parse(readFileSync(path, 'utf8')) as Partial<SchedulerFile>;
      if (file.version !== 1 || !Array.isArray(file.schedules)) throw new Error('unknown format');
      return [...file.schedules];
    } catch (error) {
      // Kept aside rather than overwritten by the next save: it may be worth a look.
      const aside = `${path}.unreadable-${Date.now()}`;
      renameSync(path, aside);
      this.#log.line(
        'scheduler',
        `could not read ${path} (${String(error)}); moved it to ${aside} and started with no schedules`,
      );
      return [];
    }
  }

  save(schedules: Iterable<StoredSchedule>): void {
    const path = this.#path;
    if (!path) return;
    const file: SchedulerFile = { version: 1, schedules: [...schedules] };
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`);
    renameSync(temporary, path);
  }
}
