/**
 * The banner of a served local cloud (`formatBanner`): the endpoints and keys,
 * the exports, and a ready curl command for every route. The commands are
 * checked twice: as a shell reads them (a stand-in `curl` prints its
 * arguments), and, when this machine's curl signs (`--aws-sigv4`, 7.75 and
 * later), sent for real to a local HTTP API with the same routes.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BannerCloud, formatBanner } from '../../../devserver/serve-messages';
import { type HttpApiEventV2, LocalHttpApi, type RunningHttpApi } from '../../../local/apigw';
import type {
  CredentialStore,
  HttpRouteSpec,
  LambdaInvoker,
  LocalCredential,
  LocalEnv,
} from '../../../local/contracts';
import { fixtureSpec, RecordingLog } from '../../fixtures/lambda/harness';

const ALICE: LocalCredential = {
  name: 'alice',
  accessKeyId: 'AKIALOCALALICE000001',
  secretAccessKey: 'alice/secret+key/0000000000000000000001',
  accountId: '000000000000',
  arn: 'arn:aws:iam::000000000000:user/alice',
  userId: 'AIDALOCALALICE0000001',
};
const BOB: LocalCredential = {
  ...ALICE,
  name: 'bob',
  accessKeyId: 'AKIALOCALBOB00000001',
  secretAccessKey: 'bob/secret/key/00000000000000000000000001',
};

/** The reference stack's functions: only the worker reserves concurrency (its default, 100). */
const FUNCTIONS = [
  { name: 'EventJobs-AsyncJobsWorkerCD585522', reservedConcurrency: 100 },
  { name: 'EventJobs-AsyncJobsStartJob6FB19366' },
  { name: 'EventJobs-AsyncJobsCompletionA4F8B9CD' },
];

function fakeCloud(
  apiUrl: string,
  region = 'eu-west-1',
  functions: readonly { name: string; reservedConcurrency?: number }[] = FUNCTIONS,
): BannerCloud {
  return {
    apiUrl,
    awsEndpoint: 'http://127.0.0.1:4566',
    region,
    users: [ALICE, BOB],
    notes: ['DynamoDB: embedded (dynalite), in memory'],
    services: {
      secretsManager: { values: () => ({ WebhookSecret: 's3cr3t' }) },
      lambda: { functionList: () => functions },
    },
  };
}

const execFileAsync = promisify(execFile);

const TIMING = { startMs: 420, synthMs: 0 };
const SIGNED = `curl --aws-sigv4 "aws:amz:eu-west-1:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"`;

