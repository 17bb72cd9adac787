import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What `cdk synth` reads: if any of it is newer than the assembly, synthesize again. */
export const SOURCES = [
  'src',
  'core',
  'infra',
  'functions',
  'cdk.json',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
];

/** True when the assembly is missing or any source file is newer than it. */
export function isStale(root: string, assemblyDir: string): boolean {
  const manifest = join(assemblyDir, 'manifest.json');
  if (!existsSync(manifest)) return true;
  const builtAt = statSync(manifest).mtimeMs;
  return SOURCES.some((source) => newestMtime(join(root, source)) > builtAt);
}

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry.name)));
  }
  return newest;
}

/**
 * Runs `npx cdk synth --quiet --output <assemblyDir>` in `root`, with CDK
 * context given as `-c key=value` pairs. `inherit` shows cdk's own output;
 * otherwise it is captured and returned, for an error message.
 */
export function synthesize(
  root: string,
  assemblyDir: string,
  options: { readonly context?: Readonly<Record<string, string>>; readonly inherit?: boolean } = {},
): {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
} {
  const context = Object.entries(options.context ?? {}).flatMap(([key, value]) => [
    '--context',
    `${key}=${value}`,
  ]);
  const result = spawnSync(
    'npx',
    ['cdk', 'synth', '--quiet', '--output', assemblyDir, ...context],
    {
      cwd: root,
      encoding: 'utf8',
      stdio: options.inherit ? ['ignore', 'inherit', 'inherit'] : 'pipe',
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
    },
  );
  return {
    status: result.status,
    signal: result.signal,
    output: options.inherit ? '' : `${result.stdout ?? ''}\n${result.stderr ?? ''}`,
  };
}
