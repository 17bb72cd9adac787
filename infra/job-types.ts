/**
 * Reads an app's job types module at synth time (and for `eventjobs types`
 * and `eventjobs dev`): which exports are job types, their names,
 * descriptions and input JSON Schemas.
 *
 * A construct's constructor is synchronous and the module is ESM (and often
 * TypeScript), so it cannot simply be imported here: it is bundled with
 * esbuild into a temporary file and loaded by a short-lived `node` process,
 * which prints what it found as JSON. Errors in the module (a throw at load,
 * a malformed `defineJobType`) come back as its message.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BuildOptions, build, buildSync } from 'esbuild';

/** One export of the module, as found. */
export interface InspectedExport {
  readonly exportName: string;
  /** Whether it is a job type made by `defineJobType`. */
  readonly isJobType: boolean;
  readonly name?: string;
  readonly description?: string;
  readonly defaultTimeoutSeconds?: number;
  /** Runs of the type at once, across owners (`defineJobType`'s `concurrency`). */
  readonly concurrency?: number;
  /** The input's JSON Schema, where the schema library can give one. */
  readonly inputSchema?: Record<string, unknown>;
  /** The schema library (`~standard.vendor`). */
  readonly vendor?: string;
}

/** A job types module is missing, fails to load, or exports something that is not a job type. */
export class JobTypesModuleError extends Error {
  override name = 'JobTypesModuleError';
}

/** What the module's exports are; throws `JobTypesModuleError` when it cannot be loaded. */
export function inspectJobTypesModule(entry: string): InspectedExport[] {
  const { dir, outfile, options } = prepare(entry);
  try {
    try {
      buildSync(options);
    } catch (error) {
      throw notCompiled(entry, error);
    }
    const child = spawnSync(process.execPath, inspectorArgs(outfile), {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    return parseInspection(entry, child.status, child.stdout, child.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `inspectJobTypesModule` without blocking the event loop (`eventjobs dev` serves requests meanwhile). */
export async function inspectJobTypesModuleAsync(entry: string): Promise<InspectedExport[]> {
  const { dir, outfile, options } = prepare(entry);
  try {
    try {
      await build(options);
    } catch (error) {
      throw notCompiled(entry, error);
    }
    const child = spawn(process.execPath, inspectorArgs(outfile), {
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return parseInspection(entry, status, stdout, stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The job types of a module, checked as the construct requires: it loads,
 * every export is a job type, there is at least one, and no two share a name.
 */
export function checkJobTypesModule(entry: string): InspectedExport[] {
  // One look per module and process: a synth builds the construct once per stack, tests many times.
  const cached = checked.get(entry);
  if (cached) return cached;
  const found = inspectJobTypesModule(entry);
  const problems = problemsOf(found);
  if (problems.length > 0) {
    throw new JobTypesModuleError(`the job types module ${entry}: ${problems.join('; ')}`);
  }
  checked.set(entry, found);
  return found;
}

const checked = new Map<string, InspectedExport[]>();

/** What makes a module's exports unusable as the app's job types; empty when they are fine. */
export function problemsOf(found: readonly InspectedExport[]): string[] {
  const problems: string[] = [];
  const byName = new Map<string, string>();
  for (const item of found) {
    if (!item.isJobType) {
      problems.push(
        `export "${item.exportName}" is not a job type: every export of this module must be made ` +
          'with defineJobType (move other exports to another module)',
      );
      continue;
    }
    const other = byName.get(item.name ?? '');
    if (other !== undefined) {
      problems.push(`exports "${other}" and "${item.exportName}" are both named "${item.name}"`);
    }
    byName.set(item.name ?? '', item.exportName);
  }
  if (found.length === 0) problems.push('it exports no job types');
  return problems;
}

function prepare(entry: string): { dir: string; outfile: string; options: BuildOptions } {
  if (!existsSync(entry) || !statSync(entry).isFile()) {
    throw new JobTypesModuleError(`the job types module ${entry} does not exist`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'eventjobs-types-'));
  const outfile = path.join(dir, 'inspect.mjs');
  const lines = [
    `import * as jobs from ${JSON.stringify(entry)};`,
    'export { jobs };',
    // zod (classic or mini) without Standard JSON Schema on the schema itself: its own converter,
    // imported by its bare name from the module's folder, so it is the copy the module's zod uses.
    canResolve(entry, 'zod/v4/core') ? "export { toJSONSchema } from 'zod/v4/core';" : '',
  ];
  const options: BuildOptions = {
    stdin: { contents: lines.join('\n'), resolveDir: path.dirname(entry), loader: 'ts' },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
  };
  return { dir, outfile, options };
}

function inspectorArgs(outfile: string): string[] {
  return ['--input-type=module', '-e', INSPECTOR, outfile];
}

function notCompiled(entry: string, error: unknown): JobTypesModuleError {
  return new JobTypesModuleError(
    `the job types module ${entry} does not compile: ${message(error)}`,
  );
}

function parseInspection(
  entry: string,
  status: number | null,
  stdout: string,
  stderr: string,
): InspectedExport[] {
  const reported = stderr.split('\n').find((line) => line.startsWith(LOAD_ERROR_MARK));
  if (reported !== undefined) {
    throw new JobTypesModuleError(
      `the job types module ${entry} failed to load: ${JSON.parse(reported.slice(LOAD_ERROR_MARK.length)) as string}`,
    );
  }
  if (status !== 0) {
    const detail = stderr.trim().split('\n').slice(-5);
    throw new JobTypesModuleError(
      `the job types module ${entry} failed to load: ${detail.join(' / ') || `exit ${status}`}`,
    );
  }
  return JSON.parse(stdout) as InspectedExport[];
}

function canResolve(entry: string, specifier: string): boolean {
  try {
    createRequire(entry).resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

function message(error: unknown): string {
  const errors = (
    error as { errors?: { text: string; location?: { file: string; line: number } }[] }
  ).errors;
  if (Array.isArray(errors) && errors.length > 0) {
    return errors
      .slice(0, 3)
      .map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text))
      .join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

/** Starts the line on which the child reports why the module did not load. */
const LOAD_ERROR_MARK = 'eventjobs-load-error: ';

/** Runs in the child: loads the bundle and prints its exports as JSON. */
const INSPECTOR = `
import { pathToFileURL } from 'node:url';
let mod;
try {
  mod = await import(pathToFileURL(process.argv[1]).href);
} catch (error) {
  // The reason, on one line the parent looks for (a stack trace would bury it).
  const reason = error instanceof Error ? error.name + ': ' + error.message : String(error);
  process.stderr.write('${LOAD_ERROR_MARK}' + JSON.stringify(reason) + '\\n');
  process.exit(3);
}
const brand = Symbol.for('eventjobs.jobType');
const out = [];
for (const [exportName, value] of Object.entries(mod.jobs)) {
  const isJobType = typeof value === 'object' && value !== null && value[brand] === true;
  if (!isJobType) { out.push({ exportName, isJobType }); continue; }
  const standard = value.input?.['~standard'];
  let inputSchema;
  try {
    inputSchema = standard?.jsonSchema
      ? standard.jsonSchema.input({ target: 'draft-2020-12' })
      : standard?.vendor === 'zod' && mod.toJSONSchema
        ? mod.toJSONSchema(value.input, { io: 'input' })
        : undefined;
  } catch { inputSchema = undefined; }
  out.push({ exportName, isJobType, name: value.name, description: value.description,
    defaultTimeoutSeconds: value.defaultTimeoutSeconds, concurrency: value.concurrency,
    vendor: standard?.vendor, inputSchema });
}
process.stdout.write(JSON.stringify(out));
`;
