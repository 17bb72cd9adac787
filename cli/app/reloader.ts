/**
 * The live reload of `eventjobs dev`: the functions that run the app's job
 * code are rebuilt with esbuild's incremental build (the same options as
 * `cdk synth`, infra/bundling.ts) when a file they bundle changes, and the
 * new bundle is swapped into the local Lambda. Each rebuild is written to a
 * fresh folder, so an invocation already running keeps its files.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type BuildContext, type BuildResult, context } from 'esbuild';
import { BUNDLE_FILE, bundleOptions } from '../../infra/bundling';
import { inspectJobTypesModuleAsync, JobTypesModuleError, problemsOf } from '../../infra/job-types';

/** A function whose bundle includes the app's job types. */
export interface ReloadableFunction {
  /** Its logical id in the template. */
  readonly logicalId: string;
  /** What people call it: its construct id, e.g. `Worker`. */
  readonly label: string;
  /** Its name in the local cloud. */
  readonly functionName: string;
  /** Its handler folder under `functions/`. */
  readonly dir: string;
  /** Absolute path of the app's job types module. */
  readonly jobTypesEntry: string;
}

/** What one reload did. */
export interface ReloadReport {
  readonly functions: readonly string[];
  readonly files: readonly string[];
  readonly durationMs: number;
}

interface Bundle {
  readonly fn: ReloadableFunction;
  readonly ctx: BuildContext<{ write: false; metafile: true }>;
  /** Absolute paths of the files the bundle was built from. */
  inputs: Set<string>;
  version: number;
}

export class BundleReloader {
  readonly #bundles: Bundle[] = [];
  readonly #devDir: string;
  readonly #appRoot: string;
  readonly #swap: (functionName: string, codeDir: string) => void;

  private constructor(
    appRoot: string,
    devDir: string,
    swap: (functionName: string, codeDir: string) => void,
  ) {
    this.#appRoot = appRoot;
    this.#devDir = devDir;
    this.#swap = swap;
  }

  /**
   * Sets up an incremental build per function and builds each once, to learn
   * which files it bundles (nothing is swapped by this first build).
   */
  static async create(options: {
    readonly appRoot: string;
    readonly devDir: string;
    readonly functions: readonly ReloadableFunction[];
    readonly swap: (functionName: string, codeDir: string) => void;
  }): Promise<BundleReloader> {
    const reloader = new BundleReloader(options.appRoot, options.devDir, options.swap);
    rmSync(options.devDir, { recursive: true, force: true });
    for (const fn of options.functions) {
      const outdir = path.join(options.devDir, fn.logicalId, 'current');
      const ctx = await context({
        ...bundleOptions({ dir: fn.dir, jobTypesEntry: fn.jobTypesEntry }, outdir),
        write: false,
        metafile: true,
      });
      const bundle: Bundle = { fn, ctx, inputs: new Set(), version: 0 };
      bundle.inputs = reloader.#inputsOf(await ctx.rebuild());
      reloader.#bundles.push(bundle);
    }
    return reloader;
  }

  /** Whether a changed file is part of any reloadable bundle. */
  covers(file: string): boolean {
    return this.#bundles.some((bundle) => bundle.inputs.has(file));
  }

  /**
   * Rebuilds the bundles that include any of `files` and swaps them in. The
   * job types module is checked first (it loads, every export is a job type);
   * if it or a build fails, nothing is swapped and the error is thrown.
   */
  async reload(files: readonly string[]): Promise<ReloadReport | undefined> {
    const started = performance.now();
    const affected = this.#bundles.filter((bundle) => files.some((f) => bundle.inputs.has(f)));
    if (affected.length === 0) return undefined;
    const entries = [...new Set(affected.map((bundle) => bundle.fn.jobTypesEntry))];
    // Both settle before anything is thrown: a rebuild left running would hand its stale
    // result to the next reload's rebuild call.
    const [built, checked] = await Promise.all([
      Promise.allSettled(affected.map((bundle) => bundle.ctx.rebuild())),
      Promise.allSettled(entries.map((entry) => checkEntry(entry))),
    ]);
    for (const outcome of [...checked, ...built]) {
      if (outcome.status === 'rejected') throw outcome.reason;
    }
    const results = built.map((outcome) =>
      outcome.status === 'fulfilled' ? outcome.value : undefined,
    );
    affected.forEach((bundle, i) => {
      const result = results[i];
      if (!result) return;
      bundle.inputs = this.#inputsOf(result);
      bundle.version += 1;
      const dir = path.join(this.#devDir, bundle.fn.logicalId, `v${bundle.version}`);
      writeOutputs(result, dir);
      this.#swap(bundle.fn.functionName, dir);
    });
    return {
      functions: affected.map((bundle) => bundle.fn.label),
      files: files.map((file) => path.relative(this.#appRoot, file)),
      durationMs: performance.now() - started,
    };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.#bundles.map((bundle) => bundle.ctx.dispose()));
    this.#bundles.length = 0;
  }

  #inputsOf(result: BuildResult<{ metafile: true }>): Set<string> {
    // esbuild names inputs relative to its working directory.
    return new Set(Object.keys(result.metafile.inputs).map((input) => path.resolve(input)));
  }
}

/** Runs the same check `cdk synth` does, without its per-process cache (the file just changed). */
async function checkEntry(entry: string): Promise<void> {
  const problems = problemsOf(await inspectJobTypesModuleAsync(entry));
  if (problems.length > 0) {
    throw new JobTypesModuleError(`the job types module ${entry}: ${problems.join('; ')}`);
  }
}

function writeOutputs(result: BuildResult<{ write: false }>, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const file of result.outputFiles ?? []) {
    writeFileSync(path.join(dir, path.basename(file.path)), file.contents);
  }
  if (!(result.outputFiles ?? []).some((file) => path.basename(file.path) === BUNDLE_FILE)) {
    throw new Error(`esbuild wrote no ${BUNDLE_FILE}`);
  }
}
