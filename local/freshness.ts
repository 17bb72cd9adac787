import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What `cdk synth` reads: if any of it is newer than the assembly, synthesize again. */
export const SOURCES = [
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
