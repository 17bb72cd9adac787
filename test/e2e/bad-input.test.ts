/**
 * The bad-input corpus over real HTTP: every malformed request gets its exact
 * 4xx, a JSON error (the function's `{ error: { code, message } }`, or API
 * Gateway's own `{ message }`) with nothing of the server's insides in it, and
 * changes nothing that is stored.
 *
 * "Changes nothing" cannot be a before/after comparison of the whole table:
 * the other e2e files run at the same time, as both identities, and their jobs
 * write progress and outcomes while this file runs. So the proof has three
 * parts, each immune to them:
 *  1. Every name in the corpus contains this run's prefix (or is one of a few
 *     bare names, like `..`). A request wrongly accepted would have stored a
 *     job under such a name, so after the corpus the table holds no item whose
 *     key contains the prefix other than the canaries', and none for the bare
 *     names. A request without a name is one that cannot parse as a start
 *     request at all.
 *  2. Canaries: finished jobs of this file's own, started before the corpus
 *     and targeted by it (cancelled, re-started with bad input, looked up by
 *     look-alike names). All their items are byte-identical afterwards.
 *  3. Retained outcomes (`RUN#` items) are written once and never updated, so
 *     every one that existed before the corpus, whoever's, is byte-identical
 *     afterwards.
 */
import {
  type AttributeValue,
  DynamoDBClient,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobPartitionKey, RUN_SORT_KEY_PREFIX } from '../../core/table';
import type { SigV4Credentials } from '../../functions/shared/signer';
import { type BadInputCase, buildCorpus, type CaseContext } from './bad-input-cases';
import { send, sendRaw, signRaw } from './bad-input-http';
import { type ApiResponse, callApi, eventually, uniqueName } from './client';

const target = inject('e2e');

type Item = Record<string, AttributeValue>;

const PREFIX = uniqueName('bad-input');
const corpus = buildCorpus(PREFIX);

/** What must never reach a caller: stack frames, source paths, module paths. */
const LEAKS = [/\bat /, /\/work\//, /\.ts:/, /node_modules/, /\bstack\b/i];

const dynamodb = new DynamoDBClient({
  region: target.region,
  endpoint: target.awsEndpoint,
  credentials: target.tableReader,
});

async function scanTable(): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: target.tableName,
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

async function itemsOfJob(owner: string, name: string): Promise<Item[]> {
  const { Items } = await dynamodb.send(
    new QueryCommand({
      TableName: target.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: jobPartitionKey(owner, name) } },
      ConsistentRead: true,
    }),
  );
  return Items ?? [];
}

const keyOf = (item: Item) => `${item.pk?.S}\u0000${item.sk?.S}`;
const byKey = (items: Item[]) => [...items].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));

async function startFinishedEcho(name: string): Promise<void> {
  const started = await callApi(target, target.alice, 'POST', '/jobs', {
    type: 'echo',
    name,
    input: { value: `canary ${name}` },
  });
  expect(started.status).toBe(202);
  await eventually(`${name} to succeed`, async () => {
    const job = await callApi(target, target.alice, 'GET', `/jobs/${name}`);
    return (job.body as { status?: string } | undefined)?.status === 'SUCCEEDED' ? true : undefined;
  });
}

async function sendCase(testCase: BadInputCase, context: CaseContext): Promise<ApiResponse> {
  const request = testCase.request(context);
  const signer = testCase.signer;
  switch (signer.as) {
    case 'unsigned':
      return sendRaw(target, 'unsigned', request);
    case 'bob':
      return sendRaw(target, target.bob, request);
    case 'wrong-secret':
      return sendRaw(
        target,
        { ...target.alice, secretAccessKey: `${target.alice.secretAccessKey}x` },
        request,
      );
    case 'unknown-key':
      return sendRaw(target, { ...target.alice, accessKeyId: 'AKIANOSUCHKEY0000000' }, request);
    case 'headers':
      return send(target, request, { ...request.headers, ...(await signer.headers(context)) });
    case 'alice':
      return sendRaw(target, target.alice, request, 'options' in signer ? signer.options : {});
  }
}

