import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DeleteItemCommandInput,
  DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MalformedEventError } from '../../../../core/errors';
import { JobEventType } from '../../../../core/events';
import { jobPartitionKey } from '../../../../core/table';
import { JobStore } from '../../../../functions/shared/store';
import { type ConnectionDeps, subscribe } from '../../../../functions/stream/connection/service';
import {
  type ConnectionsApi,
  createConnectionsApi,
} from '../../../../functions/stream/connections';
import { DeliveryError, GoneConnectionError } from '../../../../functions/stream/errors';
import type { JobEvent, StreamMessage } from '../../../../functions/stream/messages';
import { type RecorderDeps, recordEvent } from '../../../../functions/stream/recorder/service';
import { StreamStore } from '../../../../functions/stream/store';
import {
  activeItem,
  activeJob,
  jobOutcome,
  OTHER_USER_ARN,
  outcomeItem,
  USER_ARN,
} from '../../helpers/api-event';

type Item = Record<string, AttributeValue>;

const ddb = mockClient(DynamoDBClient);
const TABLE = 'jobs-table';
const NOW = new Date('2025-11-28T10:00:05.000Z');
const RUN = '01JDXR3Y5Q6Z8A9B0C1D2E3F4G';
const JOB = 'nightly-report';
const JOB_PK = jobPartitionKey(USER_ARN, JOB);

/**
 * A small in-memory jobs table behind the mocked client: enough of PutItem,
 * GetItem, DeleteItem, UpdateItem (ADD to a string set) and Query (begins_with,
 * BETWEEN, an `expiresAt` filter, COUNT) for the stream and JobStore.
 */
class FakeTable {
  readonly items = new Map<string, Item>();

  install(): void {
    ddb.on(PutItemCommand).callsFake((input: PutItemCommandInput) => {
      const item = input.Item ?? {};
      this.items.set(key(item), item);
      return {};
    });
    ddb.on(GetItemCommand).callsFake((input: GetItemCommandInput) => ({
      Item: this.items.get(key(input.Key ?? {})),
    }));
    ddb.on(DeleteItemCommand).callsFake((input: DeleteItemCommandInput) => {
      this.items.delete(key(input.Key ?? {}));
      return {};
    });
    ddb.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
      const existing = this.items.get(key(input.Key ?? {}));
      if (!existing) {
        throw new ConditionalCheckFailedException({ message: 'failed', $metadata: {} });
      }
      const added = input.ExpressionAttributeValues?.[':pk']?.SS ?? [];
      const set = new Set([...(existing.subscriptions?.SS ?? []), ...added]);
      this.items.set(key(existing), { ...existing, subscriptions: { SS: [...set] } });
      return {};
    });
    ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => this.query(input));
  }

  put(item: Item): void {
    this.items.set(key(item), item);
  }

  sortKeys(pk: string): string[] {
    return [...this.items.values()]
      .filter((item) => item.pk?.S === pk)
      .map((item) => item.sk?.S ?? '')
      .sort();
  }

  private query(input: QueryCommandInput) {
    const values = input.ExpressionAttributeValues ?? {};
    const pk = values[':pk']?.S;
    const condition = input.KeyConditionExpression ?? '';
    const between = /sk BETWEEN (:\w+) AND (:\w+)/.exec(condition);
    const prefix = /begins_with\(sk, (:\w+)\)/.exec(condition);
    let items = [...this.items.values()]
      .filter((item) => item.pk?.S === pk)
      .filter((item) => {
        const sk = item.sk?.S ?? '';
        if (between) {
          return (
            sk >= (values[between[1] as string]?.S ?? '') &&
            sk <= (values[between[2] as string]?.S ?? '')
          );
        }
        return prefix ? sk.startsWith(values[prefix[1] as string]?.S ?? '') : true;
      })
      .sort((a, b) => ((a.sk?.S ?? '') < (b.sk?.S ?? '') ? -1 : 1));
    if (input.ScanIndexForward === false) items.reverse();
    if (input.Limit) items = items.slice(0, input.Limit);
    if (input.FilterExpression === 'expiresAt > :now') {
      const now = Number(values[':now']?.N);
      items = items.filter((item) => Number(item.expiresAt?.N ?? 0) > now);
    }
    return input.Select === 'COUNT'
      ? { Count: items.length }
      : { Items: items, Count: items.length };
  }
}

function key(item: Item): string {
  return `${item.pk?.S}|${item.sk?.S}`;
}

/** The @connections API as a recorder of what was posted and closed. */
class FakeConnections implements ConnectionsApi {
  readonly posted = new Map<string, StreamMessage[]>();
  readonly closed: string[] = [];
  readonly gone = new Set<string>();
  readonly failing = new Set<string>();

