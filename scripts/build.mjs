#!/usr/bin/env node
// Builds the package's JavaScript into dist/: one ESM file per public entry
// point (eventjobs, eventjobs/cdk, eventjobs/testing, eventjobs/local and the
// `eventjobs` bin), shared code split into chunks, dependencies left as
// imports. With --types it also writes the type declarations (dist/types/),
// which `npm pack` needs and the tests do not.
//
// The Lambda handlers are not built here: they ship as sources and are bundled
// at `cdk synth` together with the app's job types (infra/bundling.ts).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const started = performance.now();

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: {
    index: 'src/index.ts',
    cdk: 'src/cdk.ts',
    testing: 'src/testing.ts',
    local: 'src/local.ts',
    bin: 'src/bin.ts',
  },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  // Chunks beside the entry points: code that finds the package root as `..` works from any of them.
  chunkNames: '[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // The reference app's types are not part of the package.
  external: ['@eventjobs/app-jobs'],
  keepNames: true,
  logLevel: 'warning',
});
// Loaded by path at run time (local/lambda/environment.ts), next to the code that loads it.
copyFileSync('local/lambda/worker-runtime.mjs', 'dist/worker-runtime.mjs');

// The dashboard page (dashboard/assets.ts reads dist/dashboard/), bundled as
// dashboard/assets.ts's PAGE_BUILD bundles it when run from the sources.
mkdirSync('dist/dashboard', { recursive: true });
await build({
  entryPoints: ['dashboard/page/main.ts'],
  outfile: 'dist/dashboard/app.js',
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2022',
  legalComments: 'none',
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css']) {
  copyFileSync(`dashboard/page/${file}`, `dist/dashboard/${file}`);
}

if (process.argv.includes('--types')) {
  const tsc = spawnSync(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'],
    { stdio: 'inherit' },
  );
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}
console.log(`built dist/ in ${Math.round(performance.now() - started)} ms`);
