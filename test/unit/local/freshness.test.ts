/**
 * isStale: whether `npm start` must synthesize again before it runs the
 * assembly. Files get explicit times with utimes, so no test waits for a clock.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isStale } from '../../../local/freshness';

const BEFORE = new Date('2026-01-01T00:00:00Z');
const BUILT = new Date('2026-01-02T00:00:00Z');
const AFTER = new Date('2026-01-03T00:00:00Z');

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function write(path: string, text = ''): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Sets every file and directory under `path` (and `path`) to `time`. */
function touchAll(path: string, time: Date): void {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path)) touchAll(join(path, entry), time);
  }
  utimesSync(path, time, time);
}

/** A project whose sources all date from BEFORE, synthesized at BUILT. */
function project(): { root: string; assemblyDir: string } {
  const root = mkdtempSync(join(tmpdir(), 'eventjobs-freshness-'));
  roots.push(root);
  write(join(root, 'infra/app.ts'), 'app');
  write(join(root, 'functions/worker/index.ts'), 'worker');
  write(join(root, 'functions/node_modules/dep/index.js'), 'dep');
  write(join(root, 'functions/.cache/entry'), 'cache');
  write(join(root, 'cdk.json'), '{}');
  write(join(root, 'package.json'), '{}');
  write(join(root, 'README.md'), 'readme');
  touchAll(root, BEFORE);
  const assemblyDir = join(root, 'cdk.out');
  write(join(assemblyDir, 'manifest.json'), '{}');
  utimesSync(join(assemblyDir, 'manifest.json'), BUILT, BUILT);
  return { root, assemblyDir };
}

describe('isStale', () => {
  it('is true when the assembly has no manifest', () => {
    // prepare
    const { root, assemblyDir } = project();
    rmSync(join(assemblyDir, 'manifest.json'));

    // act
    const stale = isStale(root, assemblyDir);

    // assess
    expect(stale).toBe(true);
  });

  it('is false when the manifest is newer than every source', () => {
    // prepare
    const { root, assemblyDir } = project();

    // act
    const stale = isStale(root, assemblyDir);

    // assess
    expect(stale).toBe(false);
  });

  it('is true when a file deep in a watched directory is newer than the manifest', () => {
    // prepare
    const { root, assemblyDir } = project();
    utimesSync(join(root, 'functions/worker/index.ts'), AFTER, AFTER);

    // act
    const stale = isStale(root, assemblyDir);

    // assess
    expect(stale).toBe(true);
  });

  it('is true when a watched top-level file is newer than the manifest', () => {
    // prepare
    const { root, assemblyDir } = project();
    utimesSync(join(root, 'cdk.json'), AFTER, AFTER);

    // act
    const stale = isStale(root, assemblyDir);

    // assess
    expect(stale).toBe(true);
  });

  it('ignores node_modules, hidden entries and files cdk synth does not read', () => {
    // prepare
    const { root, assemblyDir } = project();
    utimesSync(join(root, 'functions/node_modules/dep/index.js'), AFTER, AFTER);
    utimesSync(join(root, 'functions/node_modules'), AFTER, AFTER);
    utimesSync(join(root, 'functions/.cache/entry'), AFTER, AFTER);
    utimesSync(join(root, 'README.md'), AFTER, AFTER);

    // act
    const stale = isStale(root, assemblyDir);

    // assess
    expect(stale).toBe(false);
  });

  it('is true when a file was removed from a watched directory since', () => {
    // prepare: removing a file changes its directory, as it does in an editor
    const { root, assemblyDir } = project();
    rmSync(join(root, 'functions/worker/index.ts'));
    utimesSync(join(root, 'functions/worker'), AFTER, AFTER);

    // act
    const stale = isStale(root, assemblyDir);

    // assess
    expect(stale).toBe(true);
  });
});
