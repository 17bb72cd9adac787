/**
 * Starts one local cloud for the whole end-to-end project, from an assembly
 * synthesized with a short worker timeout so the timeout path is quick to reach.
 * With EVENTJOBS_API_URL set, it starts nothing and the suite runs against that
 * deployed stack instead.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalCloud } from '../../local/cloud';
import { deployedTargetFromEnv, type E2eTarget } from './target';

const ROOT = resolve(import.meta.dirname, '../..');
const ASSEMBLY = resolve(ROOT, '.vitest/cdk.out.e2e');
const WORKER_TIMEOUT_SECONDS = 6;

export default async function setup(
  project: TestProject,
): Promise<(() => Promise<void>) | undefined> {
  const deployed = deployedTargetFromEnv();
  if (deployed) {
    project.provide('e2e', deployed);
    return undefined;
  }

  const synth = spawnSync(
    'npx',
    [
      'cdk',
      'synth',
      '--quiet',
      '--output',
      ASSEMBLY,
      '--context',
      `workerTimeoutSeconds=${WORKER_TIMEOUT_SECONDS}`,
      '--context',
      'workerRetryAttempts=1',
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' } },
  );
  if (synth.status !== 0) {
    throw new Error(`cdk synth for the e2e stack failed:\n${synth.stdout}\n${synth.stderr}`);
  }

  const cloud = await startLocalCloud({
    assemblyDir: ASSEMBLY,
    apiPort: 0,
    awsPort: 0,
    quiet: true,
    logsDir: resolve(ROOT, '.vitest/e2e-logs'),
    // Lambda's 1- and 2-minute retry backoffs become 0.6 and 1.2 s.
    timeScale: 0.01,
    dynamodbEndpoint: process.env.EVENTJOBS_E2E_DYNAMODB_ENDPOINT,
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
    workerTimeoutSeconds: WORKER_TIMEOUT_SECONDS,
  };
  project.provide('e2e', target);
  return async () => {
    await cloud.stop();
  };
}
