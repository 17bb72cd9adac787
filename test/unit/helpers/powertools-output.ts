/**
 * What Powertools Logger and Metrics write during a test. Both write through a
 * `Console` of their own on `process.stdout`/`process.stderr`, not through the
 * global `console` (which a `console` spy would catch), so this spies on the
 * streams' `write`: the lines are kept, and nothing reaches the terminal.
 * Vitest restores the spies after each test (`restoreMocks`).
 */
import { vi } from 'vitest';

/** One Powertools log line: `level`, `message` and the keys. */
export type LogRecord = Record<string, unknown> & {
  readonly level: string;
  readonly message: string;
};

/** One EMF document, as CloudWatch reads it. */
export interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: ReadonlyArray<{
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: ReadonlyArray<{ readonly Name: string; readonly Unit: string }>;
    }>;
  };
  readonly [key: string]: unknown;
}

export interface PowertoolsOutput {
  /** Every JSON line written so far, in order. */
  lines(): Record<string, unknown>[];
  /** The log lines. */
  logs(): LogRecord[];
  /** The EMF documents (metrics). */
  emf(): EmfDocument[];
}

/** Starts capturing stdout and stderr for the rest of the test. */
export function capturePowertoolsOutput(): PowertoolsOutput {
  const written: string[] = [];
  const keep = (chunk: unknown): boolean => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(keep);
  vi.spyOn(process.stderr, 'write').mockImplementation(keep);

  const lines = (): Record<string, unknown>[] =>
    written
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    lines,
    logs: () => lines().filter((line): line is LogRecord => typeof line.level === 'string'),
    emf: () => lines().filter((line): line is EmfDocument => '_aws' in line),
  };
}