/** The shell lines of the banner: exports and curl commands, continuations joined. */
function commands(banner: string): string[] {
  const lines = banner.split('\n').filter((line) => /^ {4,}(export |curl |-|")/.test(line));
  return lines
    .join('\n')
    .replace(/\s*\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim());
}

describe('formatBanner', () => {
  const banner = formatBanner(fakeCloud('http://127.0.0.1:3000'), TIMING);

  it("keeps today's endpoints, identities, secrets and notes", () => {
    expect(banner).toContain('eventjobs local cloud is up in 0.42 s');
    expect(banner).toContain('  API base URL   http://127.0.0.1:3000');
    expect(banner).toContain(
      "  AWS endpoint   http://127.0.0.1:4566   (the functions' AWS_ENDPOINT_URL)",
    );
    expect(banner).toContain('  Region         eu-west-1');
    expect(banner).toContain(
      `    alice  AWS_ACCESS_KEY_ID=${ALICE.accessKeyId} AWS_SECRET_ACCESS_KEY=${ALICE.secretAccessKey}`,
    );
    expect(banner).toContain(`    bob    AWS_ACCESS_KEY_ID=${BOB.accessKeyId}`);
    expect(banner).toContain('    WebhookSecret            s3cr3t');
    expect(banner).toContain('  DynamoDB: embedded (dynalite), in memory');
    expect(banner.trimEnd().endsWith('Press Ctrl-C to stop.')).toBe(true);
  });

  it("exports alice's keys, then has a signed curl for every route", () => {
    expect(commands(banner)).toEqual([
      'export API_URL=http://127.0.0.1:3000',
      `export AWS_ACCESS_KEY_ID=${ALICE.accessKeyId}`,
      `export AWS_SECRET_ACCESS_KEY=${ALICE.secretAccessKey}`,
      'export AWS_REGION=eu-west-1',
      `${SIGNED} -H 'content-type: application/json' -d '{"type":"sleep","name":"hello","input":{"seconds":5}}' "$API_URL/jobs"`,
      `${SIGNED} "$API_URL/jobs/hello"`,
      `${SIGNED} "$API_URL/jobs?limit=20&status=RUNNING"`,
      `${SIGNED} -X DELETE "$API_URL/jobs/hello"`,
      `${SIGNED} -N "$API_URL/jobs/hello/events"`,
    ]);
  });

  it("says the account's Lambda concurrency and what the reservations leave unreserved", () => {
    expect(banner).toContain(
      "  Lambda         account concurrency 1,000 (AWS's default); reserved: " +
        'EventJobs-AsyncJobsWorkerCD585522 100; 900 unreserved for the other functions ' +
        '(AWS keeps at least 100)',
    );
  });

  it('says so when no function reserves concurrency', () => {
    // Prepare
    const cloud = fakeCloud('http://127.0.0.1:3000', 'eu-west-1', [{ name: 'Stack-Api' }]);

    // Act
    const plain = formatBanner(cloud, TIMING);

    // Assess
    expect(plain).toContain(
      "  Lambda         account concurrency 1,000 (AWS's default), all of it shared: no function reserves any",
    );
  });

  it('says in one line why the query is sorted', () => {
    const why = banner.split('\n').filter((line) => line.includes('sorted'));

    expect(why).toHaveLength(1);
    expect(why[0]).toContain('curl 7.88 signs query parameters in the order given');
    expect(why[0]).toContain('SigV4 compares against the sorted canonical query');
    expect(why[0]).toContain('an unsorted query gets 403');
  });

  it("names the dashboard's URL, token included, and whose jobs it shows", () => {
    // Prepare
    const url = 'http://127.0.0.1:41234/?token=abc_DEF-123';

    // Act
    const withDashboard = formatBanner(fakeCloud('http://127.0.0.1:3000'), TIMING, undefined, {
      url,
      user: 'alice',
    });

    // Assess
    expect(withDashboard).toContain(
      `  Dashboard      ${url}   (alice's jobs; the token in the URL is this start's)`,
    );
    expect(banner).not.toContain('Dashboard');
  });

  it("takes the caller's example job, quoted for the shell", () => {
    const custom = formatBanner(fakeCloud('http://127.0.0.1:3000'), TIMING, {
      type: 'hello',
      name: "it's mine",
      input: { name: "o'world" },
    });

    expect(custom).toContain(
      `-d '{"type":"hello","name":"it'\\''s mine","input":{"name":"o'\\''world"}}'`,
    );
    expect(custom).toContain(`"$API_URL/jobs/it's%20mine"`);
  });

  it('reads as the intended arguments in a shell', () => {
    const script = [
      'curl() { printf "%s\\n" "$@"; echo ---; }',
      ...commands(
        formatBanner(fakeCloud('http://127.0.0.1:3000'), TIMING, {
          type: 'hello',
          name: "it's",
          input: { name: 'world' },
        }),
      ),
    ].join('\n');

    const run = spawnSync('bash', ['-c', script], { encoding: 'utf8' });

    expect(run.status).toBe(0);
    const calls = run.stdout.split('---\n').filter(Boolean);
    expect(calls).toHaveLength(5);
    const first = calls[0]?.trim().split('\n');
    expect(first).toEqual([
      '--aws-sigv4',
      'aws:amz:eu-west-1:execute-api',
      '--user',
      `${ALICE.accessKeyId}:${ALICE.secretAccessKey}`,
      '-H',
      'content-type: application/json',
      '-d',
      `{"type":"hello","name":"it's","input":{"name":"world"}}`,
      'http://127.0.0.1:3000/jobs',
    ]);
    expect(calls[1]?.trim().split('\n').at(-1)).toBe("http://127.0.0.1:3000/jobs/it's");
  });
});

// ---------------------------------------------------------------- with a real curl

const curlSigns = spawnSync('curl', ['--help', 'all'], { encoding: 'utf8' }).stdout?.includes(
  '--aws-sigv4',
);

const ENV: LocalEnv = {
  region: 'eu-west-1',
  accountId: '000000000000',
  partition: 'aws',
  timeScale: 1,
};
const HANDLER = 'arn:aws:lambda:eu-west-1:000000000000:function:jobs';

/** Answers every route with its route key, query and body. */
const lambda: LambdaInvoker = {
  find: (ref) => (ref.startsWith(HANDLER) ? fixtureSpec('jobs', { arn: HANDLER }) : undefined),
  invoke: async (_ref, payload) => {
    const event = JSON.parse(payload) as HttpApiEventV2;
    const body = { routeKey: event.routeKey, query: event.rawQueryString, body: event.body };
    const response = { statusCode: 200, body: JSON.stringify(body) };
    return { statusCode: 200, payload: JSON.stringify(response), executedVersion: '$LATEST' };
  },
};

describe.runIf(curlSigns)('the banner commands with this machine’s curl', () => {
  let api: RunningHttpApi;

  beforeAll(async () => {
    const routeKeys = [
      'POST /jobs',
      'GET /jobs',
      'GET /jobs/{name}',
      'DELETE /jobs/{name}',
      'GET /jobs/{name}/events',
    ];
    const routes: HttpRouteSpec[] = routeKeys.map((routeKey, index) => ({
      id: `r${index}`,
      routeKey,
      authorizationType: 'AWS_IAM',
      integration: {
        id: 'i',
        type: 'AWS_PROXY',
        functionArn: HANDLER,
        payloadFormatVersion: '2.0',
        timeoutMs: 30_000,
      },
    }));
    const credentials: CredentialStore = {
      lookup: (id) => (id === ALICE.accessKeyId ? ALICE : undefined),
    };
    const gateway = new LocalHttpApi({
      spec: {
        logicalId: 'Api',
        id: 'api',
        name: 'api',
        routes,
        stage: { name: '$default' },
        invokableFunctionArns: [HANDLER],
      },
      lambda,
      credentials,
      env: ENV,
      log: new RecordingLog(),
    });
    api = await gateway.listen(0);
  });

  afterAll(async () => {
    await api?.close();
  });

  /** Runs the commands in bash, each printing its status; asynchronously, as the API is in this process. */
  async function send(lines: string[]): Promise<string[]> {
    const script = lines.map((line) =>
      line.startsWith('curl ') ? `${line} -s -o /dev/null -w '%{http_code}\\n'` : line,
    );
    const run = await execFileAsync('bash', ['-c', script.join('\n')], { timeout: 20_000 });
    expect(run.stderr).toBe('');
    return run.stdout.trim().split('\n');
  }

  it('each command is accepted (200), signed as printed', async () => {
    const lines = commands(formatBanner(fakeCloud(api.url), TIMING));

    expect(await send(lines)).toEqual(['200', '200', '200', '200', '200']);
  });

  it('the same list with its query unsorted gets 403, as the banner says', async () => {
    const lines = commands(formatBanner(fakeCloud(api.url), TIMING)).map((line) =>
      line.replace('?limit=20&status=RUNNING', '?status=RUNNING&limit=20'),
    );

    expect((await send(lines))[2]).toBe('403');
  });
});
