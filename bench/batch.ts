/**
 * Part 7: batch starts. A file of N start requests (`echo`, which ends at
 * once), streamed to a temporary directory line by line, is started by the
 * real CLI, `eventjobs start --from FILE --json` in a child process, against
 * the bench's local cloud. Every 250 ms the CLI's resident set is read from
 * `/proc/<pid>/status` (VmRSS) and its place in the file from
 * `/proc/<pid>/fdinfo` (the offset of the descriptor open on the file), so
 * the memory figure can be given at 10, 50, 90 and 100 % of the file.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LocalCloudState } from '../devserver/state-file';
import type { HostInfo } from './protocol';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin/eventjobs.mjs');

/**
 * The CLI's `--max-attempts` for a run of this length. The default (5, the SDK's
 * standard strategy's waits) rides out about a second of throttling, and one
 * batch that stays throttled stops the whole file. On the bench's cloud the
 * account's concurrency is lowered to 120 (see run.ts), so a burst of lifecycle
 * events (each an asynchronous Recorder invoke) can throttle StartJob for longer,
 * which API Gateway answers as a bare 500. Ten attempts wait up to about a minute
 * in all. The retries are counted and reported.
 */
export const BATCH_CLI_MAX_ATTEMPTS = 10;

export interface BatchBenchOptions {
  /** Start requests in the file. */
  readonly jobs: number;
  /** The CLI's `--concurrency`: batches in flight. */
  readonly concurrency: number;
  /** How often the CLI's memory and place are read. */
  readonly sampleMs: number;
  /** The CLI is killed after this long. */
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

/** One reading of the CLI process. */
export interface CliSample {
  /** Milliseconds since the CLI was started. */
  readonly ms: number;
  readonly rssBytes: number;
  /** Bytes of the file read so far (its descriptor's offset); undefined once it was closed. */
  readonly offset?: number;
}

export interface BatchBenchFigures {
  readonly jobs: number;
  readonly fileBytes: number;
  readonly concurrency: number;
  readonly exitCode: number | null;
  /** The CLI's own summary (`--json`). */
  readonly started: number;
  readonly failed: number;
  readonly queued: number;
  readonly retried: number;
  /** Requests the CLI sent again after a throttling answer (its `retrying after` notices). */
  readonly throttledRetries: number;
  readonly seconds: number;
  /** Jobs accepted per second, by the CLI's clock (its reading of the file to its last answer). */
  readonly jobsPerSecond: number;
  /** The CLI's resident set when it had read 10, 50, 90 and 100 % of the file, and at most. */
  readonly rssBytes: {
    readonly at10: number;
    readonly at50: number;
    readonly at90: number;
    readonly at100: number;
    readonly max: number;
  };
  readonly samples: number;
}

interface CliSummary {
  readonly started: number;
  readonly failed: number;
  readonly queued: number;
  readonly retried: number;
  readonly seconds: number;
  readonly perSecond: number;
}

export async function benchBatch(
  info: HostInfo,
  options: BatchBenchOptions,
): Promise<BatchBenchFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'eventjobs-bench-batch-'));
  try {
    const file = join(dir, 'jobs.ndjson');
    const tag = Date.now().toString(36);
    await writeStartRequests(file, options.jobs, tag);
    const fileBytes = statSync(file).size;
    options.log(
      `  ${options.jobs.toLocaleString('en-US')} start requests (${(fileBytes / 2 ** 20).toFixed(1)} MiB) written to ${file}`,
    );
    const stateFile = writeState(dir, info);
    const run = await runCli(file, stateFile, options);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as CliSummary;
    if (run.exitCode !== 0) {
      options.log(`  the CLI exited ${run.exitCode}; its stderr ended with:`);
      for (const line of run.stderr.trim().split('\n').slice(-5)) options.log(`    ${line}`);
    }
    return {
      jobs: options.jobs,
      fileBytes,
      concurrency: options.concurrency,
      exitCode: run.exitCode,
      started: summary.started ?? 0,
      failed: summary.failed ?? 0,
      queued: summary.queued ?? 0,
      retried: summary.retried ?? 0,
      throttledRetries: run.throttledRetries,
      seconds: summary.seconds ?? 0,
      jobsPerSecond: summary.perSecond ?? 0,
      rssBytes: rssAt(run.samples, fileBytes),
      samples: run.samples.length,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The file, written line by line as the stream drains: never held in memory. */
async function writeStartRequests(path: string, count: number, tag: string): Promise<void> {
  const out = createWriteStream(path);
  for (let n = 1; n <= count; n++) {
    const line = `${JSON.stringify({ type: 'echo', name: `batch-${tag}-${n}`, input: { value: n } })}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** A state file naming the bench's cloud, as `npm start` writes `.eventjobs/local.json`. */
function writeState(dir: string, info: HostInfo): string {
  const state: LocalCloudState = {
    pid: info.pid,
    startedAt: new Date().toISOString(),
    stackName: 'EventJobs',
    region: info.region,
    apiUrl: info.apiUrl,
    awsEndpoint: '',
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    outputs: {},
  };
  mkdirSync(join(dir, 'state'), { recursive: true });
  const path = join(dir, 'state/local.json');
  writeFileSync(path, `${JSON.stringify(state)}\n`);
  return path;
}

interface CliRun {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly throttledRetries: number;
  readonly samples: readonly CliSample[];
}

async function runCli(
  file: string,
  stateFile: string,
  options: BatchBenchOptions,
): Promise<CliRun> {
  const began = performance.now();
  const child = spawn(
    process.execPath,
    [
      BIN,
      'start',
      '--from',
      file,
      '--concurrency',
      String(options.concurrency),
      '--max-attempts',
      String(BATCH_CLI_MAX_ATTEMPTS),
      '--json',
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        EVENTJOBS_URL: '',
        EVENTJOBS_STATE_FILE: stateFile,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  let throttledRetries = 0;
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  // Only the tail is kept: a run with many failures writes one line for each. Retry
  // notices are counted line by line as they come.
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderr = (stderr + text).slice(-8192);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith(RETRY_NOTICE)) throttledRetries += 1;
  });
  const pid = child.pid ?? 0;
  const samples: CliSample[] = [];
  let lastReport = 0;
  const sample = () => {
    const reading = readProcess(pid, file);
    if (reading === undefined) return;
    const ms = performance.now() - began;
    samples.push({ ms, ...reading });
    if (ms - lastReport >= 30_000) {
      lastReport = ms;
      const read = reading.offset === undefined ? 'done reading' : `${mib(reading.offset)} read`;
      options.log(`  ${(ms / 1000).toFixed(0)} s: ${read}, RSS ${mib(reading.rssBytes)}`);
    }
  };
  const timer = setInterval(sample, options.sampleMs);
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  const [exitCode] = (await once(child, 'close')) as [number | null];
  clearInterval(timer);
  clearTimeout(killer);
  return { exitCode, stdout, stderr, throttledRetries, samples };
}

/** How the CLI's stderr begins a retry notice (cli/main.ts). */
const RETRY_NOTICE = 'eventjobs: retrying after ';

/** The process's resident set and its offset in `file`, or undefined once it has exited. */
function readProcess(pid: number, file: string): Omit<CliSample, 'ms'> | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const rss = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!rss) return undefined;
  return { rssBytes: Number(rss[1]) * 1024, offset: fileOffset(pid, file) };
}

function fileOffset(pid: number, file: string): number | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== file) continue;
      const pos = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (pos) return Number(pos[1]);
    } catch {
      // The descriptor closed between the listing and the read.
    }
  }
  return undefined;
}

/**
 * RSS when the CLI had read each share of the file: the first sample at or
 * past it. 100 % is the last sample taken while the file was open, or, if it
 * was read before a sample caught it, the first after.
 */
export function rssAt(
  samples: readonly CliSample[],
  fileBytes: number,
): BatchBenchFigures['rssBytes'] {
  const reading = samples.filter((s) => s.offset !== undefined);
  const at = (share: number): number => {
    const found = reading.find((s) => (s.offset ?? 0) >= share * fileBytes);
    return (found ?? reading.at(-1) ?? samples.at(-1))?.rssBytes ?? 0;
  };
  const lastReading = samples.lastIndexOf(reading.at(-1) as CliSample);
  const whole =
    reading.find((s) => (s.offset ?? 0) >= fileBytes) ?? samples[lastReading + 1] ?? samples.at(-1);
  return {
    at10: at(0.1),
    at50: at(0.5),
    at90: at(0.9),
    at100: whole?.rssBytes ?? 0,
    max: Math.max(0, ...samples.map((s) => s.rssBytes)),
  };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
