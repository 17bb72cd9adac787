/**
 * `npm start`: parses the options, synthesizes the app when `cdk.out` is
 * missing or older than the sources, then serves the local cloud until
 * Ctrl-C (`serve.ts` does the serving, shared with `eventjobs dev`).
 */
import { resolve } from 'node:path';
import { parseCommandLine, runMain } from '../cli/run-main';
import { ServeError, serveLocalCloud } from './serve';
import { NpmSwallowedOptionsError, parseServeArgs, USAGE } from './serve-args';
import { synthesizeWhenStale } from './stale-synth';

async function main(argv: string[]): Promise<number> {
  const startedAt = performance.now();
  // npm's own mistake needs the corrected command, not the whole usage.
  const args = parseCommandLine(
    argv,
    parseServeArgs,
    USAGE,
    (error) => !(error instanceof NpmSwallowedOptionsError),
  );
  if (typeof args === 'number') return args;

  const root = process.cwd();
  const assemblyDir = resolve(root, args.assembly);
  const synth = synthesizeWhenStale(root, assemblyDir, {
    skip: args.noSynth,
    announce: 'Synthesizing the app (cdk.out is missing or older than the sources)...',
  });
  if (!synth.ok) {
    process.stderr.write('cdk synth failed; fix the error above and start again.\n');
    return 1;
  }

  const synthMs = synth.ms;
  const served = await serveLocalCloud({ args, root, assemblyDir, startedAt, synthMs });
  await served.stopped;
  return 0;
}

// A start failure (a taken port, a bad template) is said in one message, without a stack.
void runMain(main, { expected: [ServeError] });
