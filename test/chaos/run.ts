/**
 * `npm run test:chaos`: the job lifecycle guarantees under injected faults.
 *
 * 1. Starts the local cloud in this process with chaos on, DynamoDB on disk in
 *    a temporary directory and one log file per function; starts `--jobs`
 *    jobs (echo, sleep 0-1 s, fail) over signed HTTP; waits until each is
 *    terminal; then checks that every job has exactly one outcome, that no
 *    record stays active, that no run was finished twice (the completion
 *    function's "Run finished" lines per run id) and that the counts add up.
 * 2. SIGKILL: runs `devserver/cli.ts` as a child process with `--data`, starts
 *    jobs, kills it mid-run, starts it again on the same data, and waits
 *    until every job is terminal (only a sweeper can end the runs whose
 *    events died with the process).
 *
 * Stuck jobs are listed by name with their last state; any failed check
 * makes the exit status 1. Every wait is bounded by `--timeout`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { runMain } from '../../cli/run-main';
import { type SigV4Credentials, signRequest } from '../../functions/shared/signer';
import { formatChaosReport, parseChaos } from '../../local/chaos';
import { startLocalCloud } from '../../local/cloud';
import { ensureE2eAssembly } from '../e2e/assembly';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ROOT = resolve(import.meta.dirname, '../..');
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);
/** The sweeper's once-a-minute schedule runs every 3 s (the e2e suite's setting). */
const SCHEDULE_SCALE = 0.05;
const DEFAULT_CHAOS =
  'crash:Worker=0.05,hang:Worker=0.02,duplicate=0.05,crash:Completion=0.05,put-events-failure=0.02';

const USAGE = `Usage: npm run test:chaos -- [options]

  --jobs N          jobs in the chaos run (default 1000)
  --kill-jobs N     jobs in the SIGKILL run (default 100; 0 skips it)
  --concurrency N   HTTP requests in flight (default 10)
  --kill-concurrency N
                    HTTP requests in flight in the SIGKILL run (default 4: gentle enough that the
                    local cloud is not saturated, so that runs are still in flight at the kill)
  --chaos SPEC      faults to inject (default ${DEFAULT_CHAOS})
  --chaos-seed N    seed for the faults (default: random, printed)
  --timeout S       give up waiting after S seconds per scenario (default 600)
  --time-scale X    the local cloud's --time-scale (default 0.01: Lambda's 1-minute retry takes 0.6 s)
  --assembly DIR    the cloud assembly (default: the e2e suite's, synthesized if missing: a 6 s worker
                    timeout, no Lambda retries, reserved worker concurrency 50, a 2-minute sweeper
                    start window; see test/e2e/assembly.ts)
  --keep            keep the temporary directory (data and logs)`;

interface Api {
  readonly apiUrl: string;
  readonly awsEndpoint: string;
  readonly region: string;
  readonly user: SigV4Credentials;
  readonly tableName: string;
}

interface Job {
  readonly name: string;
  readonly type: 'echo' | 'sleep' | 'fail';
  /** Overrides the sleep length (seconds) of a `sleep` job. */
  readonly seconds?: number;
  runId?: string;
  status?: string;
  /** The last GET body, for reporting stuck jobs. */
  last?: unknown;
  startStatus?: number;
}

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      jobs: { type: 'string', default: '1000' },
      'kill-jobs': { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '10' },
      'kill-concurrency': { type: 'string', default: '4' },
      chaos: { type: 'string', default: DEFAULT_CHAOS },
      'chaos-seed': { type: 'string' },
      timeout: { type: 'string', default: '600' },
      'time-scale': { type: 'string', default: '0.01' },
      assembly: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const count = (name: string, raw: string, min: number) => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`--${name} must be an integer of at least ${min}, got "${raw}"`);
    }
    return value;
  };
  const jobs = count('jobs', values.jobs, 1);
  const killJobs = count('kill-jobs', values['kill-jobs'], 0);
  const concurrency = count('concurrency', values.concurrency, 1);
  const killConcurrency = count('kill-concurrency', values['kill-concurrency'], 1);
  const timeoutMs = count('timeout', values.timeout, 1) * 1000;
  const timeScale = Number(values['time-scale']);
  if (!(timeScale > 0 && timeScale <= 1000)) throw new Error('--time-scale must be above 0');
  const rules = parseChaos(values.chaos);
  const seed =
    values['chaos-seed'] === undefined ? undefined : count('chaos-seed', values['chaos-seed'], 0);
  // The e2e assembly: a 6 s worker timeout keeps hangs short.
  const assemblyDir = resolve(values.assembly ?? (await ensureE2eAssembly()));

  const work = mkdtempSync(join(tmpdir(), 'eventjobs-chaos-'));
  process.stdout.write(`Assembly ${assemblyDir}\nData and logs in ${work}\n\n`);
  let ok = true;
  try {
    ok =
      (await chaosRun({
        jobs,
        concurrency,
        timeoutMs,
        timeScale,
        rules,
        seed,
        assemblyDir,
        work,
      })) && ok;
    if (killJobs > 0) {
      ok =
        (await killRun({
          jobs: killJobs,
          concurrency: killConcurrency,
          timeoutMs,
          timeScale,
          assemblyDir,
          work,
        })) && ok;
    }
  } finally {
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(`\nChaos test ${ok ? 'PASSED' : 'FAILED'}\n`);
  return ok ? 0 : 1;
}

