/**
 * Benchmark part 4 (issue 6): each function's bundle size and cold init time,
 * against a naive build of the same code.
 *
 * - Shipped: the `index.mjs` assets of a fresh `cdk synth` (what `cdk deploy`
 *   uploads: ESM, minified, the AWS SDK bundled).
 * - Naive: the same handler built as CommonJS, not minified, with every
 *   package left to `node_modules` (the SDK is loaded from there at init).
 * - Init: the time to import the bundle in a fresh `node` process (the module
 *   graph plus the handler's top-level code), median of `--runs` (default 10).
 *   A fresh process per run, so the OS file cache is warm but nothing else is.
 *
 * Prints a table and merges `bundles` into bench/results.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { isEntryPoint, runMain } from '../cli/run-main';
import { EnvVar } from '../core/config';
import { BUNDLE_METADATA_KEY, handlerEntry } from '../infra/bundling';
import { synthesize } from '../local/freshness';

const ROOT = resolve(import.meta.dirname, '..');
const RESULTS = join(ROOT, 'bench/results.json');

interface FunctionBundle {
  /** The construct id, e.g. `Worker`. */
  readonly name: string;
  /** The handler's source, e.g. `functions/worker/handler.ts`. */
  readonly entry: string;
  /** The shipped bundle (`index.mjs` of its asset). */
  readonly shipped: string;
}

export interface BundleFigures {
  readonly name: string;
  readonly shippedBytes: number;
  readonly shippedInitMs: number;
  readonly naiveBytes: number;
  readonly naiveInitMs: number;
}

/** Environment every handler reads at init; the values only need to be well-formed. */
function handlerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIABENCHMARK0000000',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  for (const name of Object.values(EnvVar)) env[name] = '1';
  env[EnvVar.OwnerModel] = 'principal';
  env[EnvVar.TypeConcurrency] = '{}';
  env[EnvVar.WebhookSecretArn] =
    'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-AbCdEf';
  env[EnvVar.StreamCallbackUrl] = 'https://example.execute-api.us-east-1.amazonaws.com/live';
  env[EnvVar.LocalCloud] = 'false';
  return env;
}

/** The functions of a synthesized template, with their handler sources. */
function shippedFunctions(assemblyDir: string): FunctionBundle[] {
  const template = JSON.parse(
    readFileSync(join(assemblyDir, 'EventJobs.template.json'), 'utf8'),
  ) as {
    Resources: Record<string, { Type: string; Metadata?: Record<string, unknown> }>;
  };
  const bundles: FunctionBundle[] = [];
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const cdkPath = String(resource.Metadata?.['aws:cdk:path'] ?? '');
    const asset = String(resource.Metadata?.['aws:asset:path'] ?? '');
    // What the construct built the bundle from (infra/lambda-function.ts).
    const bundle = resource.Metadata?.[BUNDLE_METADATA_KEY] as { dir?: string } | undefined;
    const name = cdkPath.split('/').at(-2) ?? cdkPath;
    if (!bundle?.dir) throw new Error(`${cdkPath} has no ${BUNDLE_METADATA_KEY} metadata`);
    bundles.push({
      name,
      entry: handlerEntry(bundle.dir),
      shipped: join(assemblyDir, asset, 'index.mjs'),
    });
  }
  return bundles.sort((a, b) => a.name.localeCompare(b.name));
}

/** Median milliseconds to import `file` in a fresh node process. */
function medianInitMs(file: string, runs: number, cjs: boolean): number {
  const load = cjs ? `require(${JSON.stringify(file)})` : `await import(${JSON.stringify(file)})`;
  const script = `const t=performance.now();${load};process.stdout.write(String(performance.now()-t));`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const result = spawnSync(
      process.execPath,
      cjs ? ['-e', script] : ['--input-type=module', '-e', script],
      { cwd: ROOT, env: handlerEnv(), encoding: 'utf8' },
    );
    if (result.status !== 0) {
      throw new Error(`Importing ${file} failed:\n${result.stderr}`);
    }
    times.push(Number(result.stdout));
  }
  times.sort((a, b) => a - b);
  const mid = Math.floor(times.length / 2);
  return times.length % 2 ? (times[mid] ?? 0) : ((times[mid - 1] ?? 0) + (times[mid] ?? 0)) / 2;
}

