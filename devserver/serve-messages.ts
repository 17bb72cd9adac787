/**
 * What a served local cloud says to the person who started it: the banner
 * (endpoints, keys, and ready curl commands for every route), the one-line
 * notice after a restart, and the message when a port is taken.
 */
import type { RunningLocalCloud } from '../local/cloud';
import type { FunctionSpec } from '../local/contracts';
import {
  DEFAULT_ACCOUNT_CONCURRENCY,
  MIN_UNRESERVED_CONCURRENCY,
} from '../local/lambda/concurrency';
import type { LocalCloudState } from './state-file';

/** The job the banner's commands start; apps other than this repository have other types. */
export interface ExampleJob {
  readonly type: string;
  /** The job's input, sent as JSON. */
  readonly input: unknown;
  /** @default 'hello' */
  readonly name?: string;
}

export const DEFAULT_EXAMPLE_JOB: ExampleJob = {
  type: 'sleep',
  name: 'hello',
  input: { seconds: 5 },
};

/** The part of a running cloud the banner reads. */
export type BannerCloud = Pick<
  RunningLocalCloud,
  'apiUrl' | 'awsEndpoint' | 'region' | 'users' | 'notes'
> & {
  readonly services: {
    readonly secretsManager: { values(): Readonly<Record<string, string>> };
    /** The template's functions, for what their reservations leave of the account's concurrency. */
    readonly lambda: {
      functionList(): readonly Pick<FunctionSpec, 'name' | 'reservedConcurrency'>[];
    };
  };
};

export interface BannerTiming {
  /** Startup time without synthesis, in milliseconds. */
  readonly startMs: number;
  /** Time spent in cdk synth first, in milliseconds (0: none). */
  readonly synthMs: number;
}

/** The dashboard served with the cloud (`dashboard/server.ts`). */
export interface BannerDashboard {
  /** The page's URL, its token included. */
  readonly url: string;
  /** The local user whose jobs it shows. */
  readonly user: string;
}

/** The banner printed once the cloud is up. */
export function formatBanner(
  cloud: BannerCloud,
  timing: BannerTiming,
  exampleJob: ExampleJob = DEFAULT_EXAMPLE_JOB,
  dashboard?: BannerDashboard,
): string {
  const lines = [
    '',
    `eventjobs local cloud is up in ${(timing.startMs / 1000).toFixed(2)} s` +
      (timing.synthMs > 0 ? ` (plus ${(timing.synthMs / 1000).toFixed(1)} s of cdk synth)` : ''),
    '',
    `  API base URL   ${cloud.apiUrl}`,
    `  AWS endpoint   ${cloud.awsEndpoint}   (the functions' AWS_ENDPOINT_URL)`,
    `  Region         ${cloud.region}`,
    `  Lambda         ${lambdaConcurrency(cloud)}`,
    ...(dashboard
      ? [
          `  Dashboard      ${dashboard.url}   (${dashboard.user}'s jobs; the token in the URL is this start's)`,
        ]
      : []),
    '',
    '  Local credentials (IAM users; jobs are private to each):',
    ...cloud.users.map(
      (user) =>
        `    ${user.name.padEnd(6)} AWS_ACCESS_KEY_ID=${user.accessKeyId} AWS_SECRET_ACCESS_KEY=${user.secretAccessKey}`,
    ),
    '',
  ];
  const secrets = Object.entries(cloud.services.secretsManager.values());
  if (secrets.length > 0) {
    lines.push(
      '  Secrets (local settings; --secret ID=VALUE to choose one):',
      ...secrets.map(([id, value]) => `    ${id.padEnd(24)} ${value}`),
      '',
    );
  }
  lines.push(...tryIt(cloud, exampleJob));
  if (cloud.notes.length > 0) lines.push(...cloud.notes.map((note) => `  ${note}`), '');
  lines.push('Press Ctrl-C to stop.', '');
  return `${lines.join('\n')}\n`;
}

/**
 * The account's concurrency and what the reservations leave unreserved: the
 * capacity the API, completion and the sweeper share. `serve` starts the cloud
 * without `accountConcurrency`, so the account has AWS's default.
 */
