/**
 * Starts one local cloud per end-to-end project, from an assembly synthesized
 * with a short worker timeout so the timeout path is quick to reach. The
 * `e2e-dynamodb-endpoint` project runs the same suite with the local cloud
 * pointed at a separate DynamoDB-compatible server (`--dynamodb-endpoint`).
 * With EVENTJOBS_API_URL set, nothing starts and the suite runs against that
 * deployed stack instead.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalCloud } from '../../local/cloud';
import { isStale } from '../../local/freshness';
import { deployedTargetFromEnv, type E2eTarget } from './target';

const ROOT = resolve(import.meta.dirname, '../..');
// The directory names the context it was synthesized with, so a change of context re-synthesizes.
const ASSEMBLY = resolve(ROOT, '.vitest/cdk.out.e2e-timeout6-retries0');
export const E2E_WORKER_TIMEOUT_SECONDS = 6;

export default async function setup(
  project: TestProject,
): Promise<(() => Promise<void>) | undefined> {
  const deployed = deployedTargetFromEnv();
  if (deployed) {
    project.provide('e2e', deployed);
    return undefined;
  }

  await ensureAssembly();
  const external =
    project.name === 'e2e-dynamodb-endpoint' ? await startExternalDynamoDb() : undefined;

  const cloud = await startLocalCloud({
    assemblyDir: ASSEMBLY,
    apiPort: 0,
    awsPort: 0,
    quiet: true,
    logsDir: resolve(ROOT, `.vitest/logs-${project.name}`),
    // Lambda's 1- and 2-minute retry backoffs become 0.6 and 1.2 s.
    timeScale: 0.01,
    dynamodbEndpoint: external?.endpoint,
  });
  const [alice, bob] = cloud.users;
  if (!alice || !bob) throw new Error('The local cloud has fewer than two identities');
  const target: E2eTarget = {
    kind: 'local',
    apiUrl: cloud.apiUrl,
    region: cloud.region,
    tableName: cloud.outputs.TableName ?? '',
    awsEndpoint: cloud.awsEndpoint,
    tableReader: alice,
    alice: { ...alice, owner: alice.arn },
    bob: { ...bob, owner: bob.arn },
    workerTimeoutSeconds: E2E_WORKER_TIMEOUT_SECONDS,
  };
  project.provide('e2e', target);
  return async () => {
    await cloud.stop();
    external?.process.kill('SIGTERM');
  };
}

/** Synthesizes the e2e assembly once, even when several projects set up at the same time. */
async function ensureAssembly(): Promise<void> {
  const lock = `${ASSEMBLY}.lock`;
  const deadline = Date.now() + 300_000;
  mkdirSync(resolve(ROOT, '.vitest'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a run that was killed is older than any synth takes.
      const lockedAt = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - lockedAt > 300_000) {
        rmSync(lock, { recursive: true, force: true });
      }
      if (Date.now() > deadline) throw new Error(`Gave up waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (!isStale(ROOT, ASSEMBLY)) return;
    const synth = spawnSync(
      'npx',
      [
        'cdk',
        'synth',
        '--quiet',
        '--output',
        ASSEMBLY,
        '--context',
        `workerTimeoutSeconds=${E2E_WORKER_TIMEOUT_SECONDS}`,
        '--context',
        'workerRetryAttempts=0',
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' } },
    );
    if (synth.status !== 0) {
      throw new Error(`cdk synth for the e2e stack failed:\n${synth.stdout}\n${synth.stderr}`);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** A separate DynamoDB-compatible server in its own process: dynalite's own CLI. */
async function startExternalDynamoDb(): Promise<{ endpoint: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      resolve(ROOT, 'node_modules/dynalite/cli.js'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--createTableMs',
      '0',
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null) throw new Error(`dynalite exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('dynalite did not start listening');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint: `http://127.0.0.1:${port}`, process: child };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (!address || typeof address === 'string') throw new Error('No port');
  return address.port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((r) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      r(true);
    });
    socket.once('error', () => r(false));
    socket.connect(port, '127.0.0.1');
  });
}
