/**
 * The cloud assembly the end-to-end suite and the chaos test run: the real app,
 * synthesized with CDK context that makes the slow paths quick to reach. Its
 * directory names that context, so changing it re-synthesizes.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isStale, synthesize } from '../../local/freshness';

const ROOT = resolve(import.meta.dirname, '../..');

/** A 6 s worker timeout, so a hung worker reaches Lambda's timeout quickly. */
export const E2E_WORKER_TIMEOUT_SECONDS = 6;

/**
 * - `workerRetryAttempts=0`: a failed invocation goes straight to the failure destination.
 * - `workerReservedConcurrency=50`: 50 of the local account's 1,000 (as AWS's), and also
 *   the stack's limit of runs at once; jobs beyond it are queued by eventjobs.
 * - `sweeperStartWindowSeconds=120`: a run whose invocation was lost (a local cloud killed
 *   with SIGKILL loses its queued invocations) is ended two minutes after its creation.
 * - `apiRateLimit=500`, `apiBurstLimit=1000`: the suite's files run in parallel and the
 *   bad-input corpus alone sends about 280 requests in a few seconds; the stage's default
 *   (50 per second, bursts of 100) would answer some of them 429 instead of what they test.
 */
export const E2E_CONTEXT: Readonly<Record<string, string>> = {
  workerTimeoutSeconds: String(E2E_WORKER_TIMEOUT_SECONDS),
  workerRetryAttempts: '0',
  workerReservedConcurrency: '50',
  sweeperStartWindowSeconds: '120',
  apiRateLimit: '500',
  apiBurstLimit: '1000',
};

export const E2E_ASSEMBLY = resolve(
  ROOT,
  `.vitest/cdk.out.e2e-${Object.values(E2E_CONTEXT).join('-')}`,
);

/** Synthesizes the e2e assembly once, even when several processes ask at the same time. */
export async function ensureE2eAssembly(): Promise<string> {
  return ensureAssembly(E2E_ASSEMBLY, E2E_CONTEXT);
}

/** The app synthesized into `dir` with `context`, once, however many processes ask at once. */
export async function ensureAssembly(
  dir: string,
  context: Readonly<Record<string, string>>,
): Promise<string> {
  const lock = `${dir}.lock`;
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
    if (!isStale(ROOT, dir)) return dir;
    const synth = synthesize(ROOT, dir, { context });
    if (synth.status !== 0) {
      throw new Error(`cdk synth for the e2e stack failed:\n${synth.output}`);
    }
    return dir;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
