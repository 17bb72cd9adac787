/**
 * curl's own SigV4 signer (`curl --aws-sigv4`) against verifyRequest over a
 * real socket. curl 7.x signs the path and query as they are written (no
 * second encoding, no sorting), as AWS itself then rejects, so these requests
 * use plain paths and an already sorted query.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialStore, LocalCredential } from '../../../local/contracts';
import { verifyRequest } from '../../../local/sigv4';

const run = promisify(execFile);

const ALICE: LocalCredential = {
  name: 'alice',
  accessKeyId: 'AKIALOCALALICE000001',
  secretAccessKey: 'alice/secret/key/0000000000000000000001',
  accountId: '123456789012',
  arn: 'arn:aws:iam::123456789012:user/alice',
  userId: 'AIDALOCALALICE0000001',
};
const SESSION: LocalCredential = {
  name: 'worker',
  accessKeyId: 'ASIALOCALWORKER00001',
  secretAccessKey: 'worker/secret/key/000000000000000000001',
  sessionToken: 'IQoJb3JpZ2luX2VjEPr//////////token+with/slashes==',
  accountId: '123456789012',
  arn: 'arn:aws:sts::123456789012:assumed-role/WorkerRole/worker',
  userId: 'AROALOCALWORKER000001:worker',
};
const store: CredentialStore = {
  lookup: (id) => [ALICE, SESSION].find((c) => c.accessKeyId === id),
};

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const headers: Record<string, string[]> = {};
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        const name = (req.rawHeaders[i] ?? '').toLowerCase();
        headers[name] = [...(headers[name] ?? []), req.rawHeaders[i + 1] ?? ''];
      }
      const verdict = await verifyRequest(
        {
          method: req.method ?? 'GET',
          rawPath: q < 0 ? url : url.slice(0, q),
          rawQuery: q < 0 ? '' : url.slice(q + 1),
          headers,
          body: Buffer.concat(chunks),
        },
        store,
        { region: 'eu-west-1', service: 'execute-api' },
      );
      res.writeHead(verdict.ok ? 200 : verdict.status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          verdict.ok
            ? { caller: verdict.credential.arn }
            : { code: verdict.code, message: verdict.message },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function curl(args: string[]): Promise<{ status: number; body: Record<string, string> }> {
  const { stdout } = await run('curl', ['-s', '-w', '\n%{http_code}', ...args]);
  const at = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(at + 1)), body: JSON.parse(stdout.slice(0, at)) };
}

const SIGV4 = ['--aws-sigv4', 'aws:amz:eu-west-1:execute-api'];

describe('curl --aws-sigv4', () => {
  it('signs a GET that verifies', async () => {
    const result = await curl([
      ...SIGV4,
      '--user',
      `${ALICE.accessKeyId}:${ALICE.secretAccessKey}`,
      `${base}/jobs`,
    ]);
    expect(result).toEqual({ status: 200, body: { caller: ALICE.arn } });
  });

  it('signs a POST with a body and a query string that verifies', async () => {
    const result = await curl([
      ...SIGV4,
      '--user',
      `${ALICE.accessKeyId}:${ALICE.secretAccessKey}`,
      '-H',
      'content-type: application/json',
      '--data',
      '{"type":"report","input":{"n":1}}',
      `${base}/jobs/report-1?a=1&b=2`,
    ]);
    expect(result).toEqual({ status: 200, body: { caller: ALICE.arn } });
  });

  it('signs a session credential whose token travels in x-amz-security-token', async () => {
    const result = await curl([
      ...SIGV4,
      '--user',
      `${SESSION.accessKeyId}:${SESSION.secretAccessKey}`,
      '-H',
      `x-amz-security-token: ${SESSION.sessionToken}`,
      `${base}/jobs`,
    ]);
    expect(result).toEqual({ status: 200, body: { caller: SESSION.arn } });
  });

  it('fails with a wrong secret key', async () => {
    const result = await curl([
      ...SIGV4,
      '--user',
      `${ALICE.accessKeyId}:wrong-secret`,
      `${base}/jobs`,
    ]);
    expect(result.status).toBe(403);
    expect(result.body.code).toBe('InvalidSignatureException');
    expect(result.body.message).toMatch(/^The request signature we calculated does not match/);
  });

  it('fails when signed for another region or service', async () => {
    const otherRegion = await curl([
      '--aws-sigv4',
      'aws:amz:us-east-1:execute-api',
      '--user',
      `${ALICE.accessKeyId}:${ALICE.secretAccessKey}`,
      `${base}/jobs`,
    ]);
    expect(otherRegion).toEqual({
      status: 403,
      body: {
        code: 'InvalidSignatureException',
        message: "Credential should be scoped to a valid region, not 'us-east-1'. ",
      },
    });
    const otherService = await curl([
      '--aws-sigv4',
      'aws:amz:eu-west-1:lambda',
      '--user',
      `${ALICE.accessKeyId}:${ALICE.secretAccessKey}`,
      `${base}/jobs`,
    ]);
    expect(otherService.body.message).toBe(
      "Credential should be scoped to correct service: 'execute-api'. ",
    );
  });
});