describe('bad input: every malformed request gets its 4xx and changes nothing', () => {
  const canaries = [`${PREFIX}-canary-a`, `${PREFIX}-canary-b`];
  let context: CaseContext;
  let canaryItems: Item[];
  let outcomesBefore: Item[];

  beforeAll(async () => {
    for (const name of canaries) await startFinishedEcho(name);
    const page = await callApi(target, target.alice, 'GET', '/jobs?limit=1');
    const aliceCursor = (page.body as { nextCursor?: string }).nextCursor;
    if (!aliceCursor) throw new Error('Alice has two jobs, so a page of one has a next cursor');
    const alice: SigV4Credentials = target.alice;
    context = {
      canary: canaries[0] as string,
      aliceCursor,
      aliceOwner: target.alice.owner,
      bobOwner: target.bob.owner,
      signAsAlice: (request) => signRaw(target, alice, request),
    };
    canaryItems = byKey(
      (await Promise.all(canaries.map((name) => itemsOfJob(target.alice.owner, name)))).flat(),
    );
    outcomesBefore = (await scanTable()).filter((item) =>
      item.sk?.S?.startsWith(RUN_SORT_KEY_PREFIX),
    );
  }, 60_000);

  afterAll(() => {
    dynamodb.destroy();
  });

  it('has at least 100 cases', () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(100);
  });

  for (const testCase of corpus.cases) {
    it(`${testCase.category}: ${testCase.title} → ${testCase.status}`, async () => {
      // Act
      const response = await sendCase(testCase, context);

      // Assess
      expect(response.status, response.text.slice(0, 500)).toBe(testCase.status);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const expected = testCase.expected;
      if ('code' in expected) {
        const body = response.body as { error: Record<string, unknown> };
        expect(Object.keys(body).sort()).toEqual(['error', ...(expected.extraKeys ?? [])].sort());
        expect(body.error).toEqual({
          code: expected.code,
          message: expect.stringMatching(/\S/),
          ...('details' in body.error ? { details: expect.any(Array) } : {}),
        });
      } else {
        // AWS's own body; locally an unsigned request also gets a hint (and only that one).
        const body = response.body as Record<string, unknown>;
        const unsigned = 'as' in testCase.signer && testCase.signer.as === 'unsigned';
        if (target.kind === 'local' && 'localHint' in body) {
          expect(unsigned, 'a local hint on a signed request').toBe(true);
          expect(body.localHint).toMatch(/SigV4/);
        }
        expect(Object.keys(body).filter((key) => key !== 'localHint')).toEqual(['message']);
        const { message } = response.body as { message: string };
        if (typeof expected.gateway === 'string') expect(message).toBe(expected.gateway);
        else expect(message).toMatch(expected.gateway);
      }
      for (const leak of LEAKS) expect(response.text).not.toMatch(leak);
    });
  }

  it('left no job under any name the corpus used, and the canaries byte-identical', async () => {
    // Act
    const after = await scanTable();

    // Assess: only the canaries carry the prefix
    const withPrefix = after.filter((item) =>
      Object.values(item).some((value) => value.S?.includes(PREFIX)),
    );
    expect(byKey(withPrefix)).toEqual(canaryItems);
    expect(canaryItems.length).toBeGreaterThanOrEqual(canaries.length);
    for (const owner of [target.alice.owner, target.bob.owner]) {
      for (const name of corpus.bareNames) {
        expect(await itemsOfJob(owner, name), `${owner} ${name}`).toEqual([]);
      }
    }
  });

  it('left every retained outcome that existed before it byte-identical', async () => {
    // Act
    const after = new Map((await scanTable()).map((item) => [keyOf(item), item]));

    // Assess
    expect(outcomesBefore.length).toBeGreaterThanOrEqual(canaries.length);
    for (const before of outcomesBefore) expect(after.get(keyOf(before))).toEqual(before);
  });
});

describe('requests the corpus does not count as bad', () => {
  it('accepts valid JSON without a content type (API Gateway passes it base64-encoded)', async () => {
    // Prepare
    const name = uniqueName('no-content-type');
    const body = JSON.stringify({ type: 'echo', name, input: { value: 1 } });

    // Act
    const response = await sendRaw(target, target.alice, { method: 'POST', path: '/jobs', body });

    // Assess
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ jobName: name, status: 'RUNNING' });
  });
});