// ------------------------------------------------------------------ scenario 1

async function chaosRun(options: {
  jobs: number;
  concurrency: number;
  timeoutMs: number;
  timeScale: number;
  rules: ReturnType<typeof parseChaos>;
  seed: number | undefined;
  assemblyDir: string;
  work: string;
}): Promise<boolean> {
  process.stdout.write(`== Chaos run: ${options.jobs} jobs ==\n`);
  const logsDir = join(options.work, 'logs');
  const cloud = await startLocalCloud({
    assemblyDir: options.assemblyDir,
    apiPort: 0,
    awsPort: 0,
    quiet: true,
    dataDir: join(options.work, 'data'),
    logsDir,
    timeScale: options.timeScale,
    scheduleScale: SCHEDULE_SCALE,
    chaos: { rules: options.rules, seed: options.seed },
  });
  try {
    const user = cloud.users[0];
    if (!user) throw new Error('the local cloud has no identity');
    const api: Api = {
      apiUrl: cloud.apiUrl,
      awsEndpoint: cloud.awsEndpoint,
      region: cloud.region,
      user,
      tableName: cloud.outputs.TableName ?? '',
    };
    const prefix = `chaos-${Date.now().toString(36)}`;
    const jobs = makeJobs(prefix, options.jobs);
    const t0 = performance.now();
    await startJobs(api, jobs, options.concurrency);
    const tStarted = performance.now();
    await waitTerminal(api, jobs, options.concurrency, Date.now() + options.timeoutMs);
    const tDone = performance.now();

    const checks = await verify(api, jobs, logsDir);
    const report = cloud.chaosReport();
    process.stdout.write(summary(jobs, checks));
    if (report) process.stdout.write(`\n${formatChaosReport(report)}`);
    process.stdout.write(
      `\nTimings: started ${jobs.filter((j) => j.startStatus === 202).length} jobs in ${seconds(tStarted - t0)}, all waited for in ${seconds(tDone - t0)}\n`,
    );
    return checks.every((check) => check.ok);
  } finally {
    const dlq = await cloud.stop();
    if (dlq)
      process.stdout.write(
        `\nDead-letter queues at shutdown:\n${dlq.split('\n').slice(0, 12).join('\n')}\n`,
      );
  }
}

