/**
 * `eventjobs dashboard` as a process: it serves the page for the local cloud
 * of the state file, prints its URL, and stops cleanly (exit 0) on SIGTERM;
 * a bad flag is a usage error.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cliWorkspace } from './cli-run';
import { callApi, eventually, uniqueName } from './client';

const target = inject('e2e');

describe.runIf(target.kind === 'local')('eventjobs dashboard', () => {
  const cli = cliWorkspace(target);
  afterAll(() => cli.cleanup());

  it("serves the state file's local cloud until SIGTERM, then exits 0", async () => {
    // Prepare
    const name = uniqueName('cli-dash');
    const started = await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'echo',
      name,
      input: { value: 1 },
    });
    expect(started.status, started.text).toBe(202);

    // Act
    const serving = cli.spawn(['dashboard', '--json']);
    const printed = await eventually('the dashboard URL', async () => {
      const line = serving.stdout().split('\n')[0] ?? '';
      return line.includes('"url"')
        ? (JSON.parse(line) as { url: string; port: number })
        : undefined;
    });
    const token = new URL(printed.url).searchParams.get('token') ?? '';
    const page = await fetch(printed.url);
    const listed = await fetch(`http://127.0.0.1:${printed.port}/api/jobs?limit=100`, {
      headers: { 'x-dashboard-token': token },
    });
    const refused = await fetch(`http://127.0.0.1:${printed.port}/api/jobs`);
    serving.kill('SIGTERM');
    const run = await serving.done;

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as { jobs: { jobName: string }[] };
    expect(body.jobs.map((job) => job.jobName)).toContain(name);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'InvalidToken' } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('eventjobs: dashboard stopped');
    await expect(fetch(printed.url)).rejects.toThrow();
  });

  it('answers a bad --port with a usage error on stderr and exit 2', async () => {
    const run = await cli.run(['dashboard', '--port', 'eighty']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--port must be a whole number from 0 to 65535, got "eighty"');
    expect(run.stdout).toBe('');
  });
});
