/**
 * Where requests go and what they are signed with: the local cloud (from the
 * `.eventjobs/local.json` that `npm start` writes) or, given a URL, a deployed
 * stack signed with the caller's or the standard AWS credentials.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type LocalCloudState, STATE_FILE } from '../devserver/state-file';
import type { SigV4Credentials } from '../functions/shared/signer';
import { type Credentials, type CredentialsProvider, credentialsSource } from './credentials';
import { ClientOptionError, UnreachableError } from './errors';

export { STATE_FILE };

/** A resolved target. */
export interface Target {
  readonly kind: 'local' | 'aws';
  /** The API base URL, without a trailing slash. */
  readonly apiUrl: string;
  readonly region: string;
  /** Resolved on first use, so that calls that never go out need none. */
  readonly credentials: () => Promise<SigV4Credentials>;
  /** The WebSocket event stream (AWS); undefined for the local cloud, which serves SSE. */
  readonly streamUrl?: string;
  /** Where the target came from, for messages. */
  readonly description: string;
  /** The local cloud's AWS endpoint (EventBridge, SQS, ...); undefined for AWS itself. */
  readonly awsEndpoint?: string;
  /** The local identity's ARN, the owner of its jobs; undefined for AWS (the caller's own). */
  readonly identityArn?: string;
}

/**
 * How messages name the options a caller can change. The client's own
 * defaults name its options; the CLI passes its flags (`--url`, ...).
 */
export interface OptionNames {
  readonly url: string;
  readonly region: string;
  readonly streamUrl: string;
}

export const DEFAULT_OPTION_NAMES: OptionNames = {
  url: 'the url option',
  region: 'the region option',
  streamUrl: 'the streamUrl option',
};

export interface TargetOptions {
  readonly url?: string;
  readonly region?: string;
  readonly streamUrl?: string;
  readonly credentials?: Credentials | CredentialsProvider;
  /** The local cloud's state file; relative to `cwd`. */
  readonly stateFile?: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly readFile: (path: string) => string;
  readonly isAlive: (pid: number) => boolean;
  readonly names: OptionNames;
}

export const NOT_RUNNING = 'the local cloud is not running; start it with `npm start`';

/** A deployed stack when there is a URL (option, else `EVENTJOBS_URL`); the local cloud otherwise. */
export function resolveTarget(options: TargetOptions): Target {
  const url = options.url ?? (options.env.EVENTJOBS_URL || undefined);
  return url === undefined ? localTarget(options) : awsTarget(url, options);
}

/**
 * The state file: `stateFile`, else `EVENTJOBS_STATE_FILE`, else
 * `.eventjobs/local.json` in `cwd` or the nearest parent that has one.
 */
export function findStateFile(
  cwd: string,
  env: NodeJS.ProcessEnv,
  stateFile?: string,
): string | undefined {
  const named = stateFile ?? (env.EVENTJOBS_STATE_FILE || undefined);
  if (named !== undefined) return resolve(cwd, named);
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, STATE_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function localTarget(options: TargetOptions): Target {
  const path = findStateFile(options.cwd, options.env, options.stateFile);
  if (path === undefined) {
    throw new UnreachableError(NOT_RUNNING, {
      hint: `no ${STATE_FILE} in ${options.cwd} or a parent; for a deployed stack pass ${options.names.url}`,
    });
  }
  let state: Partial<LocalCloudState> | null;
  try {
    state = JSON.parse(options.readFile(path)) as Partial<LocalCloudState> | null;
  } catch (error) {
    throw new UnreachableError(NOT_RUNNING, { hint: `cannot read ${path}`, cause: error });
  }
  // A file left behind by a cloud that was killed names a process that is gone.
  if (typeof state?.pid !== 'number' || !options.isAlive(state.pid)) {
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
    ...(state.awsEndpoint ? { awsEndpoint: state.awsEndpoint } : {}),
    ...(state.identityArn ? { identityArn: state.identityArn } : {}),
  };
}

function awsTarget(url: string, options: TargetOptions): Target {
  const { names, env } = options;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ClientOptionError('url', `${names.url} must be an http(s) URL, got "${url}"`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ClientOptionError('url', `${names.url} must be an http(s) URL, got "${url}"`);
  }
  // The host names the region the API lives in, so it beats a general AWS_REGION;
  // an explicit region beats both (custom domains have no region in the name).
  const region =
    options.region ??
    regionFromHost(parsed.host) ??
    (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined);
  if (region === undefined) {
    throw new ClientOptionError(
      'region',
      `cannot tell the region of ${parsed.host}; pass ${names.region} or set AWS_REGION`,
    );
  }
  const streamUrl = options.streamUrl ?? (env.EVENTJOBS_STREAM_URL || undefined);
  if (streamUrl !== undefined && !/^wss?:\/\/\S+$/.test(streamUrl)) {
    throw new ClientOptionError(
      'streamUrl',
      `${names.streamUrl} must be a wss:// URL, got "${streamUrl}"`,
    );
  }
  return {
    kind: 'aws',
    apiUrl: url.replace(/\/+$/, ''),
    region,
    streamUrl,
    credentials: credentialsSource(options.credentials, region),
    description: parsed.host,
  };
}

/** `us-east-1` from `abc123.execute-api.us-east-1.amazonaws.com` (also `.amazonaws.com.cn`). */
export function regionFromHost(host: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?::\d+)?$/.exec(host)?.[1];
}
