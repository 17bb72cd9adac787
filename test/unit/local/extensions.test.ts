/**
 * Local cloud extensions (`local/extensions.ts`), on the small fixture
 * assembly: a request the extension takes is answered before API Gateway
 * routes it, with the gateway's own IAM authorization; any other reaches the
 * gateway; the buses' events, the notes and the close at stop reach the
 * extension; a failure is contained.
 */
import { resolve } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { signRequest } from '../../../functions/shared/signer';
import { type RunningLocalCloud, startLocalCloud } from '../../../local/cloud';
import type {
  EventEnvelope,
  ExtensionRequest,
  LocalCloudExtension,
} from '../../../local/extensions';
import { eventually, RecordingLog } from '../../fixtures/lambda/harness';

const SMALL = resolve(import.meta.dirname, '../../fixtures/assembly/small');

let cloud: RunningLocalCloud | undefined;

afterEach(async () => {
  await cloud?.stop();
  cloud = undefined;
});

/** An extension that answers `/whoami` (signed) and `/boom` (it fails), and records what reaches it. */
function probe() {
  const seen = { starts: 0, closes: 0, events: [] as { bus: string; event: EventEnvelope }[] };
  const extension: LocalCloudExtension = {
    name: 'probe',
    start: ({ env }) => {
      seen.starts += 1;
      return {
        notes: [`probe: serving /whoami in ${env.region}`],
        onEvent: (event, bus) => seen.events.push({ bus, event }),
        handleRequest: (request) => {
          if (request.path === '/whoami') return whoami(request);
          if (request.path === '/boom') return Promise.reject(new Error('it broke'));
          return undefined;
        },
        close: () => {
          seen.closes += 1;
        },
      };
    },
  };
  return { extension, seen };
}

async function whoami(request: ExtensionRequest): Promise<void> {
  const verdict = await request.authorize();
  if (!verdict.ok) {
    request.respond(verdict.response);
    return;
  }
  request.res.writeHead(200, { 'content-type': 'text/plain' });
  request.res.end(`${verdict.caller.name} ${request.method} ${request.rawQuery}`);
}

function start(extensions: readonly LocalCloudExtension[], log = new RecordingLog()) {
  return startLocalCloud({
    assemblyDir: SMALL,
    apiPort: 0,
    awsPort: 0,
    ttlSweepIntervalMs: 0,
    log,
    extensions,
  });
}

describe('local cloud extensions', () => {
  it('answer their requests before API Gateway routes them, with its IAM authorization', async () => {
    // prepare
    const { extension } = probe();
    cloud = await start([extension]);
    const user = cloud.users[0];
    if (!user) throw new Error('no local user');
    const url = `${cloud.apiUrl}/whoami?x=1`;
    const signed = await signRequest({
      method: 'GET',
      url,
      credentials: user,
      region: cloud.region,
      service: 'execute-api',
    });

    // act
    const unsigned = await fetch(url);
    const mine = await fetch(url, { headers: signed });
    const gateway = await fetch(`${cloud.apiUrl}/items/1`);

    // assess: the refusal is the gateway's own, local hint included
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('ForbiddenException');
    expect(await unsigned.json()).toEqual({
      message: 'Forbidden',
      localHint: expect.stringMatching(/SigV4/),
    });
    expect(mine.status).toBe(200);
    expect(await mine.text()).toBe(`${user.name} GET x=1`);
    // A path the extension leaves is routed by API Gateway (an AWS_IAM route here).
    expect(gateway.status).toBe(403);
    expect(gateway.headers.get('apigw-requestid')).toBeTruthy();
  });

  it("get the buses' events, add their notes and are closed at stop", async () => {
    // prepare
    const { extension, seen } = probe();
    const running = await start([extension]);
    cloud = running;
    const user = running.users[0];
    if (!user) throw new Error('no local user');
    const events = new EventBridgeClient({
      endpoint: running.awsEndpoint,
      region: running.region,
      credentials: user,
    });

    // act
    await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'small-bus', Source: 'probe.test', DetailType: 'Ping', Detail: '{}' },
        ],
      }),
    );
    await eventually(() => expect(seen.events).toHaveLength(1));
    cloud = undefined;
    await running.stop();

    // assess
    expect(seen.events[0]?.bus).toBe('small-bus');
    expect(seen.events[0]?.event).toMatchObject({ source: 'probe.test', 'detail-type': 'Ping' });
    expect(running.notes.at(-1)).toBe(`probe: serving /whoami in ${running.region}`);
    expect(seen).toMatchObject({ starts: 1, closes: 1 });
  });

  it('answer 500, and log it, when their handler fails', async () => {
    // prepare
    const log = new RecordingLog();
    cloud = await start([probe().extension], log);

    // act
    const response = await fetch(`${cloud.apiUrl}/boom`);

    // assess
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
    expect(log.textOf('local')).toContainEqual(
      expect.stringContaining('extension probe failed on GET /boom: Error: it broke'),
    );
  });

  it('fail the start when one cannot start, closing those started before it', async () => {
    // prepare
    const first = probe();
    const broken: LocalCloudExtension = {
      name: 'broken',
      start: () => {
        throw new Error('no start');
      },
    };

    // act
    const starting = start([first.extension, broken]);

    // assess
    await expect(starting).rejects.toThrow('no start');
    expect(first.seen).toMatchObject({ starts: 1, closes: 1 });
  });
});
