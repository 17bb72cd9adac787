/**
 * Runs the real `eventjobs` binary (bin/eventjobs.mjs) as a child process
 * against the e2e local cloud, through a state file written the way
 * `npm start` writes `.eventjobs/local.json`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LocalCloudState } from '../../devserver/state-file';
import type { E2eTarget } from './target';

export const BIN = resolve(import.meta.dirname, '../../bin/eventjobs.mjs');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliWorkspace {
  /** A directory outside the repository: the binary must work from any cwd. */
  readonly dir: string;
  readonly stateFile: string;
  run(
    args: readonly string[],
    options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<CliRun>;
  /** Starts the binary and answers at once, for commands that run a while. */
  spawn(args: readonly string[]): {
    done: Promise<CliRun>;
    stdout: () => string;
    kill: (signal: NodeJS.Signals) => void;
  };
  cleanup(): void;
}

export function cliWorkspace(target: E2eTarget, pid = process.pid): CliWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'eventjobs-cli-e2e-'));
  const stateFile = writeState(dir, target, pid);
  const start = (args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: {
        ...process.env,
        EVENTJOBS_URL: '',
        EVENTJOBS_STATE_FILE: stateFile,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...env,
      },
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
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const done = new Promise<CliRun>((resolveRun, reject) => {
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolveRun({ code, stdout, stderr });
      });
    });
    return { done, stdout: () => stdout, kill: (signal: NodeJS.Signals) => child.kill(signal) };
  };
  return {
    dir,
    stateFile,
    run: (args, options = {}) => start(args, options.env, options.timeoutMs).done,
    spawn: (args) => start(args),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function writeState(dir: string, target: E2eTarget, pid: number): string {
  const state: LocalCloudState = {
    pid,
    startedAt: new Date().toISOString(),
    stackName: 'EventJobs',
    region: target.region,
    apiUrl: target.apiUrl,
    awsEndpoint: target.awsEndpoint ?? '',
    credentials: {
      accessKeyId: target.alice.accessKeyId,
      secretAccessKey: target.alice.secretAccessKey,
    },
    identityArn: target.alice.owner,
    outputs: {},
  };
  const path = join(dir, 'state/local.json');
  mkdirSync(join(dir, 'state'), { recursive: true });
  writeFileSync(path, `${JSON.stringify(state, null, 2)}\n`);
  return path;
}
