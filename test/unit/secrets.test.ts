import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSecretReader,
  type FetchLike,
  SecretsManagerError,
} from '../../functions/shared/secrets';
import type { CredentialStore, LocalCredential } from '../../local/contracts';
import { verifyRequest } from '../../local/sigv4';

const REGION = 'eu-west-1';
const LAMBDA_ROLE: LocalCredential = {
  name: 'webhook-fn',
  accessKeyId: 'ASIALOCALWEBHOOK0001',
  secretAccessKey: 'webhook/secret/key/00000000000000000001',
  sessionToken: 'IQoJb3JpZ2luX2VjEPr//////////session+token==',
  accountId: '123456789012',
  arn: 'arn:aws:sts::123456789012:assumed-role/WebhookRole/webhook-fn',
  userId: 'AROALOCALWEBHOOK00001:webhook-fn',
};
const store: CredentialStore = {
  lookup: (id) => (id === LAMBDA_ROLE.accessKeyId ? LAMBDA_ROLE : undefined),
};
const CREDENTIALS = {
  accessKeyId: LAMBDA_ROLE.accessKeyId,
  secretAccessKey: LAMBDA_ROLE.secretAccessKey,
  sessionToken: LAMBDA_ROLE.sessionToken,
};

const AUTHORIZATION_SHAPE =
  /^AWS4-HMAC-SHA256 Credential=ASIALOCALWEBHOOK0001\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/;

interface SeenRequest {
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** What the local cloud's SigV4 verifier says of the request. */
  readonly signatureOk: boolean;
}

interface FakeSecretsManager {
  readonly endpoint: string;
  readonly requests: SeenRequest[];
}

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/**
 * A fake Secrets Manager on 127.0.0.1: answers `GetSecretValue` like AWS does
 * (JSON 1.1, `__type` errors) after checking the target, content type and
 * SigV4 signature; answers each request after `delayMs`.
 */
