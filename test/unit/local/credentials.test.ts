/**
 * The credentials the local cloud accepts: two fixed users, and fresh
 * role-session credentials for each function.
 */
import { describe, expect, it } from 'vitest';
import type { FunctionSpec, LocalEnv } from '../../../local/contracts';
import { LocalCredentials } from '../../../local/credentials';

const ENV: LocalEnv = {
  region: 'eu-west-1',
  accountId: '123456789012',
  partition: 'aws',
  timeScale: 1,
};

function functionSpec(name: string, roleArn?: string): FunctionSpec {
  return {
    logicalId: name,
    name,
    arn: `arn:aws:lambda:eu-west-1:123456789012:function:${name}`,
    handler: 'index.handler',
    codeDir: '/nowhere',
    runtime: 'nodejs22.x',
    timeoutSeconds: 3,
    memoryMb: 128,
    environment: {},
    roleArn,
    logGroupName: `/aws/lambda/${name}`,
    asyncConfig: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21600 },
  };
}

describe('LocalCredentials users', () => {
  it('has two users with distinct keys, ARNs and user ids in the account', () => {
    // act
    const { users } = new LocalCredentials(ENV);

    // assess
    expect(users.map((u) => u.name)).toEqual(['alice', 'bob']);
    expect(users.map((u) => u.arn)).toEqual([
      'arn:aws:iam::123456789012:user/alice',
      'arn:aws:iam::123456789012:user/bob',
    ]);
    expect(new Set(users.map((u) => u.accessKeyId)).size).toBe(2);
    expect(new Set(users.map((u) => u.secretAccessKey)).size).toBe(2);
    expect(new Set(users.map((u) => u.userId)).size).toBe(2);
    for (const user of users) {
      expect(user.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
      expect(user.userId).toMatch(/^AIDA[A-Z0-9]+$/);
      expect(user.accountId).toBe('123456789012');
      expect(user.sessionToken).toBeUndefined();
    }
  });

  it('keeps the same keys across instances, so they can be written down', () => {
    // act
    const first = new LocalCredentials(ENV).users;
    const second = new LocalCredentials({ ...ENV, accountId: '000000000000' }).users;

    // assess
    expect(second.map((u) => u.accessKeyId)).toEqual(first.map((u) => u.accessKeyId));
    expect(second.map((u) => u.secretAccessKey)).toEqual(first.map((u) => u.secretAccessKey));
    expect(second[0]?.arn).toBe('arn:aws:iam::000000000000:user/alice');
  });

  it('looks a user up by access key id, and nothing else', () => {
    // prepare
    const credentials = new LocalCredentials(ENV);
    const [alice, bob] = credentials.users;

    // act
    const found = [alice, bob].map((u) => credentials.lookup(u?.accessKeyId ?? ''));
    const unknown = credentials.lookup('AKIAUNKNOWN000000000');

    // assess
    expect(found).toEqual([alice, bob]);
    expect(unknown).toBeUndefined();
  });
});

describe('LocalCredentials.issueForFunction', () => {
  it("issues session credentials for the function's role, as STS would", () => {
    // prepare
    const credentials = new LocalCredentials(ENV);
    const worker = functionSpec('Demo-Worker', 'arn:aws:iam::123456789012:role/Demo-WorkerRole');

    // act
    const issued = credentials.issueForFunction(worker);

    // assess
    expect(issued.name).toBe('Demo-Worker');
    expect(issued.accessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(issued.secretAccessKey.length).toBeGreaterThanOrEqual(40);
    expect(issued.sessionToken).toEqual(expect.any(String));
    expect(issued.accountId).toBe('123456789012');
    expect(issued.arn).toBe('arn:aws:sts::123456789012:assumed-role/Demo-WorkerRole/Demo-Worker');
    expect(issued.userId).toMatch(/^AROA[A-Z0-9]+:Demo-Worker$/);
  });

  it('names a role after the function when the function has no role ARN', () => {
    // prepare
    const credentials = new LocalCredentials(ENV);

    // act
    const issued = credentials.issueForFunction(functionSpec('Lonely'));

    // assess
    expect(issued.arn).toBe('arn:aws:sts::123456789012:assumed-role/Lonely-role/Lonely');
  });

  it('issues new credentials on every call, each of which lookup finds', () => {
    // prepare
    const credentials = new LocalCredentials(ENV);
    const worker = functionSpec('Demo-Worker', 'arn:aws:iam::123456789012:role/Demo-WorkerRole');

    // act
    const first = credentials.issueForFunction(worker);
    const second = credentials.issueForFunction(worker);

    // assess
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(second.secretAccessKey).not.toBe(first.secretAccessKey);
    expect(second.sessionToken).not.toBe(first.sessionToken);
    expect(second.userId).toBe(first.userId);
    expect(credentials.lookup(first.accessKeyId)).toEqual(first);
    expect(credentials.lookup(second.accessKeyId)).toEqual(second);
  });

  it('does not share issued credentials between instances', () => {
    // prepare
    const one = new LocalCredentials(ENV);
    const other = new LocalCredentials(ENV);

    // act
    const issued = one.issueForFunction(functionSpec('Demo-Worker'));

    // assess
    expect(other.lookup(issued.accessKeyId)).toBeUndefined();
  });
});
