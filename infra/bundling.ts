/**
 * How a function's bundle is built: one set of esbuild options, used by
 * `cdk synth` (each function's asset) and by `eventjobs dev` (the same
 * bundles rebuilt incrementally on save), so what runs locally is what
 * deploys.
 *
 * The handlers are TypeScript sources shipped in the package
 * (`functions/<dir>/handler.ts`); the ones that run job code import
 * `@eventjobs/app-jobs`, which is not a package: the alias below points it at
 * the app's own job types module.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

/** The package root: where `functions/` and `core/` live (one level up from `infra/` and `dist/`). */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The module specifier the handlers import the app's job types from. */
export const APP_JOBS_MODULE = '@eventjobs/app-jobs';

/** Resource metadata that tells `eventjobs dev` how to rebuild a function's bundle: `{ dir, jobTypesEntry? }`. */
export const BUNDLE_METADATA_KEY = 'eventjobs:bundle';

/** The file name of a bundle; the handler setting is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';

/** The package the bundles replace, and what replaces it. */
const SDK_CREDENTIAL_CHAIN = '@aws-sdk/credential-provider-node';
const SDK_CREDENTIAL_CHAIN_SUBSTITUTE = 'functions/shared/sdk-credentials.ts';

/** The Node built-ins the bundles import, each read through `functions/node-builtins/` (see its README). */
const NODE_BUILTINS = [
  'async_hooks',
  'console',
  'crypto',
  'dns',
  'fs',
  'fs/promises',
  'http',
  'https',
  'net',
  'os',
  'path',
  'process',
  'stream',
  'zlib',
] as const;

/** One function's bundle: its handler folder and, for the functions that run job code, the app's types. */
export interface BundleSpec {
  /** The folder under `functions/` that holds its `handler.ts`, e.g. `worker` or `stream/recorder`. */
  readonly dir: string;
  /** Absolute path of the app's job types module, for the functions that import `@eventjobs/app-jobs`. */
  readonly jobTypesEntry?: string;
}

/** The handler source of a function folder. */
export function handlerEntry(dir: string): string {
  return path.join(PACKAGE_ROOT, 'functions', dir, 'handler.ts');
}

/**
 * esbuild's options for one function's bundle, written to `outdir/index.mjs`.
 *
 * Each bundle is held to 500 KB and 150 ms of cold init (`npm run bench:bundles`);
 * the AWS SDK clients are most of both, hence a credential chain of the
 * environment alone and built-ins without ES module facades.
 */
export function bundleOptions(spec: BundleSpec, outdir: string): BuildOptions {
  const alias: Record<string, string> = {
    [SDK_CREDENTIAL_CHAIN]: path.join(PACKAGE_ROOT, SDK_CREDENTIAL_CHAIN_SUBSTITUTE),
  };
  for (const name of NODE_BUILTINS) {
    alias[`node:${name}`] = path.join(
      PACKAGE_ROOT,
      'functions',
      'node-builtins',
      `${name.replace('/', '-')}.cjs`,
    );
  }
  if (spec.jobTypesEntry !== undefined) alias[APP_JOBS_MODULE] = spec.jobTypesEntry;
  return {
    entryPoints: { index: handlerEntry(spec.dir) },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    // Node 20 syntax, so the same bundle runs on Lambda and on the local cloud.
    target: 'node20',
    mainFields: ['module', 'main'],
    minify: true,
    // Error class names are part of what callers see (`error.name`); minifying must keep them.
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    alias,
    // Bundle the AWS SDK too: the runtime's SDK version is not the one tested, and the
    // local cloud has none at all.
    external: [],
    logLevel: 'silent',
    metafile: true,
    // No `require` banner (`createRequire` from node:module, a millisecond or two of every
    // cold start): no bundled dependency calls `require` for a Node built-in today. One that
    // did would make esbuild emit its "Dynamic require of ... is not supported" shim, which
    // test/infra/async-jobs.test.ts looks for; give such a bundle the banner back then.
  };
}

/** A job types entry as the construct takes it: relative to the app's directory, or absolute. */
export function resolveEntry(entry: string, cwd = process.cwd()): string {
  return path.resolve(cwd, entry);
}

/** Whether the package's handler sources are present (they are not in a package built without them). */
export function handlerExists(dir: string): boolean {
  return existsSync(handlerEntry(dir));
}
