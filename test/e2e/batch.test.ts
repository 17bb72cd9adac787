/**
 * `POST /jobs/batch` over HTTP, and `eventjobs start --from` (the real
 * binary): a batch with a partial failure answers 200, its valid entries
 * start and can be read back, and every invalid one is reported on its own.
 * `GET /jobs/batch` is still the job named `batch`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cliWorkspace } from './cli-run';
import { callApi, eventually, uniqueName } from './client';

const target = inject('e2e');

interface BatchAnswer {
  successful: { id: string; jobName: string; runId: string; status: string; created: boolean }[];
  failed: { id: string; code: string; message: string; senderFault: boolean }[];
}

async function statusOf(name: string): Promise<string | undefined> {
  const response = await callApi(target, target.alice, 'GET', `/jobs/${name}`);
  return response.status === 200 ? (response.body as { status: string }).status : undefined;
}

function succeeded(name: string) {
  return eventually(`${name} to succeed`, async () =>
    (await statusOf(name)) === 'SUCCEEDED' ? true : undefined,
  );
}

describe('POST /jobs/batch', () => {
  it('starts the valid entries and reports each invalid one, answering 200', async () => {
    // Prepare: a running job whose name an entry then asks for with another input
    const taken = uniqueName('batch-taken');
    const first = await callApi(target, target.alice, 'POST', '/jobs', {
      type: 'sleep',
      name: taken,
      input: { seconds: 20 },
    });
    expect(first.status).toBe(202);
    const good = uniqueName('batch-good');
    const unknown = uniqueName('batch-unknown');

    // Act
    const response = await callApi(target, target.alice, 'POST', '/jobs/batch', {
      jobs: [
        { id: 'good', type: 'echo', name: good, input: { value: 'hello' } },
        { id: 'unknown', type: 'no-such-type', name: unknown },
        { id: 'bad-input', type: 'sleep', input: { seconds: 'ten' } },
        { id: 'taken', type: 'sleep', name: taken, input: { seconds: 1 } },
        { id: 'unnamed', type: 'echo', input: { value: 2 } },
      ],
    });

    // Assess: the answer
    expect(response.status, response.text).toBe(200);
    const answer = response.body as BatchAnswer;
    expect(answer.successful.map((s) => s.id)).toEqual(['good', 'unnamed']);
    expect(answer.successful[0]).toMatchObject({ jobName: good, created: true });
    expect(answer.failed.map(({ id, code, senderFault }) => ({ id, code, senderFault }))).toEqual([
      { id: 'unknown', code: 'UnknownJobType', senderFault: true },
      { id: 'bad-input', code: 'InvalidInput', senderFault: true },
      { id: 'taken', code: 'JobNameInUse', senderFault: true },
    ]);
    // Assess: what was started runs; what failed left nothing behind
    const unnamed = answer.successful[1]?.jobName ?? '';
    await succeeded(good);
    await succeeded(unnamed);
    expect(await statusOf(unknown)).toBeUndefined();
    await callApi(target, target.alice, 'DELETE', `/jobs/${taken}`);
  });

  it('refuses a batch with a repeated id as a whole, starting nothing', async () => {
    // Prepare
    const name = uniqueName('batch-repeat');

    // Act
    const response = await callApi(target, target.alice, 'POST', '/jobs/batch', {
      jobs: [
        { id: 'a', type: 'echo', name, input: { value: 1 } },
        { id: 'a', type: 'echo', input: { value: 2 } },
      ],
    });

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: 'BatchEntryIdsNotDistinct' } });
    expect(await statusOf(name)).toBeUndefined();
  });

  it('leaves GET /jobs/batch to the job named batch', async () => {
    // Prepare
    const started = await callApi(target, target.bob, 'POST', '/jobs', {
      type: 'echo',
      name: 'batch',
      input: { value: 'named batch' },
    });
    expect([200, 202]).toContain(started.status);

    // Act
    const read = await callApi(target, target.bob, 'GET', '/jobs/batch');

    // Assess
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ jobName: 'batch', type: 'echo' });
  });
});

describe.runIf(target.kind === 'local')('eventjobs start --from (the CLI binary)', () => {
  const cli = cliWorkspace(target);
  afterAll(() => cli.cleanup());

  it('starts the lines of a file, and reports the failed ones by line number (exit 5)', async () => {
    // Prepare
    const names = [uniqueName('from-a'), uniqueName('from-b'), uniqueName('from-c')];
    const file = join(cli.dir, 'jobs.ndjson');
    const failures = join(cli.dir, 'failed.ndjson');
    const lines = [
      JSON.stringify({ type: 'echo', name: names[0], input: { value: 1 } }),
      'this is not json',
      JSON.stringify({ type: 'echo', name: names[1], input: { value: 2 } }),
      '',
      JSON.stringify({ type: 'no-such-type', name: uniqueName('from-x') }),
      JSON.stringify({ type: 'echo', name: names[2], input: { value: 3 } }),
    ];
    writeFileSync(file, `${lines.join('\n')}\n`);

    // Act
    const run = await cli.run(['start', '--from', file, '--failures', failures, '--json']);

    // Assess
    expect(run.code, run.stderr).toBe(5);
    expect(JSON.parse(run.stdout)).toMatchObject({ read: 6, blank: 1, started: 3, failed: 2 });
    const failed = readFileSync(failures, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { line: number; code: string });
    expect(failed.map(({ line, code }) => ({ line, code }))).toEqual([
      { line: 2, code: 'InvalidJson' },
      { line: 5, code: 'UnknownJobType' },
    ]);
    for (const name of names) await succeeded(name);
  });
});
