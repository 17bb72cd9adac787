/**
 * `serveLocalCloud` in this process, on the small fixture assembly: the
 * banner, the state file, a restart on the same ports, a taken port, the hint
 * on unsigned requests, and a code update through the running cloud. (Signals
 * and the parent's death are in serve-process.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ServedCloud, ServeError, serveLocalCloud } from '../../../devserver/serve';
import { parseServeArgs } from '../../../devserver/serve-args';
import { type LocalCloudState, readStateFile } from '../../../devserver/state-file';
import { RecordingLog } from '../../fixtures/lambda/harness';

const SMALL = resolve(import.meta.dirname, '../../fixtures/assembly/small');

class Capture {
  text = '';
  write(text: string): void {
    this.text += text;
  }
}

let dir: string;
let stateFile: string;
let served: ServedCloud | undefined;
const blockers: Server[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'local-serve-'));
  stateFile = join(dir, 'state', 'local.json');
});

afterEach(async () => {
  await served?.stop('test over');
  served = undefined;
  for (const server of blockers.splice(0)) server.close();
  rmSync(dir, { recursive: true, force: true });
});

function serve(argv: string[], log = new RecordingLog()) {
  const stdout = new Capture();
  const stderr = new Capture();
  const started = serveLocalCloud({
    args: parseServeArgs(['--no-synth', ...argv], {}),
    root: dir,
    assemblyDir: SMALL,
    stateFile,
    stdout,
    stderr,
    stopOnSignals: false,
    cloudOptions: { log },
  }).then((value) => {
    served = value;
    return value;
  });
  return { started, stdout, stderr, log };
}

function block(): Promise<number> {
  const server = createServer();
  blockers.push(server);
  return new Promise((done) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      done(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((done) => {
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

describe('serveLocalCloud', () => {
  it('starts the assembly, prints the banner, writes the state file, and removes it at stop', async () => {
    const { started, stdout } = serve(['--port', '0', '--aws-port', '0']);
    const cloud = (await started).cloud;

    expect(stdout.text).toMatch(/eventjobs local cloud is up in \d+\.\d\d s/);
    expect(stdout.text).toContain(`API base URL   ${cloud.apiUrl}`);
    expect(stdout.text).toContain('Press Ctrl-C to stop.');
    const dashboard = served?.dashboard;
    expect(stdout.text).toContain(`Dashboard      ${dashboard?.url}`);
    expect((await fetch(dashboard?.url ?? '')).status).toBe(200);
    const state = readStateFile(stateFile);
    expect(state).toMatchObject({ pid: process.pid, apiUrl: cloud.apiUrl, stackName: 'Small' });

    await served?.stop('test');
    await served?.stopped;
    expect(existsSync(stateFile)).toBe(false);
    expect(stdout.text).toContain('test: stopping the local cloud...');
    expect(stdout.text).toContain('Stopped.');
    expect(await isFree(portOf(cloud.apiUrl))).toBe(true);
    expect(await isFree(dashboard?.port ?? 0)).toBe(true);
  });

  it('restarts on a new assembly on the same ports, rewrites the state file and prints one line', async () => {
    const { started, stdout } = serve(['--port', '0', '--aws-port', '0']);
    const first = (await started).cloud;
    const bannerLength = stdout.text.length;
    rmSync(stateFile);

    const second = await (served as ServedCloud).restart(SMALL);

    expect(second).not.toBe(first);
    expect(served?.cloud).toBe(second);
    expect(second.apiUrl).toBe(first.apiUrl);
    expect(second.awsEndpoint).toBe(first.awsEndpoint);
    expect(readStateFile(stateFile)?.apiUrl).toBe(second.apiUrl);
    const notice = stdout.text.slice(bannerLength);
    expect(notice.trim().split('\n')).toHaveLength(1);
    expect(notice).toMatch(/^Restarted Small in \d+\.\d\d s on the same ports: API http/);
    expect(notice).toContain('in-memory DynamoDB starts empty');
    const answer = await fetch(`${second.apiUrl}/items/1`);
    expect(answer.status).toBe(403);
  });

  it('keeps serving when the new assembly cannot be read', async () => {
    const { started } = serve(['--port', '0', '--aws-port', '0']);
    const first = (await started).cloud;

    const restart = (served as ServedCloud).restart(join(dir, 'no-assembly'));

    await expect(restart).rejects.toThrow(ServeError);
    await expect(restart).rejects.toThrow(/was not restarted: No cloud assembly/);
    expect(served?.cloud).toBe(first);
    expect((await fetch(`${first.apiUrl}/items/1`)).status).toBe(403);
    expect(existsSync(stateFile)).toBe(true);
  });
});

describe('a port in use', () => {
  it('says which port and suggests --port 0, without the listen error', async () => {
    const port = await block();

    const { started } = serve(['--port', String(port), '--aws-port', '0']);

    await expect(started).rejects.toThrow(ServeError);
    await expect(started).rejects.toThrow(
      `The local cloud could not start: port ${port} (the API) is already in use by another process; stop it, or pass --port 0 to pick a free port`,
    );
  });

  it('suggests --aws-port 0 for the AWS endpoint', async () => {
    const port = await block();

    const { started } = serve(['--port', '0', '--aws-port', String(port)]);

    await expect(started).rejects.toThrow(
      `port ${port} (the AWS endpoint) is already in use by another process; stop it, or pass --aws-port 0`,
    );
  });

  it('names the local cloud of the state file when its process is alive and its URL has the port', async () => {
    const port = await block();
    const state: LocalCloudState = {
      pid: process.ppid,
      startedAt: '2026-01-02T03:04:05.000Z',
      stackName: 'Small',
      region: 'us-east-1',
      apiUrl: `http://127.0.0.1:${port}`,
      awsEndpoint: 'http://127.0.0.1:4566',
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 'secret' },
      outputs: {},
    };
    mkdirSync(join(dir, 'state'));
    writeFileSync(stateFile, JSON.stringify(state));

    const { started } = serve(['--port', String(port), '--aws-port', '0']);

    await expect(started).rejects.toThrow(
      `port ${port} is used by the eventjobs local cloud started at 2026-01-02T03:04:05.000Z, pid ${process.ppid} (http://127.0.0.1:${port}); stop it, or pass --port 0 to pick a free port`,
    );
    expect(readStateFile(stateFile)).toEqual(state);
  });

  it('does not blame a state file whose process is gone', async () => {
    const port = await block();
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    mkdirSync(join(dir, 'state'));
    writeFileSync(
      stateFile,
      JSON.stringify({ pid: gone, startedAt: 'then', apiUrl: `http://127.0.0.1:${port}` }),
    );

    const { started } = serve(['--port', String(port), '--aws-port', '0']);

    await expect(started).rejects.toThrow(`port ${port} (the API) is already in use`);
  });
});

describe('an unsigned request', () => {
  it("gets AWS's 403 plus a local hint and one log line; a signed one keeps AWS's answer", async () => {
    const log = new RecordingLog();
    const { started } = serve(['--port', '0', '--aws-port', '0'], log);
    const { apiUrl } = (await started).cloud;

    const unsigned = await fetch(`${apiUrl}/items/1`);
    const badlySigned = await fetch(`${apiUrl}/items/1`, {
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=00' },
    });
    const presigned = await fetch(`${apiUrl}/items/1?X-Amz-Signature=00`);
    const stream = await fetch(`${apiUrl}/jobs/hello/events`);

    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('ForbiddenException');
    expect(unsigned.headers.get('content-type')).toBe('application/json');
    const body = (await unsigned.json()) as Record<string, unknown>;
    expect(body.message).toBe('Forbidden');
    expect(body.localHint).toBe(
      'The local cloud, like API Gateway with IAM auth, needs SigV4-signed requests; the keys are in state/local.json and in the banner (curl --aws-sigv4 "aws:amz:us-east-1:execute-api" --user KEY:SECRET ...)',
    );
    const hints = log.lines.filter((line) => line.text.includes('the request is not signed'));
    expect(hints.map((line) => line.source)).toEqual(['apigw:small-api', 'apigw:small-api']);
    expect(badlySigned.status).toBe(403);
    expect(Object.keys((await badlySigned.json()) as object)).toEqual(['message']);
    expect(await presigned.json()).toEqual({ message: 'Forbidden' });
    expect(stream.status).toBe(403);
    expect(((await stream.json()) as Record<string, unknown>).localHint).toBe(body.localHint);
  });
});

describe('code updates through the running cloud', () => {
  it('runs the new code on the next invocation', async () => {
    const { started } = serve(['--port', '0', '--aws-port', '0']);
    const cloud = (await started).cloud;
    const worker = Object.keys(cloud.usage().lambda).find((name) => name.includes('Worker'));
    if (!worker) throw new Error('the small assembly has no worker');
    const codeDir = join(dir, 'v2');
    mkdirSync(codeDir);
    writeFileSync(join(codeDir, 'index.mjs'), "export const handler = async () => 'v2';\n");

    const before = await cloud.services.lambda.invoke(worker, '{}', 'RequestResponse');
    cloud.updateFunctionCode(worker, codeDir);
    const after = await cloud.services.lambda.invoke(worker, '{}', 'RequestResponse');

    expect(before.payload).toBe('{"handled":{}}');
    expect(after.payload).toBe('"v2"');
  });
});
