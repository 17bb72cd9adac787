/**
 * `npm run demo`, the real command, without a terminal: it starts its own
 * local cloud (so it does not use the suite's), runs every job to the outcome
 * it is meant to have, prints plain lines and exits 0. It runs in the
 * repository, where a developer's `npm start` keeps `.eventjobs/local.json`,
 * to show that the demo leaves that file alone. How long it took is printed,
 * not asserted (STYLE.md 8).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const STATE_FILE = resolve(ROOT, '.eventjobs/local.json');

/** Every job of the demo and how it must end. */
const EXPECTED: ReadonlyArray<readonly [name: string, type: string, outcome: string]> = [
  ['sleep-2s', 'sleep', 'SUCCEEDED'],
  ['sleep-3s', 'sleep', 'SUCCEEDED'],
  ['sleep-4s', 'sleep', 'SUCCEEDED'],
  ['hash-256mib', 'hash', 'SUCCEEDED'],
  ['fail-on-purpose', 'fail', 'FAILED'],
  ['cancel-me', 'sleep', 'CANCELLED'],
];

/** A cdk synth (when cdk.out is stale) can take a few minutes on a busy machine. */
const RUN_TIMEOUT_MS = 300_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
}

function runDemo(): Promise<Run> {
  const startedAt = performance.now();
  // Its own process group, so a hung run can be stopped whole (npm, tsx and node).
  const child = spawn('npm', ['run', 'demo'], {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, RUN_TIMEOUT_MS - 5_000);
  return new Promise((resolveRun, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr, wallMs: performance.now() - startedAt });
    });
  });
}

function stateFileSnapshot(): { readonly text: string; readonly mtimeMs: number } | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  return { text: readFileSync(STATE_FILE, 'utf8'), mtimeMs: statSync(STATE_FILE).mtimeMs };
}

describe('npm run demo', () => {
  it(
    'runs every job to its expected outcome, prints plain lines and exits 0',
    async () => {
      // Prepare
      const stateBefore = stateFileSnapshot();

      // Act
      const run = await runDemo();

      // Assess
      const finished = /Demo finished in ([\d.]+ s)[^\n]*/.exec(run.stdout)?.[0];
      process.stdout.write(
        `npm run demo: ${finished ?? 'no "Demo finished" line'}; wall clock ${(run.wallMs / 1000).toFixed(1)} s\n`,
      );
      expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
      for (const [name, type, outcome] of EXPECTED) {
        // The summary row: NAME TYPE OUTCOME DURATION WEBHOOK DETAIL.
        expect(run.stdout).toMatch(
          new RegExp(`^${name}\\s+${type}\\s+${outcome}\\s+[\\d.]+ s\\s+verified\\b`, 'm'),
        );
      }
      expect(run.stdout).toMatch(/^fail-on-purpose\s+.*Job Failed\s+FAILED: Error: /m);
      expect(run.stdout).toMatch(/^cancel-me\s+DELETE \/jobs\/cancel-me → 202/m);
      expect(run.stdout).toMatch(/^cancel-me\s+.*Job Cancelled\s+CANCELLED/m);
      expect(run.stdout.match(/webhook verified/g)).toHaveLength(EXPECTED.length);
      expect(run.stdout).toContain('Every job ended as expected.');
      expect(run.stdout).toMatch(/Job Progress\s+\d+%/);
      // No terminal: no colours, no redrawing.
      expect(run.stdout).not.toContain('\x1b[');
      expect(run.stdout).not.toContain('\r');
      expect(finished).toBeDefined();
      expect(stateFileSnapshot()).toEqual(stateBefore);
    },
    RUN_TIMEOUT_MS,
  );
});