  async post(connectionId: string, message: unknown): Promise<void> {
    if (this.gone.has(connectionId)) throw new GoneConnectionError(connectionId);
    if (this.failing.has(connectionId)) throw new Error('throttled');
    const list = this.posted.get(connectionId) ?? [];
    list.push(message as StreamMessage);
    this.posted.set(connectionId, list);
  }

  async close(connectionId: string): Promise<void> {
    this.closed.push(connectionId);
  }

  messages(connectionId: string): StreamMessage[] {
    return this.posted.get(connectionId) ?? [];
  }
}

let n = 0;
function lifecycleEvent(
  detailType: JobEvent['detail-type'],
  time: string,
  overrides: Partial<JobEvent['detail']> = {},
): JobEvent {
  n += 1;
  return {
    version: '0',
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    'detail-type': detailType,
    source: 'eventjobs',
    account: '123456789012',
    time,
    region: 'us-east-1',
    resources: [],
    detail: { owner: USER_ARN, jobName: JOB, runId: RUN, type: 'echo', attempt: 1, ...overrides },
  };
}

const started = () => lifecycleEvent(JobEventType.Started, '2025-11-28T10:00:01Z');
const progress = () => lifecycleEvent(JobEventType.Progress, '2025-11-28T10:00:02Z');
const completed = () => lifecycleEvent(JobEventType.Completed, '2025-11-28T10:00:03Z');

let table: FakeTable;
let connections: FakeConnections;
let store: StreamStore;

beforeEach(() => {
  ddb.reset();
  table = new FakeTable();
  table.install();
  connections = new FakeConnections();
  store = new StreamStore(new DynamoDBClient({}), TABLE);
});

function recorderDeps(): RecorderDeps {
  return { store, connections, retentionSeconds: 3600, now: () => NOW };
}

function connectionDeps(): ConnectionDeps {
  return {
    store,
    jobs: new JobStore(new DynamoDBClient({}), TABLE),
    connections,
    now: () => NOW,
  };
}

async function connected(connectionId: string, owner = USER_ARN): Promise<void> {
  await store.putConnection(connectionId, owner, Math.floor(NOW.getTime() / 1000) + 7200);
}

async function following(connectionId: string, runId = RUN): Promise<void> {
  await connected(connectionId);
  await store.addConnectionSubscription(connectionId, JOB_PK);
  await store.putSubscription(JOB_PK, { connectionId, runId }, 4_102_444_800);
}

const seqs = (messages: StreamMessage[]) =>
  messages.map((m) => (m.type === 'event' ? [m.seq, m.event['detail-type']] : [m.type, m.code]));