function lambdaConcurrency(cloud: BannerCloud): string {
  const account = `account concurrency ${count(DEFAULT_ACCOUNT_CONCURRENCY)} (AWS's default)`;
  const reserving = cloud.services.lambda
    .functionList()
    .filter((fn) => fn.reservedConcurrency !== undefined);
  if (reserving.length === 0) return `${account}, all of it shared: no function reserves any`;
  const reserved = reserving.reduce((sum, fn) => sum + (fn.reservedConcurrency ?? 0), 0);
  const shares = reserving.map((fn) => `${fn.name} ${count(fn.reservedConcurrency ?? 0)}`);
  return (
    `${account}; reserved: ${shares.join(', ')}; ` +
    `${count(DEFAULT_ACCOUNT_CONCURRENCY - reserved)} unreserved for the other functions ` +
    `(AWS keeps at least ${count(MIN_UNRESERVED_CONCURRENCY)})`
  );
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** The exports for the first user, then a ready curl command for every route of the API. */
function tryIt(cloud: BannerCloud, job: ExampleJob): string[] {
  const alice = cloud.users[0];
  if (!alice) return [];
  const name = job.name ?? 'hello';
  const path = `$API_URL/jobs/${encodeURIComponent(name)}`;
  const body = JSON.stringify({ type: job.type, name, input: job.input });
  const curl = `curl --aws-sigv4 "aws:amz:${cloud.region}:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"`;
  return [
    `  Try it as ${alice.name}: paste these exports, then any command below (signed with SigV4, as API Gateway requires):`,
    `    export API_URL=${shellWord(cloud.apiUrl)}`,
    `    export AWS_ACCESS_KEY_ID=${shellWord(alice.accessKeyId)}`,
    `    export AWS_SECRET_ACCESS_KEY=${shellWord(alice.secretAccessKey)}`,
    `    export AWS_REGION=${shellWord(cloud.region)}`,
    '',
    '  Start a job:',
    `    ${curl} \\`,
    `      -H 'content-type: application/json' \\`,
    `      -d ${shellWord(body)} \\`,
    '      "$API_URL/jobs"',
    '',
    '  Look at it:',
    `    ${curl} "${path}"`,
    '',
    '  List running jobs:',
    `    ${curl} "$API_URL/jobs?limit=20&status=RUNNING"`,
    '    (The query is in sorted order on purpose: curl 7.88 signs query parameters in the order given, and SigV4 compares against the sorted canonical query, so an unsorted query gets 403.)',
    '',
    '  Cancel it:',
    `    ${curl} -X DELETE "${path}"`,
    '',
    '  Follow its events as they happen (server-sent events):',
    `    ${curl} -N "${path}/events"`,
    '',
  ];
}

/** The line printed after `restart`, instead of the whole banner. */
export function formatRestartNotice(
  cloud: Pick<RunningLocalCloud, 'apiUrl' | 'awsEndpoint' | 'stackName'>,
  elapsedMs: number,
  memoryOnly: boolean,
): string {
  const data = memoryOnly ? ' (in-memory DynamoDB starts empty; --data keeps it)' : '';
  return `Restarted ${cloud.stackName} in ${(elapsedMs / 1000).toFixed(2)} s on the same ports: API ${cloud.apiUrl}, AWS endpoint ${cloud.awsEndpoint}${data}.\n`;
}

/**
 * Why a port could not be bound. When the state file names a live local
 * cloud whose API or AWS endpoint uses the port, it says which one.
 */
export function portInUseMessage(
  port: number,
  flag: '--port' | '--aws-port',
  state: LocalCloudState | undefined,
): string {
  const fix = `pass ${flag} 0 to pick a free port`;
  const url = state && [state.apiUrl, state.awsEndpoint].find((each) => portOf(each) === port);
  if (state && url) {
    return `port ${port} is used by the eventjobs local cloud started at ${state.startedAt}, pid ${state.pid} (${url}); stop it, or ${fix}`;
  }
  const what = flag === '--aws-port' ? 'the AWS endpoint' : 'the API';
  return `port ${port} (${what}) is already in use by another process; stop it, or ${fix}`;
}

function portOf(url: string): number | undefined {
  try {
    const parsed = new URL(url);
    return Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  } catch {
    return undefined;
  }
}

/** A word as a POSIX shell needs it typed: as it is when safe, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
