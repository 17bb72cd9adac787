/**
 * The `eventjobs` command line, the real binary as a user runs it, against
 * the local cloud: start, status, list, cancel, result, and the exit codes
 * of its errors. Following a job live (watch, --wait) is in cli-watch.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BIN, cliWorkspace } from './cli-run';
import { callApi, eventually, uniqueName } from './client';

const target = inject('e2e');
const ROOT = resolve(import.meta.dirname, '../..');

async function statusOf(name: string): Promise<string | undefined> {
  const response = await callApi(target, target.alice, 'GET', `/jobs/${name}`);
  return (response.body as { status?: string } | undefined)?.status;
}

function until(name: string, status: string) {
  return eventually(`${name} to be ${status}`, async () =>
    (await statusOf(name)) === status ? status : undefined,
  );
}

describe.runIf(target.kind === 'local')('eventjobs (the CLI binary)', () => {
  const cli = cliWorkspace(target);
  afterAll(() => cli.cleanup());

  it('starts an echo job, shows its status, lists it and prints its result', async () => {
    // Prepare
    const name = uniqueName('cli-echo');

    // Act
    const started = await cli.run([
      'start',
      'echo',
      '--name',
      name,
      '--input',
      '{"value":{"a":[1,2]}}',
    ]);
    await until(name, 'SUCCEEDED');
    const status = await cli.run(['status', name, '--json']);
    const human = await cli.run(['status', name]);
    const listed = await cli.run(['list', '--json', '--all', '--status', 'succeeded']);
    const result = await cli.run(['result', name]);

    // Assess
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain(name);
    expect(started.stdout).toMatch(/runId\s+[0-9A-Z]{26}/);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      jobName: name,
      status: 'SUCCEEDED',
      type: 'echo',
    });
    expect(human.stdout).toMatch(/status\s+SUCCEEDED/);
    expect(human.stdout).not.toContain('\x1b[');
    expect(listed.code).toBe(0);
    const jobs = (JSON.parse(listed.stdout) as { jobs: Array<{ jobName: string }> }).jobs;
    expect(jobs.map((job) => job.jobName)).toContain(name);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ value: { a: [1, 2] } });
  });

  it('cancels a running sleep job; its result then exits 3', async () => {
    // Prepare
    const name = uniqueName('cli-cancel');
    const started = await cli.run(['start', 'sleep', '--name', name, '--input', '{"seconds": 30}']);
    expect(started.code, started.stderr).toBe(0);

    // Act
    const cancelled = await cli.run(['cancel', name]);
    await until(name, 'CANCELLED');
    const result = await cli.run(['result', name]);

    // Assess
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toContain(`cancel requested for ${name}`);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('CANCELLED');
  });

  it('a failed job: result exits 1 with its error', async () => {
    const name = uniqueName('cli-fail');
    const started = await cli.run([
      'start',
      'fail',
      '--name',
      name,
      '--input',
      '{"message":"boom"}',
    ]);
    expect(started.code, started.stderr).toBe(0);
    await until(name, 'FAILED');
    const result = await cli.run(['result', name]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('boom');
    expect(result.stdout).toBe('');
  });

  it('bad input exits 5 with the API message and details', async () => {
    const run = await cli.run(['start', 'sleep', '--input', '{"seconds": 100000}']);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain(
      'eventjobs: The input is not valid for job type "sleep" (400 InvalidInput)',
    );
    expect(run.stderr).toMatch(/seconds: Too big/);
  });

  it('bad input with --json: one JSON error document on stdout', async () => {
    const run = await cli.run(['--json', 'start', 'no-such-type']);
    expect(run.code).toBe(5);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { status: 400, exitCode: 5 } });
  });

  it('an unknown job exits 7', async () => {
    const run = await cli.run(['status', uniqueName('cli-missing')]);
    expect(run.code).toBe(7);
    expect(run.stderr).toContain('(404 NotFound)');
  });

  it('an unknown flag exits 2 with the usage', async () => {
    const run = await cli.run(['list', '--bogus']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("eventjobs: Unknown option '--bogus'");
    expect(run.stderr).toContain('Usage: eventjobs list');
  });

  it('a state file left by a dead local cloud exits 6 and says how to start it', async () => {
    // Prepare: the pid of a process that has exited.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const stale = cliWorkspace(target, Number(gone.stdout));

    // Act
    const run = await stale.run(['list']);
    stale.cleanup();

    // Assess
    expect(run.code).toBe(6);
    expect(run.stderr).toContain('the local cloud is not running; start it with `npm start`');
  });

  it('runs as `npx eventjobs` in the repository (package.json bin)', () => {
    const run = spawnSync('npx', ['--no-install', 'eventjobs', '--version'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(BIN).toMatch(/bin\/eventjobs\.mjs$/);
  });
});