describe('stream recorder', () => {
  it("writes the event into its run's log with the retention TTL", async () => {
    // Prepare
    const event = started();

    // Act
    const result = await recordEvent(event, recorderDeps());

    // Assess: with no followers, nothing asks for the event's position
    expect(result).toMatchObject({ runId: RUN, delivered: 0 });
    expect(result.seq).toBeUndefined();
    const sk = `EVT#${RUN}#${event.time}#${event.id}`;
    const item = table.items.get(`${JOB_PK}|${sk}`);
    expect(item?.expiresAt?.N).toBe(String(Math.floor(NOW.getTime() / 1000) + 3600));
    expect(JSON.parse(item?.event?.S ?? '{}')).toEqual(event);
  });

  it('posts the event with its position to every subscriber of the run', async () => {
    // Prepare
    await following('conn-a');
    await following('conn-b');
    await following('conn-old', 'an-earlier-run');
    await recordEvent(started(), recorderDeps());

    // Act
    const result = await recordEvent(progress(), recorderDeps());

    // Assess
    expect(result).toMatchObject({ seq: 2, delivered: 2, closed: 0 });
    expect(seqs(connections.messages('conn-a'))).toEqual([
      [1, 'Job Started'],
      [2, 'Job Progress'],
    ]);
    expect(seqs(connections.messages('conn-b'))).toEqual(seqs(connections.messages('conn-a')));
    expect(connections.messages('conn-old')).toEqual([]);
    expect(connections.closed).toEqual([]);
  });

  it('closes the connections and removes their subscriptions after the terminal event', async () => {
    // Prepare
    await following('conn-a');
    await recordEvent(started(), recorderDeps());

    // Act
    const result = await recordEvent(completed(), recorderDeps());

    // Assess
    expect(result).toMatchObject({ seq: 2, delivered: 1, closed: 1 });
    expect(seqs(connections.messages('conn-a')).at(-1)).toEqual([2, 'Job Completed']);
    expect(connections.closed).toEqual(['conn-a']);
    expect(table.sortKeys(JOB_PK).filter((sk) => sk.startsWith('SUB#'))).toEqual([]);
  });

  it('removes the subscription of a connection that has gone (410)', async () => {
    // Prepare
    await following('conn-gone');
    await following('conn-live');
    connections.gone.add('conn-gone');

    // Act
    const result = await recordEvent(started(), recorderDeps());

    // Assess
    expect(result).toMatchObject({ delivered: 1, gone: 1 });
    expect(table.sortKeys(JOB_PK).filter((sk) => sk.startsWith('SUB#'))).toEqual(['SUB#conn-live']);
  });

  it('is idempotent: a duplicate delivery rewrites the same item and keeps its position', async () => {
    // Prepare
    await following('conn-a');
    const first = started();
    await recordEvent(first, recorderDeps());
    await recordEvent(progress(), recorderDeps());

    // Act
    const again = await recordEvent(first, recorderDeps());

    // Assess
    expect(again.seq).toBe(1);
    expect(table.sortKeys(JOB_PK).filter((sk) => sk.startsWith('EVT#'))).toHaveLength(2);
  });

  it('throws for Lambda to retry when a subscriber fails for another reason', async () => {
    // Prepare
    await following('conn-a');
    await following('conn-b');
    connections.failing.add('conn-b');

    // Act
    const act = recordEvent(started(), recorderDeps());

    // Assess
    await expect(act).rejects.toBeInstanceOf(DeliveryError);
    expect(connections.messages('conn-a')).toHaveLength(1);
    expect(table.sortKeys(JOB_PK)).toContain('SUB#conn-b');
  });

  it('rejects what is not a lifecycle event', async () => {
    // Act
    const act = recordEvent({ ...started(), source: 'someone-else' }, recorderDeps());

    // Assess
    await expect(act).rejects.toBeInstanceOf(MalformedEventError);
    expect(table.items.size).toBe(0);
  });
});

