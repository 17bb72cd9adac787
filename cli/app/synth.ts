/**
 * `cdk synth` for `eventjobs dev`, with visible progress: the app's own CDK
 * CLI runs it, and each step it reports (each asset bundled) is printed as
 * one line with the time since the synth began.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AppCommandError } from './errors';

export interface SynthOptions {
  readonly root: string;
  readonly assemblyDir: string;
  readonly context: Readonly<Record<string, string>>;
  readonly write: (line: string) => void;
}

/** Runs the synth; resolves with its duration, or throws with cdk's own output. */
export async function synthWithProgress(options: SynthOptions): Promise<number> {
  const cdk = findCdk(options.root);
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1).padStart(5);
  const args = ['synth', '--quiet', '--output', options.assemblyDir];
  for (const [key, value] of Object.entries(options.context))
    args.push('--context', `${key}=${value}`);
  options.write(`${seconds()} s  synth: ${path.basename(cdk)} ${args.join(' ')}`);
  const child = spawn(cdk, args, {
    cwd: options.root,
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let pending = '';
  const onData = (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      output.push(line);
      const step = /^Bundling asset (\S+)\/Code\/Stage\.\.\.$/.exec(line.trim());
      if (step) options.write(`${seconds()} s  bundle ${step[1]}`);
    }
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (pending) output.push(pending);
  if (code !== 0) {
    throw new AppCommandError(
      `cdk synth failed (exit ${code}):\n${output
        .filter((l) => l.trim())
        .slice(-30)
        .join('\n')}`,
      'fix the error above; eventjobs dev synthesizes again when you save',
    );
  }
  const ms = performance.now() - started;
  options.write(`${seconds()} s  synth done`);
  return ms;
}

/** The app's CDK CLI (`aws-cdk`), from its node_modules or a parent's. */
function findCdk(root: string): string {
  let dir = path.resolve(root);
  for (;;) {
    const candidate = path.join(dir, 'node_modules', '.bin', 'cdk');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new AppCommandError(
    'the AWS CDK CLI is not installed in this app',
    'npm install --save-dev aws-cdk',
  );
}
