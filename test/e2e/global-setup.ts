/**
 * Starts one local cloud per end-to-end project, from an assembly synthesized
 * with a short worker timeout so the timeout path is quick to reach. The
 * `e2e-dynamodb-endpoint` project runs the same suite with the local cloud
 * pointed at a separate DynamoDB-compatible server (`--dynamodb-endpoint`).
 * With EVENTJOBS_API_URL set, nothing starts and the suite runs against that
 * deployed stack instead.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalCloud } from '../../src/local';
import { E2E_ASSEMBLY, E2E_WORKER_TIMEOUT_SECONDS, ensureE2eAssembly } from './assembly';
import { deployedTargetFromEnv, type E2eTarget } from './target';

const ROOT = resolve(import.meta.dirname, '../..');

export default async function setup(
  project: TestProject,
): Promise<(() => Promise<void>) | undefined> {
  const deployed = deployedTargetFromEnv();
  if (deployed) {
    project.provide('e2e', deployed);
    return undefined;
  }

  await ensureE2eAssembly();
  const external =
    project.name === 'e2e-dynamodb-endpoint' ? await startExternalDynamoDb() : undefined;

  const cloud = await startLocalCloud({
    assemblyDir: E2E_ASSEMBLY,
    apiPort: 0,
    awsPort: 0,
    quiet: true,
    logsDir: resolve(ROOT, `.vitest/logs-${project.name}`),
    // Lambda's 1- and 2-minute retry backoffs become 0.6 and 1.2 s.
    timeScale: 0.01,
    // The sweeper's once-a-minute schedule every 3 s: often enough for its tests, and
    // not so often that overlapping sweeps crowd out everything else.
    scheduleScale: 0.05,
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
    // The stack has one secret: the webhook signing secret (a local setting here).
    webhookSecret: Object.values(cloud.services.secretsManager.values())[0],
    outcomeQueueUrl: cloud.outputs.OutcomeQueueUrl ?? '',
  };
  project.provide('e2e', target);
  return async () => {
    await cloud.stop();
    external?.process.kill('SIGTERM');
  };
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
