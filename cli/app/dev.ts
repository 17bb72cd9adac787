/**
 * `eventjobs dev`: synthesizes the app in the current folder (with visible
 * progress), serves it on the local cloud with the same banner as
 * `npm start`, and watches the app's files:
 * - a file that the job-running functions bundle (the job types module and
 *   whatever it imports) is rebuilt incrementally and swapped in: the next
 *   invocation runs the new code, running ones finish on the old;
 * - any other source file of the app (the CDK app, cdk.json, package.json)
 *   means a full re-synth and a restart of the local cloud on the same ports.
 * Tests, docs and build output are ignored.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type FSWatcher, watch } from 'chokidar';
import picomatch from 'picomatch';
import { type ServedCloud, serveLocalCloud } from '../../devserver/serve';
import {
  NpmSwallowedOptionsError,
  npmSwallowedOptions,
  SERVE_OPTIONS,
  serveArgsFromValues,
  serveUsage,
} from '../../devserver/serve-args';
import type { ExampleJob } from '../../devserver/serve-messages';
import { BUNDLE_METADATA_KEY } from '../../infra/bundling';
import { inspectJobTypesModuleAsync } from '../../infra/job-types';
import type { RunningLocalCloud } from '../../local/cloud';
import { isStale } from '../../local/freshness';
import { AppCommandError } from './errors';
import { BundleReloader, type ReloadableFunction } from './reloader';
import { synthWithProgress } from './synth';
import { jobTypesEntries } from './types';

const DEV_OPTIONS = {
  ...SERVE_OPTIONS,
  context: { type: 'string', multiple: true },
} as const;

const USAGE = serveUsage({
  command: 'eventjobs dev [options]',
  options: [['--context KEY=VALUE', 'CDK context for the synth (cdk synth -c); repeatable']],
});

/** Edits arrive as bursts of events (write, rename, chmod); one reload per burst. */
const SETTLE_MS = 40;

/** Folders whose files are never the app's sources. */
const IGNORED_DIRS = new Set([
  'node_modules',
  '.git',
  'cdk.out',
  '.eventjobs',
  'dist',
  '.vitest',
  'coverage',
  'test-results',
  '.bench',
]);
const SOURCE_FILE = /\.(ts|mts|cts|js|mjs|cjs|json)$/;
const TEST_FILE = /(^|\/)(test|tests|__tests__)\/|\.(test|spec)\.[cm]?[jt]s$/;

/**
 * Which changed files mean the CDK app changed: cdk.json's own `watch`
 * settings (what `cdk watch` uses) where the app has them, else any source
 * file that is not a test; cdk.json and package.json always.
 */
export function appSourceMatcher(root: string): (relative: string) => boolean {
  let watchSettings: { include?: string | string[]; exclude?: string | string[] } | undefined;
  try {
    watchSettings = (
      JSON.parse(readFileSync(path.join(root, 'cdk.json'), 'utf8')) as {
        watch?: typeof watchSettings;
      }
    ).watch;
  } catch {
    watchSettings = undefined;
  }
  const always = (relative: string) => relative === 'cdk.json' || relative === 'package.json';
  if (!watchSettings?.include) {
    return (relative) =>
      always(relative) || (SOURCE_FILE.test(relative) && !TEST_FILE.test(relative));
  }
  const include = picomatch(watchSettings.include, { dot: true });
  const excludes = [watchSettings.exclude ?? []].flat();
  // `cdk watch` excludes a folder by its name alone (e.g. "test"): match it and what is under it.
  const exclude = picomatch([...excludes, ...excludes.map((glob) => `${glob}/**`)], { dot: true });
  return (relative) => always(relative) || (include(relative) && !exclude(relative));
}

