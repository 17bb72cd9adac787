/**
 * `eventjobs start --from`: the streaming start of an NDJSON file. With a
 * fake client: bounded batches in flight and a reader that does not run
 * ahead of them, line numbers in failures, resends of entries that failed
 * for a reason of the moment, and a stop at a failure of a whole batch.
 * Through `main` with a fake fetch: the arguments, the summary, the failures
 * file and the exit codes.
 */
import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  type ReadStream,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../cli/errors';
import { type MainDeps, main } from '../../../cli/main';
import {
  type FailedLine,
  MAX_ENTRY_ATTEMPTS,
  MAX_SENDS,
  type StartFromDeps,
  startFrom,
} from '../../../cli/start-from';
import { UnreachableError } from '../../../client/errors';
import type {
  BatchFailed,
  BatchStartEntry,
  BatchStarted,
  BatchStartResult,
} from '../../../client/types';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'eventjobs-start-from-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const startedOf = (entry: BatchStartEntry): BatchStarted => ({
  id: entry.id ?? '',
  jobName: entry.name ?? '',
  runId: `R${entry.id}`,
  status: 'RUNNING',
  created: true,
});

/** A client whose batches take a moment, answered by `decide` entry by entry. */
class FakeClient {
  readonly batches: BatchStartEntry[][] = [];
  inFlight = 0;
  mostInFlight = 0;
  /** Called as each batch is sent: to look at the world at that moment. */
  onSend: (entries: readonly BatchStartEntry[]) => void = () => undefined;

  constructor(
    readonly decide: (entry: BatchStartEntry, sends: number) => BatchStarted | BatchFailed = (
      entry,
    ) => startedOf(entry),
    readonly delayMs = 1,
  ) {}

  readonly #sends = new Map<string, number>();

  readonly startBatch = async (entries: readonly BatchStartEntry[]): Promise<BatchStartResult> => {
    this.batches.push([...entries]);
    this.onSend(entries);
    this.inFlight += 1;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    this.inFlight -= 1;
    const successful: BatchStarted[] = [];
    const failed: BatchFailed[] = [];
    for (const entry of entries) {
      const key = String(entry.name);
      const sends = (this.#sends.get(key) ?? 0) + 1;
      this.#sends.set(key, sends);
      const answer = this.decide(entry, sends);
      if ('runId' in answer) successful.push(answer);
      else failed.push(answer);
    }
    return { successful, failed };
  };
}

function collect(): { writer: { write: (text: string) => boolean }; lines: () => FailedLine[] } {
  let text = '';
  return {
    writer: {
      write: (chunk: string) => {
        text += chunk;
        return true;
      },
    },
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as FailedLine),
  };
}

function run(
  client: FakeClient,
  input: Readable,
  options: Partial<{ batchSize: number; concurrency: number }> = {},
  deps: Partial<StartFromDeps> = {},
) {
  const failures = collect();
  const waits: number[] = [];
  const report = startFrom(
    { batchSize: options.batchSize ?? 100, concurrency: options.concurrency ?? 4 },
    {
      client,
      input,
      failures: failures.writer,
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 0,
      ...deps,
    },
  );
  return { report, failures, waits };
}

function lines(...values: string[]): Readable {
  return Readable.from([values.join('\n')]);
}

