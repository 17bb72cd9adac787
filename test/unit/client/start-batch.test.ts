/**
 * `client.startBatch` against a fake fetch: the request it signs and sends,
 * the names it gives unnamed entries (so that a retried batch repeats its
 * starts), what it answers, and what it refuses before sending.
 */
import { describe, expect, it } from 'vitest';
import {
  ApiError,
  BatchTooLargeError,
  createClient,
  MAX_BATCH_BODY_BYTES,
  type RetryNotice,
} from '../../../client';
import type { LocalCredential } from '../../../local/contracts';
import { verifyRequest } from '../../../local/sigv4';

const AWS = { accessKeyId: 'ASIAEXAMPLE000000001', secretAccessKey: 'aws/secret/key' };
const API_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

interface Call {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

function harness(...answers: Response[]) {
  const calls: Call[] = [];
  const retries: RetryNotice[] = [];
  const client = createClient({
    url: API_URL,
    credentials: AWS,
    env: {},
    fetch: async (url, init) => {
      calls.push({
        url,
        method: init?.method ?? 'GET',
        headers: init?.headers as Record<string, string>,
        body: (init?.body as string | undefined) ?? '',
      });
      const answer = answers.shift();
      if (answer === undefined) throw new Error(`unexpected request ${url}`);
      return answer;
    },
    sleep: async () => undefined,
    onRetry: (notice) => retries.push(notice),
  });
  return { client, calls, retries };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

interface SentBatch {
  jobs: Record<string, unknown>[];
}

const sent = (call: Call | undefined) => JSON.parse(call?.body ?? '{}') as SentBatch;

function started(id: string, jobName: string, created = true) {
  return { id, jobName, runId: `R-${id}`, status: 'RUNNING', created, statusUrl: `u/${jobName}` };
}

describe('client.startBatch', () => {
  it('POSTs the entries to /jobs/batch, signed, with ids by index and a ULID for each unnamed one', async () => {
    // Prepare
    const { client, calls } = harness(
      json(200, { successful: [started('0', 'named'), started('1', 'x')], failed: [] }),
    );

    // Act
    await client.startBatch([
      { type: 'echo', name: 'named', input: { value: 1 } },
      { type: 'echo', input: { value: 2 }, timeoutSeconds: 60 },
    ]);

    // Assess: the request
    const [call] = calls;
    expect(call?.method).toBe('POST');
    expect(call?.url).toBe(`${API_URL}/jobs/batch`);
    const stored: LocalCredential = {
      ...AWS,
      accountId: '000000000000',
      arn: 'arn:aws:iam::000000000000:user/alice',
      userId: 'AIDA',
      name: 'alice',
    };
    const url = new URL(call?.url ?? '');
    const verified = await verifyRequest(
      {
        method: 'POST',
        rawPath: url.pathname,
        rawQuery: '',
        headers: { ...call?.headers, host: url.host },
        body: call?.body ?? '',
      },
      { lookup: (id) => (id === AWS.accessKeyId ? stored : undefined) },
      { region: 'eu-west-1', service: 'execute-api' },
    );
    expect(verified).toMatchObject({ ok: true });
    // Assess: the entries
    const { jobs } = sent(call);
    expect(jobs[0]).toEqual({ id: '0', type: 'echo', name: 'named', input: { value: 1 } });
    expect(jobs[1]).toEqual({
      id: '1',
      type: 'echo',
      name: expect.stringMatching(ULID),
      input: { value: 2 },
      timeoutSeconds: 60,
    });
  });

  it('answers each list as the API gave it; a name it made is created even on a 200 repeat', async () => {
    // Prepare: the unnamed entry's earlier attempt had started it (created false)
    const failure = {
      id: 'b',
      code: 'UnknownJobType',
      message: 'Unknown job type "nope"',
      senderFault: true,
    };
    const { client, calls } = harness(
      json(200, {
        successful: [started('a', 'mine', false), started('c', 'theirs', false)],
        failed: [failure],
      }),
    );

    // Act
    const result = await client.startBatch([
      { id: 'a', type: 'echo' },
      { id: 'b', type: 'nope' },
      { id: 'c', type: 'echo', name: 'theirs' },
    ]);

    // Assess
    expect(sent(calls[0]).jobs.map((job) => job.id)).toEqual(['a', 'b', 'c']);
    expect(result.successful.map(({ id, created }) => ({ id, created }))).toEqual([
      { id: 'a', created: true },
      { id: 'c', created: false },
    ]);
    expect(result.failed).toEqual([failure]);
  });

  it('sends an entry as given, so the API judges it as a POST /jobs body', async () => {
    // Prepare
    const { client, calls } = harness(json(200, { successful: [], failed: [] }));
    const entry = { type: 'echo', name: 'n', inputs: { typo: true } };

    // Act
    await client.startBatch([entry as unknown as { type: string }]);

    // Assess
    expect(sent(calls[0]).jobs[0]).toEqual({ id: '0', ...entry });
  });

  it('retries a batch answered 503 with the same names, so no start is made twice', async () => {
    // Prepare
    const { client, calls, retries } = harness(
      json(
        503,
        { error: { code: 'ServiceUnavailable', message: 'later' } },
        { 'retry-after': '1' },
      ),
      json(200, { successful: [started('0', 'x')], failed: [] }),
    );

    // Act
    const result = await client.startBatch([{ type: 'echo' }]);

    // Assess
    expect(calls).toHaveLength(2);
    expect(sent(calls[1])).toEqual(sent(calls[0]));
    expect(retries).toEqual([expect.objectContaining({ path: '/jobs/batch', status: 503 })]);
    expect(result.successful).toHaveLength(1);
  });

  it('throws ApiError for a batch the API refuses as a whole', async () => {
    // Prepare
    const { client } = harness(
      json(400, { error: { code: 'EmptyBatchRequest', message: 'The batch has no entries' } }),
    );

    // Act
    const error = await client.startBatch([]).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'EmptyBatchRequest' });
  });

  it(`refuses a batch over ${MAX_BATCH_BODY_BYTES} bytes without sending it`, async () => {
    // Prepare
    const { client, calls } = harness();
    const big = 'x'.repeat(MAX_BATCH_BODY_BYTES / 2);

    // Act
    const error = await client
      .startBatch([
        { type: 'echo', input: { value: big } },
        { type: 'echo', input: { value: big } },
      ])
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(BatchTooLargeError);
    expect(error).toMatchObject({ limitBytes: MAX_BATCH_BODY_BYTES });
    expect(calls).toHaveLength(0);
  });
});
