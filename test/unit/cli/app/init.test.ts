/**
 * `eventjobs init`: the app it scaffolds, the folders it refuses, and what the
 * app depends on eventjobs as.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppCommandError } from '../../../../cli/app/errors';
import { dependencySpec, initApp } from '../../../../cli/app/init';

const PROJECT_ROOT = fileURLToPath(new URL('../../../..', import.meta.url)).replace(/[\\/]+$/, '');
const OWN = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as Parameters<
  typeof dependencySpec
>[0];
/** What this checkout gives when nothing else names where eventjobs came from. */
const CHECKOUT_SPEC = `file:${PROJECT_ROOT}`;

let tmp: string;

beforeEach(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'eventjobs-init-test-'));
});

afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const read = (...parts: string[]) => readFileSync(path.join(...parts), 'utf8');

interface AppPackage {
  readonly name: string;
  readonly private: boolean;
  readonly type: string;
  readonly scripts: Record<string, string>;
  readonly dependencies: Record<string, string>;
  readonly devDependencies: Record<string, string>;
}

describe('initApp', () => {
  it('writes the app: package.json, .gitignore, cdk.json, the stack, the jobs and their test', () => {
    const options = { dir: 'My Jobs-app', cwd: tmp, env: {} };

    const result = initApp(options);

    const dir = path.join(tmp, 'My Jobs-app');
    expect(result.dir).toBe(dir);
    expect([...result.files].sort()).toEqual(
      [
        '.gitignore',
        'README.md',
        'cdk.json',
        'package.json',
        'src/app.ts',
        'src/jobs.ts',
        'test/jobs.test.ts',
        'tsconfig.json',
      ].sort(),
    );
    for (const file of result.files) expect(existsSync(path.join(dir, file)), file).toBe(true);

    const pkg = JSON.parse(read(dir, 'package.json')) as AppPackage;
    expect(pkg).toMatchObject({ name: 'my-jobs-app', private: true, type: 'module' });
    expect(pkg.scripts).toMatchObject({ dev: 'eventjobs dev', test: 'vitest run' });
    expect(pkg.dependencies.eventjobs).toBe(result.eventjobsSpec);
    expect(result.eventjobsSpec).toBe(CHECKOUT_SPEC);
    // The app gets the versions eventjobs itself is tested with.
    const own = OWN as unknown as AppPackage;
    expect(pkg.dependencies.zod).toBe(own.dependencies.zod);
    expect(pkg.devDependencies['aws-cdk-lib']).toBe(own.devDependencies['aws-cdk-lib']);
    expect(pkg.devDependencies.vitest).toBe(own.devDependencies.vitest);

    expect(read(dir, 'README.md').split('\n')[0]).toBe('# my-jobs-app');

    // npm drops .gitignore from packages, so the template's copy is renamed on the way.
    expect(existsSync(path.join(dir, 'gitignore'))).toBe(false);
    expect(read(dir, '.gitignore').split('\n')).toEqual(
      expect.arrayContaining(['node_modules/', 'cdk.out/']),
    );

    const app = read(dir, 'src', 'app.ts');
    expect(app).toContain("new Stack(app, 'MyJobsApp')");
    expect(app).not.toContain('__STACK_NAME__');
    expect(app).toContain("jobTypes: { entry: 'src/jobs.ts' }");

    const jobs = read(dir, 'src', 'jobs.ts');
    expect(jobs).toMatch(/export const hello = defineJobType\(\{\s*name: 'hello',/);
    expect(read(dir, 'test', 'jobs.test.ts')).toContain("import { hello } from '../src/jobs'");

    const cdkJson = JSON.parse(read(dir, 'cdk.json')) as { app: string };
    expect(cdkJson.app).toBe('npx tsx src/app.ts');
  });

  it.each([
    ['reports-2024', 'reports-2024', 'Reports2024'],
    ['2024 reports', '2024-reports', 'App2024Reports'],
    ['jobs', 'jobs', 'Jobs'],
  ])('names the app in the folder %j: package %s, stack %s', (folder, packageName, stackName) => {
    const options = { dir: folder, cwd: tmp, env: {} };

    const result = initApp(options);

    const pkg = JSON.parse(read(result.dir, 'package.json')) as AppPackage;
    expect(pkg.name).toBe(packageName);
    expect(read(result.dir, 'src', 'app.ts')).toContain(`new Stack(app, '${stackName}')`);
  });

  it('writes into an existing empty folder', () => {
    mkdirSync(path.join(tmp, 'empty'));

    const result = initApp({ dir: 'empty', cwd: tmp, env: {} });

    expect(existsSync(path.join(result.dir, 'package.json'))).toBe(true);
  });

  it('refuses a folder that is not empty, and writes nothing into it', () => {
    const dir = path.join(tmp, 'taken');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');

    let thrown: unknown;
    try {
      initApp({ dir: 'taken', cwd: tmp, env: {} });
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(AppCommandError);
    const error = thrown as AppCommandError;
    expect(error.message).toBe(
      `${dir} is not empty; eventjobs init only writes into a new or empty folder`,
    );
    expect(error.exitCode).toBe(1);
    expect(error.hint).toMatch(/new folder/);
    expect(existsSync(path.join(dir, 'package.json'))).toBe(false);
    expect(read(dir, 'notes.txt')).toBe('mine');
  });

  it('depends on what --from names, over everything else', () => {
    const tarball = path.join(tmp, 'eventjobs-0.1.0.tgz');
    writeFileSync(tarball, '');
    const options = {
      dir: 'app',
      cwd: tmp,
      env: { npm_config_package: tarball },
      from: 'github:someone/eventjobs#main',
    };

    const result = initApp(options);

    expect(result.eventjobsSpec).toBe('github:someone/eventjobs#main');
    const pkg = JSON.parse(read(result.dir, 'package.json')) as AppPackage;
    expect(pkg.dependencies.eventjobs).toBe('github:someone/eventjobs#main');
  });
});

describe('dependencySpec', () => {
  it('is the tarball npm exec ran, by its absolute path', () => {
    const tarball = path.join(tmp, 'eventjobs-0.1.0.tgz');
    writeFileSync(tarball, '');

    const spec = dependencySpec(OWN, '/', { npm_config_package: tarball });

    expect(spec).toBe(`file:${tarball}`);
  });

  it('resolves a relative tarball, a file: spec and a folder from the working directory', () => {
    writeFileSync(path.join(tmp, 'eventjobs-0.1.0.tar.gz'), '');
    mkdirSync(path.join(tmp, 'checkout'));

    const relative = dependencySpec(OWN, tmp, { npm_config_package: 'eventjobs-0.1.0.tar.gz' });
    const fileSpec = dependencySpec(OWN, tmp, {
      npm_config_package: 'file:./eventjobs-0.1.0.tar.gz',
    });
    const folder = dependencySpec(OWN, tmp, { npm_config_package: './checkout' });
    const listed = dependencySpec(OWN, tmp, {
      npm_config_package: 'typescript,./eventjobs-0.1.0.tar.gz',
    });

    const tarball = `file:${path.join(tmp, 'eventjobs-0.1.0.tar.gz')}`;
    expect(relative).toBe(tarball);
    expect(fileSpec).toBe(tarball);
    expect(folder).toBe(`file:${path.join(tmp, 'checkout')}`);
    expect(listed).toBe(tarball);
  });

  it.each([
    ['a registry name', 'eventjobs'],
    ['a registry name and version', 'eventjobs@0.1.0'],
    ['a tarball that does not exist', './eventjobs-9.9.9.tgz'],
    ['nothing', undefined],
  ])('falls back for %s: here, the checkout this runs from', (_title, pkg) => {
    const env = pkg === undefined ? {} : { npm_config_package: pkg };

    const spec = dependencySpec(OWN, tmp, env);

    // A checkout is not under node_modules, so the fallback is the checkout's folder.
    expect(spec).toBe(CHECKOUT_SPEC);
    expect(spec.endsWith('/')).toBe(false);
  });
});

describe('the eventjobs bin', () => {
  beforeAll(() => {
    // The bin runs the built CLI; build it if this checkout has not yet.
    if (existsSync(path.join(PROJECT_ROOT, 'dist', 'bin.js'))) return;
    const build = spawnSync(process.execPath, ['scripts/build.mjs'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr}`);
  }, 120_000);

  it('scaffolds an app, then refuses the same folder', () => {
    const target = path.join(tmp, 'x');
    const env = { ...process.env };
    delete env.npm_config_package;
    const run = () =>
      spawnSync(
        process.execPath,
        [path.join(PROJECT_ROOT, 'bin', 'eventjobs.mjs'), 'init', target],
        {
          cwd: tmp,
          env,
          encoding: 'utf8',
        },
      );

    const first = run();
    const second = run();

    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`Created an eventjobs app in ${target}:`);
    expect(first.stdout).toContain(`eventjobs: ${CHECKOUT_SPEC}`);
    expect(existsSync(path.join(target, 'src', 'jobs.ts'))).toBe(true);
    expect(second.status).not.toBe(0);
    expect(second.stderr).toContain(
      `eventjobs init: ${target} is not empty; eventjobs init only writes into a new or empty folder`,
    );
  });
});
