/**
 * A served local cloud as a process: SIGTERM and SIGHUP stop it cleanly (the
 * state file is removed, the ports are freed, the exit status is 0), and so
 * does the death of its parent. Also `npm start` (devserver/cli.ts) for two
 * mistakes a newcomer makes: options npm took for itself, and a taken port.
 *
 * The serving script is written to a temporary directory and run with tsx,
 * on the small fixture assembly with `--port 0 --aws-port 0`; its state file
 * goes to that directory, never to the repository's `.eventjobs/`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalCloudState, readStateFile } from '../../../devserver/state-file';

const ROOT = resolve(import.meta.dirname, '../../..');
const SMALL = join(ROOT, 'test/fixtures/assembly/small');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const module = (path: string) => JSON.stringify(pathToFileURL(join(ROOT, path)).href);

/** Serves the small assembly until stopped; argv: root, state file. */
const SERVE_SCRIPT = `
import { serveLocalCloud } from ${module('devserver/serve.ts')};
import { parseServeArgs } from ${module('devserver/serve-args.ts')};
const [root, stateFile] = process.argv.slice(2);
const args = parseServeArgs(['--port', '0', '--aws-port', '0', '--no-synth', '--quiet'], {});
const served = await serveLocalCloud({ args, root, assemblyDir: ${JSON.stringify(SMALL)}, stateFile });
await served.stopped;
`;

/** Starts the serving script with its stdout piped to this (soon dead) parent, and prints its pid. */
const PARENT_SCRIPT = `
const { spawn } = require('node:child_process');
const child = spawn(process.execPath, process.argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
child.stdout.on('data', () => {});
child.stderr.on('data', () => {});
console.log(child.pid);
`;

/** Environment without npm's variables, as when run from a terminal. */
const PLAIN_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')),
);

let dir: string;
let stateFile: string;
const children: ChildProcess[] = [];
const blockers: Server[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'local-serve-process-'));
  stateFile = join(dir, 'local.json');
  writeFileSync(join(dir, 'serve.mts'), SERVE_SCRIPT);
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const server of blockers.splice(0)) server.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], env: NodeJS.ProcessEnv = PLAIN_ENV): ChildProcess {
  const child = spawn(process.execPath, ['--import', TSX, ...args], { cwd: ROOT, env });
  children.push(child);
  return child;
}

function output(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return () => text;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
}

async function until<T>(check: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** The state file once the served cloud wrote it. */
function started(): Promise<LocalCloudState> {
  return until(() => readStateFile(stateFile), 'the state file');
}

/** Whether a process runs: not gone, and not a zombie nobody has reaped yet. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((done) => {
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

async function expectCleanlyStopped(state: LocalCloudState): Promise<void> {
  expect(existsSync(stateFile)).toBe(false);
  expect(await isFree(Number(new URL(state.apiUrl).port))).toBe(true);
  expect(await isFree(Number(new URL(state.awsEndpoint).port))).toBe(true);
}

describe('a served local cloud stops cleanly', () => {
  it.each(['SIGTERM', 'SIGHUP'] as const)(
    'on %s',
    async (signal) => {
      const child = run([join(dir, 'serve.mts'), dir, stateFile]);
      const text = output(child);
      const state = await started();
      expect(state.pid).toBe(child.pid);

      child.kill(signal);

      expect(await exited(child)).toEqual({ code: 0, signal: null });
      expect(text()).toContain(`${signal}: stopping the local cloud...`);
      expect(text()).toContain('Stopped.');
      await expectCleanlyStopped(state);
    },
    40_000,
  );

  it('when its parent dies', async () => {
    const parent = spawn(
      process.execPath,
      ['-e', PARENT_SCRIPT, '--', '--import', TSX, join(dir, 'serve.mts'), dir, stateFile],
      { cwd: ROOT, env: PLAIN_ENV },
    );
    children.push(parent);
    const state = await started();
    expect(running(state.pid)).toBe(true);

    parent.kill('SIGKILL');

    await until(() => (running(state.pid) ? undefined : true), 'the orphan to stop');
    await expectCleanlyStopped(state);
  }, 40_000);
});

describe('npm start (devserver/cli.ts)', () => {
  it('exits 2 with the command that was meant when npm took --port', async () => {
    const env = { ...PLAIN_ENV, npm_lifecycle_event: 'start', npm_config_port: '3202' };
    const child = run([join(ROOT, 'devserver/cli.ts'), '--no-synth'], env);
    const text = output(child);

    expect((await exited(child)).code).toBe(2);
    expect(text()).toContain('did you mean: npm start -- --port 3202 --no-synth?');
    expect(text()).not.toContain('Usage:');
  }, 30_000);

  it('exits 1 with one message, no stack, when the port is taken', async () => {
    const server = createServer();
    blockers.push(server);
    const port = await new Promise<number>((done) =>
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        done(typeof address === 'object' && address ? address.port : 0);
      }),
    );
    const child = spawn(
      process.execPath,
      [
        '--import',
        TSX,
        join(ROOT, 'devserver/cli.ts'),
        ...['--no-synth', '--assembly', SMALL, '--port', String(port), '--aws-port', '0'],
      ],
      { cwd: dir, env: PLAIN_ENV },
    );
    children.push(child);
    const text = output(child);

    expect((await exited(child)).code).toBe(1);
    expect(text()).toBe(
      `The local cloud could not start: port ${port} (the API) is already in use by another process; stop it, or pass --port 0 to pick a free port\n`,
    );
  }, 30_000);
});
