/**
 * What the end-to-end suite runs against: the local cloud that global-setup
 * starts, or a deployed stack named by environment variables (see the README).
 */
import type { SigV4Credentials } from '../../functions/shared/signer';

export interface Identity extends SigV4Credentials {
  /** The owner the API files this identity's jobs under (its IAM user ARN, or role ARN). */
  readonly owner: string;
}

export interface E2eTarget {
  readonly kind: 'local' | 'deployed';
  readonly apiUrl: string;
  readonly region: string;
  readonly tableName: string;
  /** Where DynamoDB is reached (the local AWS endpoint); undefined for AWS itself. */
  readonly awsEndpoint?: string;
  /** Credentials for reading the table directly. */
  readonly tableReader: SigV4Credentials;
  readonly alice: Identity;
  readonly bob: Identity;
  /** The worker's Lambda timeout in this stack, for the timeout test. */
  readonly workerTimeoutSeconds: number;
  /** The value of the stack's webhook signing secret, for the test receiver. */
  readonly webhookSecret?: string;
  /** The reference app's queue of outcomes (`onOutcome`), read with `tableReader`'s credentials. */
  readonly outcomeQueueUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: E2eTarget;
  }
}

/** A deployed stack's target from EVENTJOBS_* variables; undefined when EVENTJOBS_API_URL is unset. */
export function deployedTargetFromEnv(env: NodeJS.ProcessEnv = process.env): E2eTarget | undefined {
  const apiUrl = env.EVENTJOBS_API_URL;
  if (!apiUrl) return undefined;
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is required when EVENTJOBS_API_URL is set`);
    return value;
  };
  const identity = (prefix: 'EVENTJOBS_A' | 'EVENTJOBS_B'): Identity => ({
    accessKeyId: need(`${prefix}_ACCESS_KEY_ID`),
    secretAccessKey: need(`${prefix}_SECRET_ACCESS_KEY`),
    sessionToken: env[`${prefix}_SESSION_TOKEN`] || undefined,
    owner: need(`${prefix}_OWNER`),
  });
  const alice = identity('EVENTJOBS_A');
  return {
    kind: 'deployed',
    apiUrl: apiUrl.replace(/\/+$/, ''),
    region: need('EVENTJOBS_REGION'),
    tableName: need('EVENTJOBS_TABLE_NAME'),
    tableReader: alice,
    alice,
    bob: identity('EVENTJOBS_B'),
    workerTimeoutSeconds: Number(env.EVENTJOBS_WORKER_TIMEOUT_SECONDS ?? '6'),
    webhookSecret: env.EVENTJOBS_WEBHOOK_SECRET || undefined,
    outcomeQueueUrl: need('EVENTJOBS_OUTCOME_QUEUE_URL'),
  };
}
