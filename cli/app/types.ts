/**
 * `eventjobs types`: the app's job types with their input schemas, read from
 * the job types module the app's `AsyncJobs` names (found in the synthesized
 * template, or given with `--entry`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BUNDLE_METADATA_KEY } from '../../infra/bundling';
import { checkJobTypesModule, type InspectedExport } from '../../infra/job-types';
import { AppCommandError } from './errors';

interface TemplateResource {
  readonly Type?: string;
  readonly Metadata?: Record<string, unknown>;
}

/** The job types modules the templates of an assembly name, relative to the app's folder. */
export function jobTypesEntries(assemblyDir: string): string[] {
  if (!existsSync(assemblyDir)) return [];
  const entries = new Set<string>();
  for (const file of readdirSync(assemblyDir)) {
    if (!file.endsWith('.template.json')) continue;
    const template = JSON.parse(readFileSync(path.join(assemblyDir, file), 'utf8')) as {
      Resources?: Record<string, TemplateResource>;
    };
    for (const resource of Object.values(template.Resources ?? {})) {
      const bundle = resource.Metadata?.[BUNDLE_METADATA_KEY] as
        | { jobTypesEntry?: string }
        | undefined;
      if (bundle?.jobTypesEntry) entries.add(bundle.jobTypesEntry);
    }
  }
  return [...entries].sort();
}

export interface TypesOptions {
  readonly cwd: string;
  readonly entry?: string;
  readonly assembly: string;
}

/** The job types of the app in `cwd`. */
export function listJobTypes(options: TypesOptions): { entry: string; types: InspectedExport[] }[] {
  const entries =
    options.entry !== undefined
      ? [options.entry]
      : jobTypesEntries(path.resolve(options.cwd, options.assembly));
  if (entries.length === 0) {
    throw new AppCommandError(
      `no job types module found: ${options.assembly} has no AsyncJobs (or is not synthesized yet)`,
      'run `npx cdk synth` (or `eventjobs dev`) first, or pass --entry src/jobs.ts',
      { exitCode: 2 },
    );
  }
  return entries.map((entry) => ({
    entry,
    types: checkJobTypesModule(path.resolve(options.cwd, entry)),
  }));
}

/** People's view: one block per type, with its input schema as indented JSON. */
export function formatJobTypes(modules: { entry: string; types: InspectedExport[] }[]): string {
  const lines: string[] = [];
  for (const { entry, types } of modules) {
    lines.push(`Job types in ${entry}:`, '');
    for (const type of [...types].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''))) {
      lines.push(`  ${type.name}  ${type.description ?? ''}`);
      if (type.defaultTimeoutSeconds !== undefined) {
        lines.push(`    default timeout: ${type.defaultTimeoutSeconds} s`);
      }
      if (type.inputSchema) {
        const { $schema: _drop, ...schema } = type.inputSchema;
        lines.push(
          '    input:',
          ...JSON.stringify(schema, null, 2)
            .split('\n')
            .map((l) => `      ${l}`),
        );
      } else {
        lines.push(`    input: (no JSON Schema from the ${type.vendor ?? 'schema'} library)`);
      }
      lines.push('');
    }
  }
  return `${lines.join('\n')}\n`;
}