/** Writes `count` start requests to a file, streamed, and answers its path and size. */
async function generatedFile(count: number): Promise<{ path: string; bytes: number }> {
  const path = join(dir, 'jobs.ndjson');
  const out = createWriteStream(path);
  let bytes = 0;
  for (let i = 1; i <= count; i++) {
    const line = `${JSON.stringify({ type: 'echo', name: `job-${i}`, input: { value: i } })}\n`;
    bytes += line.length;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { path, bytes };
}

describe('startFrom: a large file', () => {
  it('keeps at most --concurrency batches in flight and reads only a little ahead of them', async () => {
    // Prepare
    const count = 50_000;
    const file = await generatedFile(count);
    const input: ReadStream = createReadStream(file.path);
    const client = new FakeClient();
    let sentLines = 0;
    let mostAhead = 0;
    client.onSend = (entries) => {
      sentLines += entries.length;
      // Bytes read from the file beyond the lines handed to batches so far.
      mostAhead = Math.max(mostAhead, input.bytesRead - sentLines * (file.bytes / count));
    };

    // Act
    const { report, failures } = run(client, input, { concurrency: 3 });
    const done = await report;

    // Assess
    expect(done).toMatchObject({ read: count, started: count, failed: 0, retried: 0 });
    expect(failures.lines()).toEqual([]);
    expect(client.mostInFlight).toBe(3);
    expect(client.batches).toHaveLength(count / 100);
    expect(client.batches.every((batch) => batch.length === 100)).toBe(true);
    // The reader waits for the batches: a few chunks ahead, never the whole file (3 MB).
    expect(mostAhead).toBeLessThan(256 * 1024);
    expect(client.batches[0]?.[0]).toMatchObject({ id: '1', name: 'job-1', type: 'echo' });
  });
});

describe('startFrom: lines', () => {
  it('reports lines that are not start requests with their line numbers, and sends the rest', async () => {
    // Prepare
    const client = new FakeClient();
    const input = lines(
      '{"type":"echo","name":"one","input":{"value":1}}',
      '',
      'not json',
      '   ',
      '[1,2]',
      '{"type":"echo","id":"mine"}',
      '{"type":"echo","input":{"value":7}}',
    );

    // Act
    const { report, failures } = run(client, input);
    const done = await report;

    // Assess
    expect(done).toMatchObject({ read: 7, blank: 2, started: 2, failed: 3 });
    expect(failures.lines()).toEqual([
      { line: 3, id: '3', code: 'InvalidJson', message: expect.stringContaining('line 3') },
      { line: 5, id: '5', code: 'InvalidBody', message: expect.stringContaining('line 5') },
      { line: 6, id: '6', code: 'InvalidBody', message: expect.stringContaining('"id"') },
    ]);
    const sent = client.batches.flat();
    expect(sent.map((entry) => entry.id)).toEqual(['1', '7']);
    // An unnamed line is named before it is sent, so a resend repeats the name.
    expect(sent[1]?.name).toMatch(/^[0-9A-Z]{26}$/);
  });

  it('keeps a batch within the byte limit, whatever --batch-size says', async () => {
    // Prepare: 4 lines of 1 MB each
    const client = new FakeClient();
    const big = 'x'.repeat(1_000_000);
    const input = lines(
      ...[1, 2, 3, 4].map((i) => JSON.stringify({ type: 'echo', name: `b${i}`, input: { big } })),
    );

    // Act
    const { report } = run(client, input);
    await report;

    // Assess
    expect(client.batches.map((batch) => batch.length)).toEqual([2, 2]);
  });
});

describe('startFrom: failures', () => {
  it('sends entries that failed for a reason of the moment again, after their Retry-After', async () => {
    // Prepare: QueueFull once for b, always for c; a bad input for d
    const client = new FakeClient((entry, sends) => {
      const id = entry.id ?? '';
      if (entry.name === 'b' && sends === 1) {
        return fail(id, 'QueueFull', false, 30);
      }
      if (entry.name === 'c') return fail(id, 'Throttled', false, 1);
      if (entry.name === 'd') return fail(id, 'InvalidInput', true);
      return startedOf(entry);
    });
    const input = lines(...['a', 'b', 'c', 'd'].map((name) => `{"type":"echo","name":"${name}"}`));

    // Act
    const { report, failures, waits } = run(client, input);
    const done = await report;

    // Assess
    // b is sent again once; c until its attempts run out.
    expect(done).toMatchObject({ started: 2, failed: 2, retried: 1 + (MAX_ENTRY_ATTEMPTS - 1) });
    expect(failures.lines()).toEqual([
      { line: 4, id: '4', code: 'InvalidInput', message: 'InvalidInput', name: 'd' },
      { line: 3, id: '3', code: 'Throttled', message: 'Throttled', name: 'c' },
    ]);
    // The first wait honours b's 30 s; c is sent MAX_ENTRY_ATTEMPTS times in all.
    expect(waits[0]).toBe(30_000);
    expect(waits).toHaveLength(MAX_ENTRY_ATTEMPTS - 1);
    const sendsOfC = client.batches.flat().filter((entry) => entry.name === 'c');
    expect(sendsOfC).toHaveLength(MAX_ENTRY_ATTEMPTS);
    expect(client.batches.flat().filter((entry) => entry.name === 'd')).toHaveLength(1);
  });

  it('sends an entry its batch had no time to begin again without counting a try, within MAX_SENDS', async () => {
    // Prepare: e is not attempted 7 times (more than MAX_ENTRY_ATTEMPTS), then starts; f never is
    const client = new FakeClient((entry, sends) => {
      const id = entry.id ?? '';
      if (entry.name === 'e' && sends <= 7) return fail(id, 'NotAttempted', false);
      if (entry.name === 'f') return fail(id, 'NotAttempted', false);
      return startedOf(entry);
    });
    const input = lines('{"type":"echo","name":"e"}', '{"type":"echo","name":"f"}');

    // Act
    const { report, failures } = run(client, input);
    const done = await report;

    // Assess
    expect(done).toMatchObject({ started: 1, failed: 1 });
    expect(failures.lines()).toEqual([
      { line: 2, id: '2', code: 'NotAttempted', message: 'NotAttempted', name: 'f' },
    ]);
    expect(client.batches.flat().filter((entry) => entry.name === 'f')).toHaveLength(MAX_SENDS);
  });

  it('stops at a batch that fails as a whole, and reports every line read but not started', async () => {
    // Prepare: the second batch cannot reach the API
    let batches = 0;
    const client = new FakeClient();
    const startBatch = client.startBatch;
    Object.assign(client, {
      startBatch: async (entries: readonly BatchStartEntry[]) => {
        batches += 1;
        if (batches === 2) {
          // Answered after the reader has read the next batch, which then waits for a slot.
          await new Promise((resolve) => setTimeout(resolve, 20));
          throw new UnreachableError('cannot reach the local cloud');
        }
        return startBatch(entries);
      },
    });
    const input = lines(
      ...Array.from({ length: 10 }, (_, i) => `{"type":"echo","name":"n${i + 1}"}`),
    );

    // Act
    const { report, failures } = run(client, input, { batchSize: 2, concurrency: 1 });
    const done = await report;

    // Assess
    expect(done.stoppedBy).toBeInstanceOf(UnreachableError);
    expect(done.started).toBe(2);
    expect(batches).toBe(2);
    expect(done.started + done.failed).toBe(done.read);
    expect(failures.lines().map((line) => [line.line, line.code])).toEqual([
      [3, 'Unreachable'],
      [4, 'Unreachable'],
      [5, 'NotSent'],
      [6, 'NotSent'],
    ]);
  });
});

function fail(id: string, code: string, senderFault: boolean, retryAfterSeconds?: number) {
  return {
    id,
    code,
    message: code,
    senderFault,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}

// ------------------------------------------------------------ through main

const LOCAL = { accessKeyId: 'AKIALOCALALICE000001', secretAccessKey: 'local/alice/secret' };

/** `main` against a fake API that answers each batch with `decide` per entry. */
function cli(
  decide: (entry: Record<string, unknown>) => BatchStarted | BatchFailed = (entry) =>
    startedOf(entry as unknown as BatchStartEntry),
  overrides: Partial<MainDeps> = {},
) {
  const out = { stdout: '', stderr: '', requests: 0 };
  mkdirSync(join(dir, '.eventjobs'), { recursive: true });
  writeFileSync(
    join(dir, '.eventjobs/local.json'),
    JSON.stringify({
      pid: 4242,
      startedAt: '2026-01-01T00:00:00.000Z',
      stackName: 'EventJobs',
      region: 'us-east-1',
      apiUrl: 'http://127.0.0.1:3999',
      awsEndpoint: 'http://127.0.0.1:4999',
      credentials: LOCAL,
      outputs: {},
    }),
  );
  const deps: MainDeps = {
    env: {},
    cwd: dir,
    stdout: { isTTY: false, write: (text: string) => (out.stdout += text) },
    stderr: { write: (text: string) => (out.stderr += text) },
    fetch: async (url, init) => {
      out.requests += 1;
      expect(url).toBe('http://127.0.0.1:3999/jobs/batch');
      const { jobs } = JSON.parse(String(init?.body)) as { jobs: Record<string, unknown>[] };
      const answers = jobs.map(decide);
      const body = {
        successful: answers.filter((a) => 'runId' in a),
        failed: answers.filter((a) => !('runId' in a)),
      };
      return new Response(JSON.stringify(body), { status: 200 });
    },
    readFile: (path) => readFileSync(path, 'utf8'),
    isAlive: () => true,
    awsCredentials: async () => LOCAL,
    onInterrupt: () => () => undefined,
    sleep: async () => undefined,
    version: '9.9.9',
    ...overrides,
  };
  return { out, run: (...argv: string[]) => main(argv, deps) };
}

function file(name: string, ...contents: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${contents.join('\n')}\n`);
  return path;
}

describe('eventjobs start --from', () => {
  it('exits 0 when every line started, with a summary line', async () => {
    // Prepare
    const path = file('ok.ndjson', '{"type":"echo","name":"a"}', '{"type":"echo","name":"b"}');
    const { out, run: exec } = cli();

    // Act
    const code = await exec('start', '--from', path);

    // Assess
    expect(code).toBe(ExitCode.Ok);
    expect(out.stdout).toMatch(/^started 2 of 2 lines in \d+\.\d s \(\d+\/s\): 0 queued\n$/);
    expect(out.stderr).toBe('');
    expect(out.stderr).not.toContain('\r');
  });

  it('exits 5 when a line failed, writing it to --failures as NDJSON; --json prints the figures', async () => {
    // Prepare
    const path = file('mixed.ndjson', '{"type":"echo","name":"a"}', '{"type":"nope","name":"b"}');
    const failuresPath = join(dir, 'failed.ndjson');
    const { out, run: exec } = cli((entry) =>
      entry.type === 'nope'
        ? fail(String(entry.id), 'UnknownJobType', true)
        : startedOf(entry as unknown as BatchStartEntry),
    );

    // Act
    const code = await exec('start', '--from', path, '--failures', failuresPath, '--json');

    // Assess
    expect(code).toBe(ExitCode.ApiError);
    expect(JSON.parse(out.stdout)).toMatchObject({
      read: 2,
      started: 1,
      failed: 1,
      failuresTo: failuresPath,
    });
    expect(readFileSync(failuresPath, 'utf8')).toBe(
      `${JSON.stringify({ line: 2, id: '2', code: 'UnknownJobType', message: 'UnknownJobType', name: 'b' })}\n`,
    );
  });

  it('exits 6 and says where it stopped when the target cannot be reached', async () => {
    // Prepare
    const path = file('one.ndjson', '{"type":"echo","name":"a"}');
    const { out, run: exec } = cli(undefined, {
      fetch: async () => {
        throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
      },
    });

    // Act
    const code = await exec('start', '--from', path);

    // Assess
    expect(code).toBe(ExitCode.Unreachable);
    expect(out.stderr).toContain('eventjobs: stopped after line 1: cannot reach');
  });

  it('draws a progress line on a terminal, and clears it before the summary', async () => {
    // Prepare
    const path = file('tty.ndjson', '{"type":"echo","name":"a"}');
    const slowly = async () => {
      await new Promise((resolve) => setTimeout(resolve, 600));
      return new Response(
        JSON.stringify({
          successful: [{ id: '1', jobName: 'a', runId: 'R', status: 'RUNNING', created: true }],
          failed: [],
        }),
        { status: 200 },
      );
    };
    const stderr = { isTTY: true, text: '', write: (t: string) => (stderr.text += t) };
    const { run: exec } = cli(undefined, { fetch: slowly, stderr });

    // Act
    const code = await exec('start', '--from', path);

    // Assess
    expect(code).toBe(ExitCode.Ok);
    expect(stderr.text).toContain('\rread 1  started 0  queued 0  failed 0  0/s\x1b[K');
    expect(stderr.text.endsWith('\r\x1b[K')).toBe(true);
  });

  it.each([
    [['start', '--from', 'x.ndjson', 'echo'], 'takes no <type>'],
    [['start', '--from', 'x.ndjson', '--wait'], '--wait does not go with --from'],
    [['start', '--from', 'x.ndjson', '--batch-size', '101'], '--batch-size must be at most 100'],
    [['start', '--from', 'x.ndjson', '--concurrency', '0'], '--concurrency must be a whole number'],
    [['start', 'echo', '--batch-size', '10'], '--batch-size goes with --from'],
    [['start', '--from', 'missing.ndjson'], 'cannot read --from file missing.ndjson'],
  ])('exits 2 for %j', async (argv, message) => {
    // Prepare
    const { out, run: exec } = cli();

    // Act
    const code = await exec(...argv);

    // Assess
    expect(code).toBe(ExitCode.Usage);
    expect(out.stderr).toContain(message);
    expect(out.requests).toBe(0);
  });
});
