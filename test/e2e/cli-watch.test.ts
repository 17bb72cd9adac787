/**
 * `eventjobs watch` and `start --wait`, the real binary against the local
 * cloud's event stream (`GET /jobs/{name}/events`, server-sent events).
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cliWorkspace } from './cli-run';
import { callApi, eventually, uniqueName } from './client';

const target = inject('e2e');

describe.runIf(target.kind === 'local')('eventjobs watch and start --wait', () => {
  const cli = cliWorkspace(target);
  afterAll(() => cli.cleanup());

  it('start echo --wait exits 0 and prints the result', async () => {
    const name = uniqueName('cli-wait');
    const run = await cli.run([
      'start',
      'echo',
      '--name',
      name,
      '--input',
      '{"value":"hi"}',
      '--wait',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Job Started');
    expect(run.stdout).toContain('Job Completed');
    expect(run.stdout).toContain('"value": "hi"');
  });

  it('start fail --wait exits 1 and shows the error', async () => {
    const run = await cli.run(['start', 'fail', '--input', '{"message":"boom"}', '--wait']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/Job Failed\s+FAILED.*boom/);
  });

  it('watch shows progress lines (no terminal: plain) and exits 0 when the job completes', async () => {
    // Prepare
    const name = uniqueName('cli-watch');
    const started = await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'sleep',
      name,
      // Under the e2e worker's 6 s timeout (less its 2 s margin), so it completes.
      input: { seconds: 3 },
    });
    expect(started.status).toBe(202);

    // Act
    const run = await cli.run(['watch', name]);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Job Progress\s+\d+%/);
    expect(run.stdout).not.toContain('\r');
    expect(run.stdout).not.toContain('\x1b[');
    expect(run.stdout).toMatch(/Job Completed\s+SUCCEEDED/);
  });

  it('watch --json prints one EventBridge event per line, ending with the terminal one', async () => {
    const name = uniqueName('cli-ndjson');
    await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'sleep',
      name,
      input: { seconds: 1 },
    });
    const run = await cli.run(['watch', name, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const events = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { 'detail-type': string; detail: { jobName: string } });
    expect(events[0]?.['detail-type']).toBe('Job Started');
    expect(events.at(-1)?.['detail-type']).toBe('Job Completed');
    expect(events.every((event) => event.detail.jobName === name)).toBe(true);
  });

  it('watch exits 3 when the job is cancelled while it watches', async () => {
    // Prepare
    const name = uniqueName('cli-watch-cancel');
    await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'sleep',
      name,
      input: { seconds: 30 },
    });
    const watching = cli.spawn(['watch', name]);

    // Act: cancel as soon as the stream shows the run has started (it would time out after ~4 s).
    await eventually('the watch to show Job Started', async () =>
      watching.stdout().includes('Job Started') ? true : undefined,
    );
    const cancel = await callApi(target, target.alice, 'DELETE', `/jobs/${name}`);
    const run = await watching.done;

    // Assess
    expect(cancel.status).toBe(202);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stdout).toMatch(/Job Cancelled\s+CANCELLED/);
  });

  it('watch of an unknown job exits 7', async () => {
    const run = await cli.run(['watch', uniqueName('cli-nobody')]);
    expect(run.code).toBe(7);
  });
});