describe('stream subscribe', () => {
  const request = (name: string) => JSON.stringify({ action: 'subscribe', name });

  it.each([
    ['no body', undefined],
    ['not JSON', '{"action":'],
    ['a bad name', request('../etc')],
    ['no name', JSON.stringify({ action: 'subscribe' })],
  ])('answers %s with a BadRequest error message', async (_, body) => {
    // Prepare
    await connected('conn-a');

    // Act
    const result = await subscribe('conn-a', body, connectionDeps());

    // Assess
    expect(result).toEqual({ status: 'refused', code: 'BadRequest' });
    const [message] = connections.messages('conn-a');
    expect(message).toMatchObject({ type: 'error', code: 'BadRequest' });
    expect(message?.type === 'error' && message.message).toMatch(/subscribe/);
    expect(table.sortKeys(JOB_PK)).toEqual([]);
  });

  it('answers NotFound (as the HTTP API does) for a name with no running or retained job', async () => {
    // Prepare
    await connected('conn-a');

    // Act
    const result = await subscribe('conn-a', request('no-such-job'), connectionDeps());

    // Assess
    expect(result).toEqual({ status: 'refused', code: 'NotFound' });
    expect(connections.messages('conn-a')).toEqual([
      { type: 'error', code: 'NotFound', message: expect.stringContaining('no-such-job') },
    ]);
  });

  it("keeps owners apart: another identity's job of that name is not found", async () => {
    // Prepare
    table.put(await activeItem(activeJob({ owner: OTHER_USER_ARN })));
    await connected('conn-a');

    // Act
    const result = await subscribe('conn-a', request(JOB), connectionDeps());

    // Assess
    expect(result).toEqual({ status: 'refused', code: 'NotFound' });
  });

  it('refuses a connection whose record is gone', async () => {
    // Act
    const result = await subscribe('conn-unknown', request(JOB), connectionDeps());

    // Assess
    expect(result).toEqual({ status: 'refused', code: 'NotConnected' });
  });

  it('sends the history of a running job in order, then follows it', async () => {
    // Prepare
    table.put(await activeItem(activeJob()));
    await recordEvent(progress(), recorderDeps());
    await recordEvent(started(), recorderDeps());
    await connected('conn-a');

    // Act
    const result = await subscribe('conn-a', request(JOB), connectionDeps());

    // Assess
    expect(result).toEqual({ status: 'following', runId: RUN, sent: 2 });
    expect(seqs(connections.messages('conn-a'))).toEqual([
      [1, 'Job Started'],
      [2, 'Job Progress'],
    ]);
    expect(table.sortKeys(JOB_PK)).toContain('SUB#conn-a');
    expect(connections.closed).toEqual([]);
  });

  it('then receives the live events from the recorder, and is closed by the terminal one', async () => {
    // Prepare
    table.put(await activeItem(activeJob()));
    await recordEvent(started(), recorderDeps());
    await connected('conn-a');
    await subscribe('conn-a', request(JOB), connectionDeps());

    // Act
    await recordEvent(completed(), recorderDeps());

    // Assess
    expect(seqs(connections.messages('conn-a'))).toEqual([
      [1, 'Job Started'],
      [2, 'Job Completed'],
    ]);
    expect(connections.closed).toEqual(['conn-a']);
  });

  it('sends the whole history of a finished job and closes the connection', async () => {
    // Prepare
    table.put(await outcomeItem(jobOutcome()));
    for (const event of [started(), progress(), completed()]) {
      await recordEvent(event, recorderDeps());
    }
    // A late second terminal event is logged but is not part of the stream.
    await recordEvent(
      lifecycleEvent(JobEventType.TimedOut, '2025-11-28T10:00:04Z'),
      recorderDeps(),
    );
    await connected('conn-a');

    // Act
    const result = await subscribe('conn-a', request(JOB), connectionDeps());

    // Assess
    expect(result).toEqual({ status: 'ended', runId: RUN, sent: 3 });
    expect(seqs(connections.messages('conn-a'))).toEqual([
      [1, 'Job Started'],
      [2, 'Job Progress'],
      [3, 'Job Completed'],
    ]);
    expect(connections.closed).toEqual(['conn-a']);
    expect(table.sortKeys(JOB_PK)).not.toContain('SUB#conn-a');
  });

  it('waits for the terminal event of a run that has only just finished', async () => {
    // Prepare: the outcome is written, the recorder has not logged the terminal event yet.
    table.put(await outcomeItem(jobOutcome({ finishedAt: '2025-11-28T10:00:03.000Z' })));
    await recordEvent(started(), recorderDeps());
    await connected('conn-a');

    // Act
    const result = await subscribe('conn-a', request(JOB), connectionDeps());

    // Assess
    expect(result).toEqual({ status: 'following', runId: RUN, sent: 1 });
    expect(connections.closed).toEqual([]);
  });

  it('ends the stream of a long-finished run whose events were not logged', async () => {
    // Prepare
    table.put(await outcomeItem(jobOutcome({ finishedAt: '2025-11-28T09:00:00.000Z' })));
    await connected('conn-a');

    // Act
    const result = await subscribe('conn-a', request(JOB), connectionDeps());

    // Assess
    expect(result).toEqual({ status: 'ended', runId: RUN, sent: 0 });
    expect(connections.closed).toEqual(['conn-a']);
  });
});

describe('@connections client', () => {
  const credentials = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'secret',
    sessionToken: 'tok',
  };

  it('signs PostToConnection for execute-api and posts the JSON message', async () => {
    // Prepare
    const calls: { url: string; init: RequestInit }[] = [];
    const api = createConnectionsApi({
      callbackUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/live/',
      region: 'eu-west-1',
      credentials,
      fetch: async (url, init) => {
        calls.push({ url, init });
        return new Response(null, { status: 200 });
      },
    });

    // Act
    await api.post('Ti835f_GEowCETQ=', { type: 'event' });

    // Assess
    expect(calls[0]?.url).toBe(
      'https://abc123.execute-api.eu-west-1.amazonaws.com/live/@connections/Ti835f_GEowCETQ%3D',
    );
    expect(calls[0]?.init.method).toBe('POST');
    expect(calls[0]?.init.body).toBe('{"type":"event"}');
    const headers = calls[0]?.init.headers as Record<string, string>;
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, /,
    );
    expect(headers['x-amz-security-token']).toBe('tok');
  });

  it('reports 410 as a gone connection, and DeleteConnection of a gone one as closed', async () => {
    // Prepare
    const methods: string[] = [];
    const api = createConnectionsApi({
      callbackUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/live',
      region: 'eu-west-1',
      credentials,
      fetch: async (_url, init) => {
        methods.push(String(init.method));
        return new Response('{"message":"Gone"}', { status: 410 });
      },
    });

    // Act
    const post = api.post('c1', {});
    const close = api.close('c1');

    // Assess
    await expect(post).rejects.toBeInstanceOf(GoneConnectionError);
    await expect(close).resolves.toBeUndefined();
    expect(methods).toEqual(['POST', 'DELETE']);
  });
});
