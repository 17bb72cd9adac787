/**
 * The noisy-neighbour scenario's cloud assembly: the e2e suite's context
 * (`test/e2e/assembly.ts`) plus fair-share limits pinned here, so the load is
 * sized against numbers this file states rather than against defaults that
 * may move. The 1,000-job chaos run and the SIGKILL run keep the e2e assembly:
 * a queue limit this small would refuse part of their load.
 */
import { resolve } from 'node:path';
import { isStale, synthesize } from '../../local/freshness';
import { E2E_CONTEXT } from '../e2e/assembly';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * - `ownerConcurrency=10`: the documented default, pinned.
 * - `maxQueuedPerOwner=25`: alice's flood reaches `429 QueueFull` within seconds
 *   (the default, 1,000, would take minutes of 4 s jobs to drain).
 * - `typeConcurrency={"sleep":20}`: a per-type key, so the counters checked after
 *   the run include one of each kind (owner, type, stack-wide); 20 is above
 *   alice's 10, so it never holds bob back.
 * The stack-wide key is the e2e context's `workerReservedConcurrency`, 50.
 */
export const CHAOS_LIMITS = {
  ownerConcurrency: 10,
  maxQueuedPerOwner: 25,
  typeConcurrency: { sleep: 20 },
} as const;

export const CHAOS_CONTEXT: Readonly<Record<string, string>> = {
  ...E2E_CONTEXT,
  ownerConcurrency: String(CHAOS_LIMITS.ownerConcurrency),
  maxQueuedPerOwner: String(CHAOS_LIMITS.maxQueuedPerOwner),
  typeConcurrency: JSON.stringify(CHAOS_LIMITS.typeConcurrency),
};

/** Named after its context, so a change to it synthesizes again. */
export const CHAOS_ASSEMBLY = resolve(
  ROOT,
  `.vitest/cdk.out.chaos-${Object.values(CHAOS_CONTEXT)
    .join('-')
    .replace(/[^A-Za-z0-9-]/g, '')}`,
);

/** Synthesizes the assembly when it is missing or older than the sources (about 10 s). */
export function ensureChaosAssembly(): string {
  if (!isStale(ROOT, CHAOS_ASSEMBLY)) return CHAOS_ASSEMBLY;
  process.stdout.write(`Synthesizing ${CHAOS_ASSEMBLY}\n`);
  const synth = synthesize(ROOT, CHAOS_ASSEMBLY, { context: CHAOS_CONTEXT });
  if (synth.status !== 0) {
    throw new Error(`cdk synth for the chaos run's noisy-neighbour stack failed:\n${synth.output}`);
  }
  return CHAOS_ASSEMBLY;
}