async function startSecretsManager(
  secrets: Record<string, { SecretString?: string; SecretBinary?: string }>,
  options: { delayMs?: number; version?: () => string } = {},
): Promise<FakeSecretsManager> {
  const requests: SeenRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const [rawPath = '', rawQuery = ''] = (request.url ?? '').split('?');
      const verified = verifyRequest(
        { method: request.method ?? '', rawPath, rawQuery, headers: request.headers, body },
        store,
        { region: REGION, service: 'secretsmanager' },
      );
      requests.push({
        method: request.method,
        path: request.url,
        headers: request.headers,
        body,
        signatureOk: verified.ok,
      });
      const send = (status: number, payload: unknown): void => {
        setTimeout(() => {
          response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
          response.end(JSON.stringify(payload));
        }, options.delayMs ?? 0);
      };
      if (!verified.ok) {
        send(verified.status, { __type: verified.code, message: verified.message });
        return;
      }
      if (request.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        send(400, { __type: 'UnknownOperationException' });
        return;
      }
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      const secret = secrets[SecretId];
      if (secret === undefined) {
        send(400, {
          __type: 'com.amazonaws.secretsmanager#ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        });
        return;
      }
      send(200, {
        ARN: `arn:aws:secretsmanager:${REGION}:123456789012:secret:${SecretId}-AbCdEf`,
        Name: SecretId,
        VersionId: options.version?.() ?? 'v1',
        VersionStages: ['AWSCURRENT'],
        ...secret,
      });
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, requests };
}

describe('createSecretReader', () => {
  it('calls GetSecretValue over JSON 1.1, SigV4-signed, and returns SecretString', async () => {
    // Prepare
    const sm = await startSecretsManager({ 'webhooks/signing': { SecretString: 'whsec_abc' } });
    const reader = createSecretReader({
      region: REGION,
      endpoint: sm.endpoint,
      credentials: CREDENTIALS,
    });

    // Act
    const value = await reader.getSecretString('webhooks/signing');

    // Assess
    expect(value).toBe('whsec_abc');
    expect(sm.requests).toHaveLength(1);
    const [seen] = sm.requests;
    expect(seen).toMatchObject({
      method: 'POST',
      path: '/',
      body: '{"SecretId":"webhooks/signing"}',
      signatureOk: true,
    });
    expect(seen?.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(seen?.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(seen?.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
    expect(seen?.headers.authorization).toMatch(AUTHORIZATION_SHAPE);
  });

  it('reads the endpoint and the credentials from the environment, as Lambda sets them', async () => {
    // Prepare
    const sm = await startSecretsManager({ s: { SecretString: 'from-env' } });
    const env = {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9', // the service-specific variable wins
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
    };

    // Act
    const value = await createSecretReader({ region: REGION, env }).getSecretString('s');

    // Assess
    expect(value).toBe('from-env');
    expect(sm.requests[0]?.signatureOk).toBe(true);
    expect(sm.requests[0]?.headers.authorization).toMatch(AUTHORIZATION_SHAPE);
  });

  it('falls back to AWS_ENDPOINT_URL, then to the regional endpoint', async () => {
    // Prepare
    const urls: string[] = [];
    const fakeFetch: FetchLike = async (url) => {
      urls.push(url);
      return new Response('{"SecretString":"x"}', { status: 200 });
    };
    const base = { region: 'us-east-2', credentials: CREDENTIALS, fetch: fakeFetch };

    // Act
    await createSecretReader({
      ...base,
      env: { AWS_ENDPOINT_URL: 'http://localhost:4566' },
    }).getSecretString('a');
    await createSecretReader({ ...base, env: {} }).getSecretString('a');

    // Assess
    expect(urls).toEqual([
      'http://localhost:4566/',
      'https://secretsmanager.us-east-2.amazonaws.com/',
    ]);
  });

  it('caches a value for ttlMs, per secret id', async () => {
    // Prepare
    let version = 0;
    const sm = await startSecretsManager(
      { a: { SecretString: 'A' }, b: { SecretString: 'B' } },
      { version: () => `v${++version}` },
    );
    let clock = 1_000_000;
    const reader = createSecretReader({
      region: REGION,
      endpoint: sm.endpoint,
      credentials: CREDENTIALS,
      ttlMs: 60_000,
      now: () => clock,
    });

    // Act
    await reader.getSecretString('a');
    await reader.getSecretString('a');
    await reader.getSecretString('b');
    clock += 59_999;
    await reader.getSecretString('a');
    const cachedCount = sm.requests.length;
    clock += 1;
    await reader.getSecretString('a');

    // Assess
    expect(cachedCount).toBe(2);
    expect(sm.requests.map((r) => JSON.parse(r.body).SecretId)).toEqual(['a', 'b', 'a']);
  });

  it('shares one request among concurrent reads of one secret', async () => {
    // Prepare
    const sm = await startSecretsManager(
      { a: { SecretString: 'A' }, b: { SecretString: 'B' } },
      { delayMs: 50 },
    );
    const reader = createSecretReader({
      region: REGION,
      endpoint: sm.endpoint,
      credentials: CREDENTIALS,
    });

    // Act
    const values = await Promise.all([
      reader.getSecretString('a'),
      reader.getSecretString('a'),
      reader.getSecretString('b'),
      reader.getSecretString('a'),
      reader.getSecretString('a'),
    ]);

    // Assess
    expect(values).toEqual(['A', 'A', 'B', 'A', 'A']);
    expect(sm.requests).toHaveLength(2);
  });

  it("maps an AWS error to a SecretsManagerError with AWS's type and message, and does not cache it", async () => {
    // Prepare
    const sm = await startSecretsManager({});
    const reader = createSecretReader({
      region: REGION,
      endpoint: sm.endpoint,
      credentials: CREDENTIALS,
    });

    // Act
    const first = reader.getSecretString('missing');
    const second = reader.getSecretString('missing');

    // Assess
    await expect(first).rejects.toThrow(SecretsManagerError);
    await expect(first).rejects.toMatchObject({
      name: 'SecretsManagerError',
      code: 'ResourceNotFoundException',
      statusCode: 400,
      message:
        "Secrets Manager GetSecretValue for missing failed with 400 ResourceNotFoundException: Secrets Manager can't find the specified secret.",
    });
    await expect(second).rejects.toThrow(SecretsManagerError);
    expect(sm.requests).toHaveLength(1);
    await expect(reader.getSecretString('missing')).rejects.toThrow(/ResourceNotFoundException/);
    expect(sm.requests).toHaveLength(2);
  });

  it('reports a refused signature with its AWS error type', async () => {
    // Prepare
    const sm = await startSecretsManager({ a: { SecretString: 'A' } });
    const reader = createSecretReader({
      region: REGION,
      endpoint: sm.endpoint,
      credentials: { ...CREDENTIALS, secretAccessKey: 'wrong' },
    });

    // Act & Assess
    await expect(reader.getSecretString('a')).rejects.toMatchObject({
      code: 'InvalidSignatureException',
      statusCode: 403,
    });
  });

  it('reports a non-JSON error body and the x-amzn-ErrorType header', async () => {
    // Prepare
    const fakeFetch: FetchLike = async () =>
      new Response('upstream exploded', {
        status: 503,
        headers: { 'x-amzn-ErrorType': 'ServiceUnavailableException:http://internal' },
      });
    const reader = createSecretReader({
      region: REGION,
      endpoint: 'http://sm.invalid',
      credentials: CREDENTIALS,
      fetch: fakeFetch,
    });

    // Act & Assess
    await expect(reader.getSecretString('a')).rejects.toThrow(
      'Secrets Manager GetSecretValue for a failed with 503 ServiceUnavailableException: upstream exploded',
    );
  });

  it('refuses a secret without a SecretString', async () => {
    // Prepare
    const sm = await startSecretsManager({ bin: { SecretBinary: 'AAEC' } });
    const reader = createSecretReader({
      region: REGION,
      endpoint: sm.endpoint,
      credentials: CREDENTIALS,
    });

    // Act & Assess
    await expect(reader.getSecretString('bin')).rejects.toThrow('Secret bin has no SecretString');
  });

  it('fails clearly without credentials, before any request', async () => {
    // Prepare
    const urls: string[] = [];
    const reader = createSecretReader({
      region: REGION,
      env: {},
      fetch: async (url) => {
        urls.push(url);
        return new Response('{}');
      },
    });

    // Act & Assess
    await expect(reader.getSecretString('a')).rejects.toThrow(/AWS_ACCESS_KEY_ID/);
    expect(urls).toEqual([]);
  });

  it('fails clearly when the service cannot be reached', async () => {
    // Prepare: a port that was just free.
    const sm = await startSecretsManager({});
    const server = servers.pop();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    const reader = createSecretReader({
      region: REGION,
      endpoint: sm.endpoint,
      credentials: CREDENTIALS,
    });

    // Act & Assess
    await expect(reader.getSecretString('a')).rejects.toThrow(
      /^Secrets Manager GetSecretValue for a failed: .*ECONNREFUSED/,
    );
  });
});
