/**
 * `npm start` (`eventjobs dev` on the reference app) as a person uses it: the real CLI process, its banner, the
 * ready-to-paste curl command, Ctrl-C, and `--data` keeping state across a
 * restart.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { E2E_ASSEMBLY } from './assembly';
import { callApi } from './client';

const ROOT = resolve(import.meta.dirname, '../..');
// The assembly the e2e setup synthesized (test/e2e/assembly.ts).
const ASSEMBLY = E2E_ASSEMBLY;
const target = inject('e2e');

interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  readonly banner: string;
  output: () => string;
}

function startCli(args: string[]): Promise<Started> {
  const child = spawn(
    process.execPath,
    ['bin/eventjobs.mjs', 'dev', '--assembly', ASSEMBLY, '--no-synth', ...args],
    { cwd: ROOT, env: { ...process.env, FORCE_COLOR: '0' } },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`The CLI did not start:\n${output}`)), 30_000);
    const check = () => {
      if (output.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolveStart({ child, banner: output, output: () => output });
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`The CLI exited with ${code}:\n${output}`));
    });
  });
}

function stopCli(started: Started): Promise<number | null> {
  return new Promise((resolveStop) => {
    started.child.removeAllListeners('exit');
    started.child.once('exit', (code) => resolveStop(code));
    started.child.kill('SIGINT');
  });
}

describe.runIf(target.kind === 'local')('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'eventjobs-data-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints the URL, credentials, a working curl command and its startup time, stops on Ctrl-C, and keeps --data across restarts', async () => {
    // Start, and read the banner.
    const first = await startCli(['--port', '0', '--aws-port', '0', '--quiet', '--data', dataDir]);
    const apiUrl = /API base URL\s+(http:\/\/\S+)/.exec(first.banner)?.[1];
    expect(apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.banner).toMatch(/local cloud is up in \d+\.\d\d s/);
    expect(first.banner).toMatch(/AWS_ACCESS_KEY_ID=AKIA\w+ AWS_SECRET_ACCESS_KEY=\S+/);
    expect(first.banner).toContain(`DynamoDB: embedded (dynalite), kept on disk in ${dataDir}`);

    // The ready-to-paste curl command works as printed.
    const curl = /(curl --aws-sigv4 (?:[^\n]*\\\n)*[^\n]*)/.exec(first.banner)?.[1];
    expect(curl).toBeDefined();
    // As printed: the export lines first, then the command that uses them.
    const exports = first.banner.match(/^ {4}export .*$/gm) ?? [];
    expect(exports.length).toBeGreaterThanOrEqual(3);
    const script = `${exports.map((line) => line.trim()).join('\n')}\n${curl} -s -w '\\n%{http_code}'`;
    const pasted = spawnSync('bash', ['-c', script], {
      encoding: 'utf8',
    });
    const [body, status] = pasted.stdout.trim().split('\n');
    expect(status).toBe('202');
    expect(JSON.parse(body ?? '{}')).toMatchObject({ jobName: 'hello', status: 'RUNNING' });

    // Ctrl-C stops it cleanly.
    expect(await stopCli(first)).toBe(0);
    expect(first.output()).toContain('Stopped.');

    // A restart on the same data directory still has the job.
    const second = await startCli(['--port', '0', '--aws-port', '0', '--quiet', '--data', dataDir]);
    try {
      const secondUrl = /API base URL\s+(http:\/\/\S+)/.exec(second.banner)?.[1] ?? '';
      const alice = target.alice;
      const job = await callApi({ ...target, apiUrl: secondUrl }, alice, 'GET', '/jobs/hello');
      expect(job.status).toBe(200);
      expect(job.body).toMatchObject({ jobName: 'hello', type: 'sleep', input: { seconds: 5 } });
    } finally {
      expect(await stopCli(second)).toBe(0);
    }
  }, 90_000);

  it('rejects bad options with a message and a non-zero exit', () => {
    const run = spawnSync(
      process.execPath,
      ['bin/eventjobs.mjs', 'dev', '--port', 'eighty', '--no-synth'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--port must be a port number');
    expect(run.stderr).toContain('Usage: eventjobs dev');
  });
});
