import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../../../core/errors';
import { ownerModelFromEnv, ownerOf } from '../../../../functions/shared/identity';
import { apiEvent } from '../../helpers/api-event';

describe('ownerOf', () => {
  it('is the IAM user ARN for a user', () => {
    // Prepare
    const event = apiEvent({ userArn: 'arn:aws:iam::123456789012:user/alice' });

    // Act
    const owner = ownerOf(event);

    // Assess
    expect(owner).toBe('arn:aws:iam::123456789012:user/alice');
  });

  it('is the role, not the session, for an assumed role', () => {
    // Prepare
    const first = apiEvent({ userArn: 'arn:aws:sts::123456789012:assumed-role/ci/run-1' });
    const second = apiEvent({ userArn: 'arn:aws:sts::123456789012:assumed-role/ci/run-2' });

    // Act
    const owners = [ownerOf(first), ownerOf(second)];

    // Assess
    expect(owners).toEqual([
      'arn:aws:sts::123456789012:assumed-role/ci',
      'arn:aws:sts::123456789012:assumed-role/ci',
    ]);
  });

  it.each([
    [
      'aws-cn',
      'arn:aws-cn:sts::123456789012:assumed-role/app/i-0abc',
      'arn:aws-cn:sts::123456789012:assumed-role/app',
    ],
    [
      'aws-us-gov',
      'arn:aws-us-gov:sts::123456789012:assumed-role/app/s@x.example',
      'arn:aws-us-gov:sts::123456789012:assumed-role/app',
    ],
  ])('normalises assumed-role sessions in the %s partition', (_, arn, expected) => {
    // Act
    const owner = ownerOf(apiEvent({ userArn: arn }));

    // Assess
    expect(owner).toBe(expected);
  });

  it('keeps different roles, and the same role in different accounts, apart', () => {
    // Act
    const owners = new Set(
      [
        'arn:aws:sts::123456789012:assumed-role/ci/s',
        'arn:aws:sts::123456789012:assumed-role/cd/s',
        'arn:aws:sts::210987654321:assumed-role/ci/s',
      ].map((userArn) => ownerOf(apiEvent({ userArn }))),
    );

    // Assess
    expect(owners.size).toBe(3);
  });

  it.each([
    'arn:aws:iam::123456789012:root',
    'arn:aws:sts::123456789012:federated-user/bob',
    // Not a session ARN: nothing to strip.
    'arn:aws:sts::123456789012:assumed-role/ci',
    'arn:aws:iam::123456789012:role/assumed-role/x',
  ])('leaves %s as it is', (userArn) => {
    // Act
    const owner = ownerOf(apiEvent({ userArn }));

    // Assess
    expect(owner).toBe(userArn);
  });

  it.each([
    ['no authorizer', null],
    ['an empty ARN', ''],
  ])('refuses a request with %s as 403 Forbidden', (_, userArn) => {
    // Prepare
    const event = apiEvent({ userArn });

    // Act
    const act = () => ownerOf(event);

    // Assess
    expect(act).toThrow(ForbiddenError);
    expect(act).toThrow(expect.objectContaining({ statusCode: 403, code: 'Forbidden' }));
  });
});

describe('ownerOf with the session owner model', () => {
  it('gives each Identity Center session of one role its own owner', () => {
    // Prepare: two people signed in through IAM Identity Center with one permission set.
    const role = 'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Developer_0123456789abcdef';
    const alice = apiEvent({ userArn: `${role}/alice@example.com` });
    const bob = apiEvent({ userArn: `${role}/bob@example.com` });

    // Act
    const owners = [ownerOf(alice, 'session'), ownerOf(bob, 'session')];

    // Assess
    expect(owners).toEqual([`${role}/alice@example.com`, `${role}/bob@example.com`]);
    expect(ownerOf(alice, 'principal')).toBe(ownerOf(bob, 'principal'));
  });

  it('keeps an IAM user its own owner', () => {
    // Act & Assess
    const event = apiEvent({ userArn: 'arn:aws:iam::123456789012:user/alice' });
    expect(ownerOf(event, 'session')).toBe('arn:aws:iam::123456789012:user/alice');
  });
});

describe('ownerModelFromEnv', () => {
  it('is principal when unset, and refuses a model it does not know', () => {
    // Act & Assess
    expect(ownerModelFromEnv({})).toBe('principal');
    expect(ownerModelFromEnv({ OWNER_MODEL: 'session' })).toBe('session');
    expect(() => ownerModelFromEnv({ OWNER_MODEL: 'role' })).toThrow(/OWNER_MODEL must be one of/);
  });
});