function makeJobs(prefix: string, count: number): Job[] {
  const types: Job['type'][] = ['echo', 'sleep', 'fail'];
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}-${i}`,
    type: types[i % types.length] ?? 'echo',
  }));
}

function inputOf(job: Job, i: number): unknown {
  switch (job.type) {
    case 'echo':
      return { value: { i } };
    case 'sleep':
      return { seconds: job.seconds ?? (i % 11) / 10 };
    case 'fail':
      return { message: `chaos job ${i} fails on purpose` };
  }
}

async function startJobs(api: Api, jobs: Job[], concurrency: number): Promise<void> {
  await pool(jobs, concurrency, async (job, i) => {
    // A 5xx, a 429 or a network error is retried like any client would, with exponential
    // backoff and jitter; the same name and input is idempotent.
    for (let attempt = 0; attempt < 20; attempt += 1) {
      try {
        const response = await call(api, 'POST', '/jobs', {
          type: job.type,
          name: job.name,
          input: inputOf(job, i),
        });
        job.startStatus = response.status;
        const body = response.body as { runId?: string } | undefined;
        if (response.status === 202 || response.status === 200) {
          job.runId = body?.runId;
          job.startStatus = 202;
          if ((i + 1) % 100 === 0) process.stdout.write(`  ${i + 1} job(s) started\n`);
          return;
        }
        if (response.status < 500 && response.status !== 429) return;
      } catch {
        job.startStatus = 0;
      }
      await sleep(Math.random() * Math.min(10_000, 250 * 2 ** attempt));
    }
  });
}

/**
 * Waits until no started job has an active record (one table scan every 2 s, so
 * the harness does not load the cloud it measures), then reads every job once
 * over the API.
 */
async function waitTerminal(
  api: Api,
  jobs: Job[],
  concurrency: number,
  deadline: number,
): Promise<void> {
  const names = new Set(jobs.filter((job) => job.startStatus === 202).map((job) => job.name));
  let lastPrint = 0;
  for (;;) {
    const active = (await scanTable(api)).filter(
      (item) => item.sk === 'ACTIVE' && names.has(item.jobName),
    ).length;
    if (active === 0 || Date.now() > deadline) break;
    if (Date.now() - lastPrint > 10_000) {
      lastPrint = Date.now();
      process.stdout.write(`  ${active} job(s) still active\n`);
    }
    await sleep(2000);
  }
  await readStatuses(api, jobs, concurrency);
}

/** One GET per started job that is not yet known to be terminal (a 429 or 5xx is retried). */
async function readStatuses(api: Api, jobs: Job[], concurrency: number): Promise<void> {
  const open = jobs.filter((job) => job.startStatus === 202 && !TERMINAL.has(job.status ?? ''));
  await pool(open, concurrency, async (job) => {
    // A busy local cloud answers 429 (the stage's throttle) or 500 (Lambda throttled): retried.
    for (let attempt = 0; attempt < 20; attempt += 1) {
      try {
        const response = await call(api, 'GET', `/jobs/${job.name}`);
        if (response.status === 200) {
          const body = response.body as { status?: string; runId?: string };
          job.last = body;
          job.status = body.status;
          return;
        }
        if (response.status !== 429 && response.status < 500) return;
      } catch {
        // A network error: tried again.
      }
      await sleep(Math.random() * Math.min(5000, 250 * 2 ** attempt));
    }
  });
}

// ------------------------------------------------------------------ checks

interface TableItem {
  readonly jobName: string;
  readonly sk: string;
  readonly status?: string;
  readonly runId?: string;
}

async function verify(api: Api, jobs: Job[], logsDir: string | undefined): Promise<Check[]> {
  const started = jobs.filter((job) => job.startStatus === 202);
  const names = new Set(started.map((job) => job.name));
  const items = (await scanTable(api)).filter((item) => names.has(item.jobName));
  const active = items.filter((item) => item.sk === 'ACTIVE');
  const outcomes = new Map<string, TableItem[]>();
  for (const item of items) {
    if (!item.sk.startsWith('RUN#')) continue;
    outcomes.set(item.jobName, [...(outcomes.get(item.jobName) ?? []), item]);
  }
  const stuck = started.filter((job) => !TERMINAL.has(job.status ?? ''));
  const notOne = started.filter((job) => (outcomes.get(job.name)?.length ?? 0) !== 1);
  const byStatus = countBy(started, (job) => job.status ?? 'NOT TERMINAL');
  const terminalSum = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].reduce(
    (sum, status) => sum + (byStatus.get(status) ?? 0),
    0,
  );
  const checks: Check[] = [
    {
      name: 'every job started',
      ok: started.length === jobs.length,
      detail: `${started.length} of ${jobs.length} got 202${
        started.length === jobs.length
          ? ''
          : `; others: ${[
              ...countBy(
                jobs.filter((j) => j.startStatus !== 202),
                (j) => String(j.startStatus),
              ),
            ]
              .map(([s, n]) => `${s}×${n}`)
              .join(' ')}`
      }`,
    },
    {
      name: 'every job terminal (GET)',
      ok: stuck.length === 0,
      detail:
        stuck.length === 0
          ? `${started.length} terminal`
          : `${stuck.length} stuck: ${stuck
              .slice(0, 10)
              .map((job) => `${job.name} (${job.type}, last ${describeLast(job.last)})`)
              .join('; ')}${stuck.length > 10 ? ` … and ${stuck.length - 10} more` : ''}`,
    },
    {
      name: 'none stays active (table)',
      ok: active.length === 0,
      detail: `${active.length} ACTIVE record(s)${
        active.length > 0
          ? `: ${active
              .slice(0, 10)
              .map((a) => a.jobName)
              .join(', ')}`
          : ''
      }`,
    },
    {
      name: 'exactly one outcome per job (table)',
      ok: notOne.length === 0,
      detail:
        notOne.length === 0
          ? `${started.length} jobs, one RUN# item each`
          : `${notOne.length} job(s) without exactly one: ${notOne
              .slice(0, 10)
              .map((job) => `${job.name}×${outcomes.get(job.name)?.length ?? 0}`)
              .join(', ')}`,
    },
    {
      name: 'counts add up',
      ok: terminalSum === started.length,
      detail: `succeeded+failed+cancelled+timed_out = ${terminalSum}, started = ${started.length}`,
    },
  ];
  if (logsDir) {
    const finished = runFinishedCounts(logsDir);
    const twice = [...finished].filter(([, n]) => n > 1);
    checks.push({
      name: 'none processed twice (completion log)',
      ok: twice.length === 0,
      detail: `${finished.size} runs finished; ${twice.length} finished more than once${
        twice.length > 0
          ? `: ${twice
              .slice(0, 10)
              .map(([id, n]) => `${id}×${n}`)
              .join(', ')}`
          : ''
      }`,
    });
  }
  return checks;
}

