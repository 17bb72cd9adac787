/**
 * `eventjobs init [dir]`: scaffolds an app that depends on the same eventjobs
 * this command runs from: the registry version once published, or the local
 * tarball or folder it was run from (`npm exec --package ./eventjobs-x.y.z.tgz
 * -- eventjobs init my-app`). It writes files only; `npm install` is the
 * user's next step.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../infra/bundling';
import { AppCommandError } from './errors';

const TEMPLATE_DIR = path.join(PACKAGE_ROOT, 'templates', 'app');

/** The packages an app needs besides eventjobs, at the versions eventjobs itself is tested with. */
const APP_DEPENDENCIES = ['zod'] as const;
const APP_DEV_DEPENDENCIES = [
  '@types/node',
  'aws-cdk',
  'aws-cdk-lib',
  'constructs',
  'tsx',
  'typescript',
  'vitest',
] as const;

export interface InitOptions {
  /** The folder to create the app in (relative to `cwd`). */
  readonly dir: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** An explicit dependency spec for eventjobs (`--from`). */
  readonly from?: string;
}

export interface InitResult {
  readonly dir: string;
  readonly files: readonly string[];
  /** What the app's package.json depends on eventjobs as. */
  readonly eventjobsSpec: string;
}

interface OwnPackage {
  readonly name: string;
  readonly version: string;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}

export function initApp(options: InitOptions): InitResult {
  const dir = path.resolve(options.cwd, options.dir);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new AppCommandError(
      `${dir} is not empty; eventjobs init only writes into a new or empty folder`,
      'pass the name of a new folder: npx eventjobs init my-app',
    );
  }
  const own = JSON.parse(
    readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8'),
  ) as OwnPackage;
  const eventjobsSpec = options.from ?? dependencySpec(own, options.cwd, options.env);
  const name = packageName(path.basename(dir));
  const stackName = stackNameOf(path.basename(dir));

  mkdirSync(dir, { recursive: true });
  cpSync(TEMPLATE_DIR, dir, { recursive: true });
  // npm leaves .gitignore out of packages, so the template carries it under another name.
  renameSync(path.join(dir, 'gitignore'), path.join(dir, '.gitignore'));
  replaceIn(path.join(dir, 'src', 'app.ts'), '__STACK_NAME__', stackName);
  replaceIn(path.join(dir, 'README.md'), 'eventjobs-app-name', name);

  const versions = { ...own.devDependencies, ...own.dependencies };
  const pick = (names: readonly string[]) =>
    Object.fromEntries(names.map((dep) => [dep, versions[dep] ?? 'latest']));
  const pkg = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      dev: 'eventjobs dev',
      test: 'vitest run',
      typecheck: 'tsc --noEmit',
      synth: 'cdk synth',
      deploy: 'cdk deploy',
    },
    dependencies: { eventjobs: eventjobsSpec, ...pick(APP_DEPENDENCIES) },
    devDependencies: pick(APP_DEV_DEPENDENCIES),
  };
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  return { dir, files: listFiles(dir), eventjobsSpec };
}

/**
 * Where this eventjobs came from, as a dependency spec:
 * - `npm exec --package <tarball or folder>` names it in `npm_config_package`;
 * - a checkout of the repository (not under node_modules) is a folder;
 * - otherwise the registry version.
 */
export function dependencySpec(own: OwnPackage, cwd: string, env: NodeJS.ProcessEnv): string {
  for (const spec of (env.npm_config_package ?? '').split(/[\n,]/)) {
    const trimmed = spec.trim();
    if (/\.t(ar\.)?gz$/.test(trimmed) || /^(\.{0,2}\/|file:)/.test(trimmed)) {
      const local = path.resolve(cwd, trimmed.replace(/^file:/, ''));
      if (existsSync(local)) return `file:${local}`;
    }
  }
  if (!PACKAGE_ROOT.split(path.sep).includes('node_modules')) {
    return `file:${PACKAGE_ROOT.replace(/[\\/]+$/, '')}`;
  }
  return `^${own.version}`;
}

function packageName(base: string): string {
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '');
  return name || 'eventjobs-app';
}

function stackNameOf(base: string): string {
  const words = base.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const name = words.map((word) => word[0]?.toUpperCase() + word.slice(1)).join('');
  return /^[A-Za-z]/.test(name) ? name : `App${name}`;
}

function replaceIn(file: string, from: string, to: string): void {
  writeFileSync(file, readFileSync(file, 'utf8').replaceAll(from, to));
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );
}