export async function runDev(argv: string[]): Promise<number> {
  const startedAt = performance.now();
  const swallowed = npmSwallowedOptions(argv, process.env, DEV_OPTIONS);
  if (swallowed) throw new NpmSwallowedOptionsError(swallowed);
  let values: ReturnType<typeof parseArgs<{ options: typeof DEV_OPTIONS; strict: true }>>['values'];
  let context: Record<string, string>;
  try {
    ({ values } = parseArgs({ args: argv, options: DEV_OPTIONS, strict: true }));
    context = parseContext(values.context ?? []);
  } catch (error) {
    throw new AppCommandError(`${(error as Error).message}\n\n${USAGE}`, undefined, {
      exitCode: 2,
    });
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let args: ReturnType<typeof serveArgsFromValues>;
  try {
    args = serveArgsFromValues(values);
  } catch (error) {
    throw new AppCommandError(`${(error as Error).message}\n\n${USAGE}`, undefined, {
      exitCode: 2,
    });
  }
  const root = process.cwd();
  if (!existsSync(path.join(root, 'cdk.json'))) {
    throw new AppCommandError(
      `no cdk.json in ${root}: eventjobs dev runs the CDK app of the current folder`,
      'cd into your app, or create one with `npx eventjobs init my-app`',
      { exitCode: 2 },
    );
  }
  const assemblyDir = path.resolve(root, args.assembly);
  const write = (line: string) => process.stdout.write(`${line}\n`);

  let synthMs = 0;
  if (!args.noSynth && needsSynth(root, assemblyDir, context)) {
    write('eventjobs dev: synthesizing the app');
    synthMs = await synthWithProgress({ root, assemblyDir, context, write });
    recordSynth(root, assemblyDir, context);
  }
  const served = await serveLocalCloud({
    args,
    root,
    assemblyDir,
    startedAt,
    synthMs,
    exampleJob: await exampleJob(assemblyDir, root),
  });
  const session = new DevSession({ root, assemblyDir, context, served, write });
  await session.start();
  await served.stopped;
  await session.close();
  return 0;
}

export function parseContext(pairs: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--context takes KEY=VALUE, got "${pair}"`);
    context[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return context;
}

/** What the last dev synth used, so a restart with the same context can skip it. */
const SYNTH_RECORD = '.eventjobs/dev-synth.json';

function needsSynth(root: string, assemblyDir: string, context: Record<string, string>): boolean {
  if (isStale(root, assemblyDir)) return true;
  try {
    const last = readFileSync(path.join(root, SYNTH_RECORD), 'utf8');
    return last !== JSON.stringify({ assemblyDir, context });
  } catch {
    return Object.keys(context).length > 0;
  }
}

export function recordSynth(
  root: string,
  assemblyDir: string,
  context: Record<string, string>,
): void {
  const file = path.join(root, SYNTH_RECORD);
  // A new app has no .eventjobs/ yet: the first synth comes before anything else writes there.
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ assemblyDir, context }));
}

/** The banner's example: a job of the app's first type, with an input made from its schema. */
async function exampleJob(assemblyDir: string, root: string): Promise<ExampleJob | undefined> {
  const entry = jobTypesEntries(assemblyDir)[0];
  if (entry === undefined) return undefined;
  const types = await inspectJobTypesModuleAsync(path.resolve(root, entry)).catch(() => []);
  // This repository's reference app: the default example (a five-second sleep) shows progress.
  if (types.some((type) => type.name === 'sleep')) return undefined;
  const first = types.find((type) => type.isJobType && type.name !== undefined);
  if (!first?.name) return undefined;
  return { type: first.name, name: 'hello', input: exampleValue(first.inputSchema) ?? {} };
}

/** A value that a simple JSON Schema accepts: required properties only, with plain sample values. */
export function exampleValue(schema: Record<string, unknown> | undefined): unknown {
  if (!schema) return undefined;
  switch (schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
      return Object.fromEntries(
        required.map((key) => [key, exampleValue(properties[key]) ?? null]),
      );
    }
    case 'string':
      return Array.isArray(schema.enum) ? schema.enum[0] : 'world';
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? Math.max(schema.minimum, 1) : 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    default:
      return undefined;
  }
}

interface DevSessionOptions {
  readonly root: string;
  readonly assemblyDir: string;
  readonly context: Readonly<Record<string, string>>;
  readonly served: ServedCloud;
  readonly write: (line: string) => void;
}

/** The watch-and-reload loop of one `eventjobs dev`. */
class DevSession {
  readonly #options: DevSessionOptions;
  #reloader?: BundleReloader;
  #watcher?: FSWatcher;
  #changed = new Set<string>();
  #timer?: NodeJS.Timeout;
  /** Reloads and re-synths run one after another. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: DevSessionOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const { root, write } = this.#options;
    this.#reloader = await this.#createReloader(this.#options.served.cloud);
    // chokidar, not fs.watch: Node's recursive watch loses files that editors save by
    // renaming a new copy over the old (and `sed -i` does the same).
    const watcher = watch(root, {
      ignoreInitial: true,
      ignored: (file) => this.#ignored(file),
      awaitWriteFinish: false,
    });
    for (const event of ['add', 'change', 'unlink'] as const) {
      watcher.on(event, (file: string) => this.#onChange(path.resolve(root, file)));
    }
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    this.#watcher = watcher;
    write(`eventjobs dev: watching ${root} (job code reloads on save; the CDK app re-synthesizes)`);
  }

  async close(): Promise<void> {
    await this.#watcher?.close();
    clearTimeout(this.#timer);
    await this.#queue;
    await this.#reloader?.dispose();
  }

  #ignored(file: string): boolean {
    const relative = path.relative(this.#options.root, path.resolve(this.#options.root, file));
    if (relative === '') return false;
    if (relative.split(path.sep).some((part) => IGNORED_DIRS.has(part))) return true;
    return path.resolve(this.#options.root, file).startsWith(this.#options.assemblyDir);
  }

  #onChange(file: string): void {
    if (this.#ignored(file)) return;
    this.#changed.add(file);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const files = [...this.#changed];
      this.#changed.clear();
      this.#queue = this.#queue.then(() => this.#handle(files));
    }, SETTLE_MS);
  }

  async #handle(files: string[]): Promise<void> {
    const { write, root } = this.#options;
    const reloader = this.#reloader;
    const bundled = reloader ? files.filter((file) => reloader.covers(file)) : [];
    const isAppSource = appSourceMatcher(root);
    const appSources = files.filter((file) => {
      const relative = path.relative(root, file).split(path.sep).join('/');
      return !bundled.includes(file) && isAppSource(relative) && existsSync(file);
    });
    try {
      if (appSources.length > 0) {
        await this.#resynth(appSources);
      } else if (bundled.length > 0 && reloader) {
        const report = await reloader.reload(bundled);
        if (report) {
          write(
            `eventjobs dev: reloaded ${report.functions.join(', ')} in ${Math.round(report.durationMs)} ms ` +
              `(${report.files.join(', ')})`,
          );
        }
      }
    } catch (error) {
      write(
        `eventjobs dev: ${(error as Error).message}\n  still running the previous code; save again to retry`,
      );
    }
  }

  async #resynth(files: string[]): Promise<void> {
    const { root, assemblyDir, context, served, write } = this.#options;
    const names = files.map((file) => path.relative(root, file)).join(', ');
    write(`eventjobs dev: the CDK app changed (${names}); synthesizing again`);
    await synthWithProgress({ root, assemblyDir, context, write });
    recordSynth(root, assemblyDir, context);
    await this.#reloader?.dispose();
    this.#reloader = undefined;
    const cloud = await served.restart(assemblyDir);
    this.#reloader = await this.#createReloader(cloud);
  }

  async #createReloader(cloud: RunningLocalCloud): Promise<BundleReloader> {
    const { root, assemblyDir } = this.#options;
    const lambda = cloud.services.lambda;
    return BundleReloader.create({
      appRoot: root,
      devDir: path.join(root, '.eventjobs', 'dev'),
      functions: reloadableFunctions(assemblyDir, cloud, root),
      swap: (functionName, codeDir) => lambda.updateFunctionCode(functionName, codeDir),
    });
  }
}

interface TemplateResource {
  readonly Type?: string;
  readonly Metadata?: Record<string, unknown>;
}

/** The functions of the served stack that bundle the app's job types. */
function reloadableFunctions(
  assemblyDir: string,
  cloud: RunningLocalCloud,
  root: string,
): ReloadableFunction[] {
  const manifest = JSON.parse(readFileSync(path.join(assemblyDir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { properties?: { templateFile?: string; stackName?: string } }>;
  };
  const artifact = Object.entries(manifest.artifacts ?? {}).find(
    ([id, a]) => (a.properties?.stackName ?? id) === cloud.stackName,
  );
  const templateFile = artifact?.[1].properties?.templateFile ?? `${cloud.stackName}.template.json`;
  const template = JSON.parse(readFileSync(path.join(assemblyDir, templateFile), 'utf8')) as {
    Resources?: Record<string, TemplateResource>;
  };
  const names = new Map(cloud.services.lambda.functionList().map((fn) => [fn.logicalId, fn.name]));
  const functions: ReloadableFunction[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const bundle = resource.Metadata?.[BUNDLE_METADATA_KEY] as
      | { dir?: string; jobTypesEntry?: string }
      | undefined;
    const functionName = names.get(logicalId);
    if (!bundle?.dir || !bundle.jobTypesEntry || functionName === undefined) continue;
    const cdkPath = resource.Metadata?.['aws:cdk:path'];
    const label =
      typeof cdkPath === 'string' ? (cdkPath.split('/').at(-2) ?? logicalId) : logicalId;
    functions.push({
      logicalId,
      label,
      functionName,
      dir: bundle.dir,
      jobTypesEntry: path.resolve(root, bundle.jobTypesEntry),
    });
  }
  return functions;
}