async function scanTable(api: Api): Promise<TableItem[]> {
  const client = new DynamoDBClient({
    endpoint: api.awsEndpoint,
    region: api.region,
    credentials: api.user,
  });
  const items: TableItem[] = [];
  for await (const page of paginateScan(
    { client },
    {
      TableName: api.tableName,
      ProjectionExpression: 'jobName, sk, #s, runId',
      ExpressionAttributeNames: { '#s': 'status' },
    },
  )) {
    for (const item of page.Items ?? []) {
      items.push({
        jobName: item.jobName?.S ?? '',
        sk: item.sk?.S ?? '',
        status: item.status?.S,
        runId: item.runId?.S,
      });
    }
  }
  client.destroy();
  return items;
}

/** "Run finished" lines of the completion function, per run id. */
function runFinishedCounts(logsDir: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const file of readdirSync(logsDir)) {
    if (!file.includes('Completion')) continue;
    for (const line of readFileSync(join(logsDir, file), 'utf8').split('\n')) {
      if (!line.includes('"Run finished"')) continue;
      const runId = /"runId":"([^"]+)"/.exec(line)?.[1];
      if (runId) counts.set(runId, (counts.get(runId) ?? 0) + 1);
    }
  }
  return counts;
}

function summary(jobs: Job[], checks: Check[]): string {
  const started = jobs.filter((job) => job.startStatus === 202);
  const statuses = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'NOT TERMINAL'];
  const lines = [
    '',
    `  ${'type'.padEnd(8)}${statuses.map((s) => s.padStart(14)).join('')}${'total'.padStart(8)}`,
  ];
  for (const type of ['echo', 'sleep', 'fail', 'all'] as const) {
    const of = started.filter((job) => type === 'all' || job.type === type);
    const by = countBy(of, (job) =>
      TERMINAL.has(job.status ?? '') ? (job.status ?? '') : 'NOT TERMINAL',
    );
    lines.push(
      `  ${type.padEnd(8)}${statuses.map((s) => String(by.get(s) ?? 0).padStart(14)).join('')}${String(of.length).padStart(8)}`,
    );
  }
  lines.push('');
  for (const check of checks)
    lines.push(`  ${check.ok ? 'ok  ' : 'FAIL'}  ${check.name}: ${check.detail}`);
  return `${lines.join('\n')}\n`;
}

// ------------------------------------------------------------------ scenario 2

