/**
 * `npm start`: parses the options, synthesizes the app when `cdk.out` is
 * missing or older than the sources, then serves the local cloud until
 * Ctrl-C (`serve.ts` does the serving, shared with `eventjobs dev`).
 */
import { resolve } from 'node:path';
import { runMain } from '../cli/run-main';
import { isStale, synthesize } from '../local/freshness';
import { ServeError, serveLocalCloud } from './serve';
import { NpmSwallowedOptionsError, parseServeArgs, type ServeArgs, USAGE } from './serve-args';

async function main(argv: string[]): Promise<number> {
  const startedAt = performance.now();
  let args: ServeArgs;
  try {
    args = parseServeArgs(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // npm's own mistake needs the corrected command, not the whole usage.
    const usage = error instanceof NpmSwallowedOptionsError ? '' : `\n${USAGE}\n`;
    process.stderr.write(`${message}\n${usage}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const root = process.cwd();
  const assemblyDir = resolve(root, args.assembly);
  let synthMs = 0;
  if (!args.noSynth && isStale(root, assemblyDir)) {
    process.stdout.write(
      'Synthesizing the app (cdk.out is missing or older than the sources)...\n',
    );
    const synthStart = performance.now();
    const synth = synthesize(root, assemblyDir, { inherit: true });
    if (synth.status !== 0) {
      process.stderr.write('cdk synth failed; fix the error above and start again.\n');
      return 1;
    }
    synthMs = performance.now() - synthStart;
  }

  const served = await serveLocalCloud({ args, root, assemblyDir, startedAt, synthMs });
  await served.stopped;
  return 0;
}

// A start failure (a taken port, a bad template) is said in one message, without a stack.
void runMain(main, { expected: [ServeError] });
