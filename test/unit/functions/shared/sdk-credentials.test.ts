import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  credentialsFromEnv,
  MissingCredentialsError,
} from '../../../../functions/shared/credentials';
import { defaultProvider } from '../../../../functions/shared/sdk-credentials';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('credentialsFromEnv', () => {
  it('reads the key, secret and session token Lambda puts in the environment', () => {
    // Act
    const credentials = credentialsFromEnv({
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
    });

    // Assess
    expect(credentials).toEqual({
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: 'token',
    });
  });

  it('leaves out an empty session token', () => {
    // Act
    const credentials = credentialsFromEnv({
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: '',
    });

    // Assess
    expect(credentials).toEqual({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' });
  });

  it.each([
    ['no key', { AWS_SECRET_ACCESS_KEY: 'secret' }],
    ['no secret', { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' }],
    ['an empty key', { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: 'secret' }],
  ])('fails naming the variables when there is %s', (_, env) => {
    // Act & Assess
    expect(() => credentialsFromEnv(env)).toThrow(MissingCredentialsError);
    expect(() => credentialsFromEnv(env)).toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });
});

describe('the bundles’ credential chain (defaultProvider)', () => {
  it('gives the SDK the credentials of the environment at each call', async () => {
    // Prepare
    const provider = defaultProvider({ profile: 'ignored' });
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAFIRST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'first');
    vi.stubEnv('AWS_SESSION_TOKEN', '');

    // Act
    const first = await provider();
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIASECOND');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'second');
    vi.stubEnv('AWS_SESSION_TOKEN', 'token');
    const second = await provider();

    // Assess
    expect(first).toEqual({ accessKeyId: 'AKIAFIRST', secretAccessKey: 'first' });
    expect(second).toEqual({
      accessKeyId: 'AKIASECOND',
      secretAccessKey: 'second',
      sessionToken: 'token',
    });
  });

  it('is what an SDK client signs with when it is its default chain', async () => {
    // Prepare: a client given the chain as the bundles give it, and a transport that keeps the request
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIABUNDLECHAIN00000');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'bundle-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'bundle-token');
    const sent: Array<{ headers: Record<string, string> }> = [];
    const client = new DynamoDBClient({
      region: 'eu-west-1',
      credentialDefaultProvider: defaultProvider,
      requestHandler: {
        handle: async (request: { headers: Record<string, string> }) => {
          sent.push(request);
          throw new Error('not sent');
        },
      },
      maxAttempts: 1,
    });

    // Act
    await client
      .send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } }))
      .catch(() => undefined);

    // Assess
    expect(sent[0]?.headers.authorization).toContain('Credential=AKIABUNDLECHAIN00000/');
    expect(sent[0]?.headers['x-amz-security-token']).toBe('bundle-token');
  });
});
