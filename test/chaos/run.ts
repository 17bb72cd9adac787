/**
 * `npm run test:chaos`: the job lifecycle guarantees under injected faults.
 *
 * 1. Starts the local cloud in this process with chaos on, DynamoDB on disk in
 *    a temporary directory and one log file per function; starts `--jobs`
 *    jobs (echo, sleep 0-1 s, fail) over signed HTTP; waits until each is
 *    terminal; then checks that every job has exactly one outcome, that no
 *    record stays active, that no run was finished twice (the completion
 *    function's "Run finished" lines per run id) and that the counts add up.
 * 2. The noisy neighbour, under the same faults (`noisy.ts`): one identity
 *    floods past its owner limit and queue limit while the other's requests
 *    must all succeed and its jobs start within a bound.
 * 3. SIGKILL: runs `devserver/cli.ts` as a child process with `--data`, starts
 *    jobs, kills it mid-run, starts it again on the same data, and waits
 *    until every job is terminal (only a sweeper can end the runs whose
 *    events died with the process).
 *
 * After each scenario every fair-share counter must be back to zero, and each
 * is printed (`slots.ts`). Stuck jobs are listed by name with their last
 * state; any failed check makes the exit status 1. Every wait is bounded by
 * `--timeout`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runMain } from '../../cli/run-main';
import { formatChaosReport, parseChaos } from '../../local/chaos';
import { startLocalCloud } from '../../local/cloud';
import { ensureE2eAssembly } from '../e2e/assembly';
import { ensureChaosAssembly } from './assembly';
import { startCloudProcess } from './cloud-process';
import { type Api, countBy, seconds } from './http';
import {
  type Check,
  gatewayErrors,
  type Job,
  makeJobs,
  startJobs,
  summary,
  verify,
  waitTerminal,
} from './jobs';
import { noisyRun } from './noisy';
import { formatSlots, readSettledSlots, slotChecks } from './slots';
import { scanTable } from './table';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Step-based jobs in the SIGKILL run. */
const PIPELINE_JOBS = 6;
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
  --noisy-seconds S how long the noisy neighbour floods (default 45; 0 skips the scenario)
  --noisy-start-bound S
                    the most seconds from the other identity's POST to its job's start (default 10)
  --chaos SPEC      faults to inject (default ${DEFAULT_CHAOS})
  --chaos-seed N    seed for the faults (default: random, printed)
  --timeout S       give up waiting after S seconds per scenario (default 600)
  --time-scale X    the local cloud's --time-scale (default 0.01: Lambda's 1-minute retry takes 0.6 s)
  --assembly DIR    the cloud assembly (default: the e2e suite's, synthesized if missing: a 6 s worker
                    timeout, no Lambda retries, reserved worker concurrency 50, a 2-minute sweeper
                    start window; see test/e2e/assembly.ts)
  --noisy-assembly DIR
                    the noisy neighbour's (default: the e2e context plus a queue limit of 25 per
                    owner and a limit of 20 sleep jobs; see test/chaos/assembly.ts)
  --keep            keep the temporary directory (data and logs)`;

interface Options {
  readonly jobs: number;
  readonly killJobs: number;
  readonly concurrency: number;
  readonly killConcurrency: number;
  readonly noisyMs: number;
  readonly noisyStartBoundMs: number;
  readonly timeoutMs: number;
  readonly timeScale: number;
  readonly rules: ReturnType<typeof parseChaos>;
  readonly seed: number | undefined;
  readonly assembly: string | undefined;
  readonly noisyAssembly: string | undefined;
  readonly keep: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      jobs: { type: 'string', default: '1000' },
      'kill-jobs': { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '10' },
      'kill-concurrency': { type: 'string', default: '4' },
      'noisy-seconds': { type: 'string', default: '45' },
      'noisy-start-bound': { type: 'string', default: '10' },
      chaos: { type: 'string', default: DEFAULT_CHAOS },
      'chaos-seed': { type: 'string' },
      timeout: { type: 'string', default: '600' },
      'time-scale': { type: 'string', default: '0.01' },
      assembly: { type: 'string' },
      'noisy-assembly': { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  const count = (name: string, raw: string, min: number) => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`--${name} must be an integer of at least ${min}, got "${raw}"`);
    }
    return value;
  };
  const timeScale = Number(values['time-scale']);
  if (!(timeScale > 0 && timeScale <= 1000)) throw new Error('--time-scale must be above 0');
  return {
    jobs: count('jobs', values.jobs, 1),
    killJobs: count('kill-jobs', values['kill-jobs'], 0),
    concurrency: count('concurrency', values.concurrency, 1),
    killConcurrency: count('kill-concurrency', values['kill-concurrency'], 1),
    noisyMs: count('noisy-seconds', values['noisy-seconds'], 0) * 1000,
    noisyStartBoundMs: count('noisy-start-bound', values['noisy-start-bound'], 1) * 1000,
    timeoutMs: count('timeout', values.timeout, 1) * 1000,
    timeScale,
    rules: parseChaos(values.chaos),
    seed:
      values['chaos-seed'] === undefined ? undefined : count('chaos-seed', values['chaos-seed'], 0),
    assembly: values.assembly,
    noisyAssembly: values['noisy-assembly'],
    keep: values.keep,
  };
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (!options) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { timeoutMs, timeScale, rules, seed } = options;
  // The e2e assembly: a 6 s worker timeout keeps hangs short.
  const assemblyDir = resolve(options.assembly ?? (await ensureE2eAssembly()));
  const noisyAssemblyDir =
    options.noisyMs > 0 ? resolve(options.noisyAssembly ?? ensureChaosAssembly()) : undefined;

  const work = mkdtempSync(join(tmpdir(), 'eventjobs-chaos-'));
  process.stdout.write(
    `Assembly ${assemblyDir}\n${noisyAssemblyDir ? `Noisy neighbour's assembly ${noisyAssemblyDir}\n` : ''}Data and logs in ${work}\n\n`,
  );
  const base = { timeoutMs, timeScale, work };
  let ok = true;
  try {
    ok =
      (await chaosRun({
        ...base,
        jobs: options.jobs,
        concurrency: options.concurrency,
        rules,
        seed,
        assemblyDir,
      })) && ok;
    if (noisyAssemblyDir) {
      ok =
        (await noisyRun({
          ...base,
          loadMs: options.noisyMs,
          startBoundMs: options.noisyStartBoundMs,
          scheduleScale: SCHEDULE_SCALE,
          rules,
          seed,
          assemblyDir: noisyAssemblyDir,
        })) && ok;
    }
    if (options.killJobs > 0) {
      ok =
        (await killRun({
          ...base,
          jobs: options.killJobs,
          concurrency: options.killConcurrency,
          assemblyDir,
        })) && ok;
    }
  } finally {
    if (!options.keep) rmSync(work, { recursive: true, force: true });
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

    const slots = await readSettledSlots(api);
    const checks = [...(await verify(api, jobs, logsDir)), ...slotChecks(slots)];
    const report = cloud.chaosReport();
    process.stdout.write(summary(jobs, checks));
    process.stdout.write(formatSlots(slots.last));
    process.stdout.write(gatewayErrors(logsDir));
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

// ------------------------------------------------------------------ scenario 3 (2 is noisy.ts)

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
  const first = await startCloudProcess(args, options.work);
  const prefix = `kill-${Date.now().toString(36)}`;
  // Sleeps of 3 to 5 s (within the 6 s worker timeout), started last, so that runs are in
  // flight at the kill.
  // Plus step-based jobs (issue 14), started first, so they hold running slots (the owner
  // may run 10 at once; later starts queue): 8 checkpointed steps of 3 s, so they are
  // mid-run at the kill; after the restart they must resume from their checkpoints and
  // succeed, not time out.
  const pipelines: Job[] = Array.from({ length: PIPELINE_JOBS }, (_, i) => ({
    name: `${prefix}-pipeline-${i}`,
    type: 'pipeline',
  }));
  const jobs = [
    ...pipelines,
    ...makeJobs(prefix, options.jobs)
      .map((job, i) => (job.type === 'sleep' ? { ...job, seconds: 3 + (i % 3) } : job))
      .sort((a, b) => Number(a.type === 'sleep') - Number(b.type === 'sleep')),
  ];
  const t0 = performance.now();
  await startJobs(first.api, jobs, options.concurrency);
  // Kill mid-run: as soon as every job is started (one table scan), while the sleeps still run.
  const names = new Set(jobs.map((job) => job.name));
  const active = (await scanTable(first.api)).filter(
    (item) => item.sk === 'ACTIVE' && names.has(item.jobName),
  );
  const open = active.length;
  const pipelineNames = new Set(pipelines.map((job) => job.name));
  const openPipelines = active.filter((item) => pipelineNames.has(item.jobName)).length;
  const leased = active.filter(
    (item) => pipelineNames.has(item.jobName) && typeof item.leaseId === 'string',
  ).length;
  process.stdout.write(
    `  started ${jobs.filter((j) => j.startStatus === 202).length}; ${open} still active when killed (${openPipelines} of them step-based, ${leased} of those inside an invocation)\n`,
  );
  first.child.kill('SIGKILL');
  await new Promise((resolveExit) => first.child.once('exit', resolveExit));
  process.stdout.write('  killed with SIGKILL; restarting on the same --data\n');

  const second = await startCloudProcess(args, options.work);
  try {
    await waitTerminal(second.api, jobs, options.concurrency, Date.now() + options.timeoutMs);
    // Across the kill and restart: the counters must still match the (now zero) runs.
    const slots = await readSettledSlots(second.api);
    const checks = [
      {
        name: 'runs in flight at the kill',
        ok: open > 0,
        detail: `${open} job(s) still active when the process was killed`,
      },
      ...(await verify(second.api, jobs, undefined)),
      ...slotChecks(slots),
      {
        name: 'step-based jobs killed inside an invocation',
        ok: leased > 0,
        detail: `${openPipelines} of ${pipelines.length} still active when the process was killed, ${leased} of them inside an invocation (holding a lease)`,
      },
      pipelineCheck(pipelines),
    ];
    process.stdout.write(summary(jobs, checks));
    process.stdout.write(formatSlots(slots.last));
    process.stdout.write(
      `\nTimings: ${seconds(performance.now() - t0)} from the first start to the end of the wait\n`,
    );
    return checks.every((check) => check.ok);
  } finally {
    second.child.kill('SIGTERM');
    await new Promise((resolveExit) => second.child.once('exit', resolveExit));
  }
}

/** Every step-based job in flight at the kill resumed and succeeded. */
function pipelineCheck(pipelines: Job[]): Check {
  const statuses = Object.fromEntries(countBy(pipelines, (job) => job.status ?? 'unknown'));
  const last = (job: Job) =>
    (job.last ?? {}) as { attempt?: number; invocations?: number; steps?: { attempts: number }[] };
  const resumed = pipelines.filter((job) => (last(job).attempt ?? 1) > 1).length;
  const runs = pipelines
    .map((job) => {
      const { attempt, invocations, steps } = last(job);
      const rerun = (steps ?? []).filter((step) => step.attempts > 1).length;
      return `attempt ${attempt ?? '?'}, ${invocations ?? '?'} invocations, ${rerun} step(s) begun twice`;
    })
    .join('; ');
  return {
    name: 'step-based jobs resume after the restart',
    ok: pipelines.every((job) => job.status === 'SUCCEEDED'),
    detail: `${JSON.stringify(statuses)}; ${resumed} of ${pipelines.length} on a later attempt (a crash mid-invocation counts one; a kill between invocations does not) [${runs}]`,
  };
}

void runMain(main);
