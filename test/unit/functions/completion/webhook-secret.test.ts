import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CredentialStore, LocalCredential } from '../../../../local/contracts';
import { verifyRequest } from '../../../../local/sigv4';

const REGION = 'eu-west-1';
const LAMBDA_ROLE: LocalCredential = {
  name: 'completion-fn',
  accessKeyId: 'ASIALOCALWEBHOOK0001',
  secretAccessKey: 'webhook/secret/key/00000000000000000001',
  sessionToken: 'IQoJb3JpZ2luX2VjEPr//////////session+token==',
  accountId: '123456789012',
  arn: 'arn:aws:sts::123456789012:assumed-role/CompletionRole/completion-fn',
  userId: 'AROALOCALWEBHOOK00001:completion-fn',
};
const store: CredentialStore = {
  lookup: (id) => (id === LAMBDA_ROLE.accessKeyId ? LAMBDA_ROLE : undefined),
};

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

beforeEach(() => {
  vi.stubEnv('AWS_REGION', REGION);
  vi.stubEnv('AWS_ACCESS_KEY_ID', LAMBDA_ROLE.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', LAMBDA_ROLE.secretAccessKey);
  vi.stubEnv('AWS_SESSION_TOKEN', LAMBDA_ROLE.sessionToken ?? '');
});

afterEach(async () => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
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
 * (JSON 1.1, `__type` errors) after checking the target and the SigV4
 * signature with the local cloud's verifier.
 */
async function startSecretsManager(
  secrets: Record<string, { SecretString?: string; SecretBinary?: string }>,
): Promise<FakeSecretsManager> {
  const requests: SeenRequest[] = [];
  const server = createServer((request, response) => {
    // No Date header: the SDK would take a faked test clock's distance from it for skew.
    response.sendDate = false;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const [rawPath = '', rawQuery = ''] = (request.url ?? '').split('?');
      const verified = await verifyRequest(
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
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(payload));
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
        VersionId: 'v1',
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

/** The module afresh, as a cold start loads it: its client reads the endpoint variables then. */
async function loadReader(endpoint: string) {
  vi.stubEnv('AWS_ENDPOINT_URL', endpoint);
  vi.resetModules();
  return (await import('../../../../functions/completion/webhook-secret')).readSecretString;
}

describe('readSecretString', () => {
  it('calls GetSecretValue at AWS_ENDPOINT_URL, signed as the local cloud checks, and returns SecretString', async () => {
    // Prepare
    const sm = await startSecretsManager({ 'webhooks/signing': { SecretString: 'whsec_abc' } });
    const readSecretString = await loadReader(sm.endpoint);

    // Act
    const value = await readSecretString('webhooks/signing');

    // Assess
    expect(value).toBe('whsec_abc');
    expect(sm.requests).toHaveLength(1);
    const [seen] = sm.requests;
    expect(seen).toMatchObject({ method: 'POST', path: '/', signatureOk: true });
    expect(JSON.parse(seen?.body ?? '{}')).toEqual({ SecretId: 'webhooks/signing' });
    expect(seen?.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(seen?.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(seen?.headers['x-amz-security-token']).toBe(LAMBDA_ROLE.sessionToken);
    expect(seen?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=ASIALOCALWEBHOOK0001\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request, /,
    );
  });

  it('reuses a value for five minutes, per secret id, then reads it again', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const sm = await startSecretsManager({
      a: { SecretString: 'value-a' },
      b: { SecretString: 'value-b' },
    });
    const readSecretString = await loadReader(sm.endpoint);

    // Act
    const first = await readSecretString('a');
    vi.advanceTimersByTime(299_000);
    const cached = await readSecretString('a');
    const other = await readSecretString('b');
    vi.advanceTimersByTime(2_000);
    const reread = await readSecretString('a');

    // Assess
    expect([first, cached, other, reread]).toEqual(['value-a', 'value-a', 'value-b', 'value-a']);
    expect(sm.requests.map((seen) => JSON.parse(seen.body).SecretId)).toEqual(['a', 'b', 'a']);
  });

  it('rejects when the secret is not found, and does not cache the failure', async () => {
    // Prepare
    const sm = await startSecretsManager({});
    const readSecretString = await loadReader(sm.endpoint);

    // Act
    const first = readSecretString('missing');
    await expect(first).rejects.toMatchObject({
      name: 'GetParameterError',
      cause: { name: 'ResourceNotFoundException' },
    });
    const second = readSecretString('missing');

    // Assess
    await expect(second).rejects.toThrow("Secrets Manager can't find the specified secret.");
    expect(sm.requests).toHaveLength(2);
  });

  it('rejects when Secrets Manager refuses the signature', async () => {
    // Prepare: a key the verifier does not know
    const sm = await startSecretsManager({ s: { SecretString: 'x' } });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIANOTKNOWN00000000');
    const readSecretString = await loadReader(sm.endpoint);

    // Act
    const reading = readSecretString('s');

    // Assess
    await expect(reading).rejects.toMatchObject({
      name: 'GetParameterError',
      cause: { name: 'UnrecognizedClientException' },
    });
  });

  it('rejects when Secrets Manager cannot be reached', async () => {
    // Prepare: a port that was just free
    const sm = await startSecretsManager({});
    const server = servers.pop();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    const readSecretString = await loadReader(sm.endpoint);

    // Act
    const reading = readSecretString('a');

    // Assess
    await expect(reading).rejects.toMatchObject({ name: 'GetParameterError' });
    await expect(reading).rejects.toThrow(/ECONNREFUSED/);
  });

  it('rejects a secret without a SecretString', async () => {
    // Prepare
    const sm = await startSecretsManager({ bin: { SecretBinary: 'AAEC' } });
    const readSecretString = await loadReader(sm.endpoint);

    // Act
    const reading = readSecretString('bin');

    // Assess
    await expect(reading).rejects.toThrow('Secret bin has no SecretString');
  });
});
