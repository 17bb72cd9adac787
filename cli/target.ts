/**
 * Where the CLI sends its requests and with what credentials: the local cloud
 * (from `.eventjobs/local.json`, which `npm start` writes) or, with `--url`,
 * a deployed stack signed with the standard AWS credential chain.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { SigV4Credentials } from '../local/sigv4';
import type { LocalCloudState } from '../local/state-file';
import { UnreachableError, UsageError } from './errors';

export const STATE_FILE = '.eventjobs/local.json';

export interface Target {
  readonly kind: 'local' | 'aws';
  /** The API base URL, without a trailing slash. */
  readonly apiUrl: string;
  readonly region: string;
  /** Resolved on first use, so that commands that never call out need none. */
  readonly credentials: () => Promise<SigV4Credentials>;
  /** The WebSocket event stream (AWS); undefined for the local cloud, which serves SSE. */
  readonly streamUrl?: string;
  /** Where the target came from, for messages. */
  readonly description: string;
}

export interface TargetOptions {
  readonly url?: string;
  readonly region?: string;
  readonly streamUrl?: string;
}

export interface TargetDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly readFile: (path: string) => string;
  readonly isAlive: (pid: number) => boolean;
  /** The standard AWS credential chain for a region. */
  readonly awsCredentials: (region: string) => Promise<SigV4Credentials>;
}

export const NOT_RUNNING = 'the local cloud is not running; start it with `npm start`';

export function resolveTarget(options: TargetOptions, deps: TargetDeps): Target {
  const url = options.url ?? (deps.env.EVENTJOBS_URL || undefined);
  return url === undefined ? localTarget(deps) : awsTarget(url, options, deps);
}

/** `.eventjobs/local.json` in `cwd` or the nearest parent that has one. */
export function findStateFile(cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.EVENTJOBS_STATE_FILE) return resolve(cwd, env.EVENTJOBS_STATE_FILE);
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, STATE_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function localTarget(deps: TargetDeps): Target {
  const path = findStateFile(deps.cwd, deps.env);
  if (path === undefined) {
    throw new UnreachableError(NOT_RUNNING, {
      hint: `no ${STATE_FILE} in ${deps.cwd} or a parent; for a deployed stack pass --url`,
    });
  }
  let state: LocalCloudState;
  try {
    state = JSON.parse(deps.readFile(path)) as LocalCloudState;
  } catch (error) {
    throw new UnreachableError(NOT_RUNNING, {
      hint: `cannot read ${path}`,
      cause: error,
    });
  }
  if (typeof state?.pid !== 'number' || !deps.isAlive(state.pid)) {
    throw new UnreachableError(NOT_RUNNING, {
      hint: `${path} was written by process ${String(state?.pid)}, which is gone`,
    });
  }
  if (!state.apiUrl || !state.region || !state.credentials?.accessKeyId) {
    throw new UnreachableError(`${path} lacks apiUrl, region or credentials`, {
      hint: 'restart the local cloud with `npm start`',
    });
  }
  const credentials: SigV4Credentials = {
    accessKeyId: state.credentials.accessKeyId,
    secretAccessKey: state.credentials.secretAccessKey,
  };
  return {
    kind: 'local',
    apiUrl: state.apiUrl.replace(/\/+$/, ''),
    region: state.region,
    credentials: async () => credentials,
    description: `the local cloud at ${state.apiUrl}`,
  };
}

function awsTarget(url: string, options: TargetOptions, deps: TargetDeps): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
  }
  // The host names the region the API lives in, so it beats a general AWS_REGION;
  // an explicit --region beats both (custom domains have no region in the name).
  const region =
    options.region ??
    regionFromHost(parsed.host) ??
    (deps.env.AWS_REGION || deps.env.AWS_DEFAULT_REGION || undefined);
  if (region === undefined) {
    throw new UsageError(
      `cannot tell the region of ${parsed.host}; pass --region or set AWS_REGION`,
    );
  }
  const streamUrl = options.streamUrl ?? (deps.env.EVENTJOBS_STREAM_URL || undefined);
  if (streamUrl !== undefined && !/^wss?:\/\/\S+$/.test(streamUrl)) {
    throw new UsageError(`--stream-url must be a wss:// URL, got "${streamUrl}"`);
  }
  let cached: Promise<SigV4Credentials> | undefined;
  return {
    kind: 'aws',
    apiUrl: url.replace(/\/+$/, ''),
    region,
    streamUrl,
    credentials: () => {
      cached ??= deps.awsCredentials(region).catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        throw new UnreachableError(`no AWS credentials: ${reason}`, {
          hint: 'set AWS_PROFILE (then `aws sso login` if it uses SSO) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
          cause: error,
        });
      });
      return cached;
    },
    description: parsed.host,
  };
}

/** `us-east-1` from `abc123.execute-api.us-east-1.amazonaws.com` (also `.amazonaws.com.cn`). */
export function regionFromHost(host: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?::\d+)?$/.exec(host)?.[1];
}