async function killRun(options: {
  jobs: number;
  concurrency: number;
  timeoutMs: number;
  timeScale: number;
  assemblyDir: string;
  work: string;
}): Promise<boolean> {
  process.stdout.write(`\n== SIGKILL run: ${options.jobs} jobs ==\n`);
  const dataDir = join(options.work, 'kill-data');
  const args = [
    '--no-synth',
    '--quiet',
    '--port',
    '0',
    '--aws-port',
    '0',
    '--data',
    dataDir,
    '--assembly',
    options.assemblyDir,
    '--time-scale',
    String(options.timeScale),
    '--schedule-scale',
    String(SCHEDULE_SCALE),
  ];
  const first = await startChild(args, options.work);
  const prefix = `kill-${Date.now().toString(36)}`;
  // Sleeps of 3 to 5 s (within the 6 s worker timeout), started last, so that runs are in
  // flight at the kill.
  const jobs = makeJobs(prefix, options.jobs)
    .map((job, i) => (job.type === 'sleep' ? { ...job, seconds: 3 + (i % 3) } : job))
    .sort((a, b) => Number(a.type === 'sleep') - Number(b.type === 'sleep'));
  const t0 = performance.now();
  await startJobs(first.api, jobs, options.concurrency);
  // Kill mid-run: as soon as every job is started (one table scan), while the sleeps still run.
  const names = new Set(jobs.map((job) => job.name));
  const open = (await scanTable(first.api)).filter(
    (item) => item.sk === 'ACTIVE' && names.has(item.jobName),
  ).length;
  process.stdout.write(
    `  started ${jobs.filter((j) => j.startStatus === 202).length}; ${open} still active when killed\n`,
  );
  first.child.kill('SIGKILL');
  await new Promise((resolveExit) => first.child.once('exit', resolveExit));
  process.stdout.write('  killed with SIGKILL; restarting on the same --data\n');

  const second = await startChild(args, options.work);
  try {
    await waitTerminal(second.api, jobs, options.concurrency, Date.now() + options.timeoutMs);
    const checks = await verify(second.api, jobs, undefined);
    checks.unshift({
      name: 'runs in flight at the kill',
      ok: open > 0,
      detail: `${open} job(s) still active when the process was killed`,
    });
    process.stdout.write(summary(jobs, checks));
    process.stdout.write(
      `\nTimings: ${seconds(performance.now() - t0)} from the first start to the end of the wait\n`,
    );
    return checks.every((check) => check.ok);
  } finally {
    second.child.kill('SIGTERM');
    await new Promise((resolveExit) => second.child.once('exit', resolveExit));
  }
}

async function startChild(args: string[], cwd: string): Promise<{ child: ChildProcess; api: Api }> {
  // One process (no tsx wrapper), so SIGKILL kills the cloud itself. Run from the
  // scratch directory, so its .eventjobs/local.json is not the developer's.
  const tsx = import.meta.resolve('tsx');
  const child = spawn(
    process.execPath,
    ['--import', tsx, join(ROOT, 'devserver/cli.ts'), ...args],
    {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    },
  );
  let output = '';
  const api = await new Promise<Api>((resolveApi, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the local cloud did not start:\n${output}`)),
      60_000,
    );
    child.once('exit', (code) => reject(new Error(`the local cloud exited (${code}):\n${output}`)));
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('Press Ctrl-C to stop.')) return;
      clearTimeout(timer);
      const apiUrl = /API base URL\s+(\S+)/.exec(output)?.[1];
      const awsEndpoint = /AWS endpoint\s+(\S+)/.exec(output)?.[1];
      const region = /Region\s+(\S+)/.exec(output)?.[1] ?? 'us-east-1';
      const keys = /AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)/.exec(output);
      const tableName = /"TableName": "([^"]+)"/.exec(output)?.[1];
      if (!apiUrl || !awsEndpoint || !keys?.[1] || !keys[2]) {
        reject(new Error(`cannot read the banner:\n${output}`));
        return;
      }
      resolveApi({
        apiUrl,
        awsEndpoint,
        region,
        user: { accessKeyId: keys[1], secretAccessKey: keys[2] },
        tableName: tableName ?? '',
      });
    });
  });
  return { child, api: api.tableName ? api : { ...api, tableName: await findTable(api) } };
}

async function findTable(api: Api): Promise<string> {
  const { ListTablesCommand } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({
    endpoint: api.awsEndpoint,
    region: api.region,
    credentials: api.user,
  });
  const tables = await client.send(new ListTablesCommand({}));
  client.destroy();
  const name = tables.TableNames?.find((table) => table.includes('Jobs'));
  if (!name) throw new Error('the local cloud has no jobs table');
  return name;
}

// ------------------------------------------------------------------ helpers

async function call(api: Api, method: string, path: string, body?: unknown) {
  const url = `${api.apiUrl}${path}`;
  const payload = body === undefined ? '' : JSON.stringify(body);
  const headers: Record<string, string> =
    body === undefined ? {} : { 'content-type': 'application/json' };
  const signed = await signRequest({
    method,
    url,
    headers,
    body: payload,
    credentials: api.user,
    region: api.region,
    service: 'execute-api',
  });
  const response = await fetch(url, {
    method,
    headers: { ...headers, ...signed },
    body: body === undefined ? undefined : payload,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed };
}

async function pool<T>(
  items: T[],
  size: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      const item = items[index];
      if (item !== undefined) await work(item, index);
    }
  });
  await Promise.all(runners);
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function describeLast(last: unknown): string {
  if (typeof last !== 'object' || last === null) return 'never read';
  const body = last as { status?: string; progress?: { message?: string }; attempt?: number };
  return [body.status, body.attempt ? `attempt ${body.attempt}` : '', body.progress?.message]
    .filter(Boolean)
    .join(', ');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

void runMain(main);
