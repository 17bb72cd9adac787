/**
 * `cdk synth` before serving an assembly, only when it is missing or older
 * than the app's sources (`npm start`, `npm run demo`); cdk's own output goes
 * to the terminal.
 */
import { isStale, synthesize } from '../local/freshness';

/** What `synthesizeWhenStale` did: how long it took (0 when the assembly was fresh), or how it failed. */
export type StaleSynthOutcome =
  | { readonly ok: true; readonly ms: number }
  | { readonly ok: false; readonly signal: NodeJS.Signals | null };

/**
 * Synthesizes the app in `root` into `assemblyDir` if it is stale, after
 * printing `announce`; never when told to `skip` it (`--no-synth`).
 */
export function synthesizeWhenStale(
  root: string,
  assemblyDir: string,
  options: { readonly skip: boolean; readonly announce: string },
): StaleSynthOutcome {
  if (options.skip || !isStale(root, assemblyDir)) return { ok: true, ms: 0 };
  process.stdout.write(`${options.announce}\n`);
  const started = performance.now();
  const synth = synthesize(root, assemblyDir, { inherit: true });
  if (synth.status !== 0) return { ok: false, signal: synth.signal };
  return { ok: true, ms: performance.now() - started };
}