/** The naive build: CommonJS, not minified, packages from node_modules. */
async function naiveBuild(entry: string, outFile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: false,
    packages: 'external',
    logLevel: 'warning',
  });
}

/**
 * CDK context for every assembly the benchmark runs: the API stage's throttle
 * at API Gateway's account-level default (10,000 requests per second, bursts of
 * 5,000) instead of the stack's protective 50 / 100, so that the benchmark
 * measures the system rather than the limit.
 */
export const BENCH_CONTEXT: Readonly<Record<string, string>> = {
  apiRateLimit: '10000',
  apiBurstLimit: '5000',
  // One identity sends every job: its own share must not be what is measured. The
  // stack-wide limit (the worker's reserved concurrency) and the queue stay on.
  ownerConcurrency: '1000',
  maxQueuedPerOwner: '20000',
};

export async function benchBundles(options: {
  readonly runs: number;
  readonly log: (line: string) => void;
}): Promise<BundleFigures[]> {
  const assemblyDir = join(ROOT, '.bench/cdk.out');
  options.log('Synthesizing the app (the shipped bundles)...');
  const synth = synthesize(ROOT, assemblyDir, { context: BENCH_CONTEXT });
  if (synth.status !== 0) throw new Error(`cdk synth failed:\n${synth.output}`);

  // Inside the repository, so the naive bundles resolve packages from its node_modules.
  const naiveDir = join(ROOT, '.bench/naive');
  rmSync(naiveDir, { recursive: true, force: true });
  mkdirSync(naiveDir, { recursive: true });

  const figures: BundleFigures[] = [];
  for (const fn of shippedFunctions(assemblyDir)) {
    const naive = join(naiveDir, `${fn.name}.cjs`);
    await naiveBuild(fn.entry, naive);
    const row: BundleFigures = {
      name: fn.name,
      shippedBytes: statSync(fn.shipped).size,
      shippedInitMs: medianInitMs(fn.shipped, options.runs, false),
      naiveBytes: statSync(naive).size,
      naiveInitMs: medianInitMs(naive, options.runs, true),
    };
    options.log(
      `  ${row.name.padEnd(12)} shipped ${kb(row.shippedBytes)} ${ms(row.shippedInitMs)}   naive ${kb(row.naiveBytes)} ${ms(row.naiveInitMs)}`,
    );
    figures.push(row);
  }
  return figures;
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(0).padStart(5)} KB`;
}

function ms(value: number): string {
  return `${value.toFixed(1).padStart(7)} ms`;
}

/** Merges one section into bench/results.json. */
export function writeResults(section: string, value: unknown): void {
  let results: Record<string, unknown> = {};
  try {
    results = JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown>;
  } catch {
    // A first run: no file yet.
  }
  results[section] = value;
  results.measuredAt = new Date().toISOString();
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { runs: { type: 'string', default: '10' }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    process.stdout.write('Usage: npm run bench:bundles -- [--runs N]\n');
    return 0;
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
    process.stderr.write(`--runs must be a whole number from 1 to 100, got "${values.runs}"\n`);
    return 2;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`Function bundles: size and median init of ${runs} fresh imports (node ${process.version})`);
  const figures = await benchBundles({ runs, log });
  // Issue 17: each function at most 500 KB with a median cold init of at most 150 ms.
  const target = { maxBytes: 500 * 1024, maxInitMs: 150 };
  const over = figures.filter(
    (f) => f.shippedBytes > target.maxBytes || f.shippedInitMs > target.maxInitMs,
  );
  log(
    over.length === 0
      ? 'Every shipped bundle meets the target (at most 500 KB, median init at most 150 ms).'
      : `Over the target (500 KB, 150 ms): ${over.map((f) => f.name).join(', ')}`,
  );
  writeResults('bundles', { target, functions: figures });
  log(`Written to ${RESULTS}`);
  return 0;
}

if (isEntryPoint(import.meta)) void runMain(main);
