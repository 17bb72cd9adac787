/**
 * The credentials the local cloud accepts: two local IAM users for people and
 * tests (two, so that isolation between callers can be tried), and one role
 * session per function, as Lambda gives each function its role's credentials.
 */
import { randomBytes } from 'node:crypto';
import { shortId } from './assembly/template';
import type { CredentialStore, FunctionSpec, LocalCredential, LocalEnv } from './contracts';

/**
 * Fixed, so a README, a shell profile or a test can name them. They open
 * nothing but this local cloud.
 */
const USERS = [
  {
    name: 'alice',
    accessKeyId: 'AKIALOCALALICE000001',
    secretAccessKey: 'local/alice/eventjobs/secret/key/000000001',
  },
  {
    name: 'bob',
    accessKeyId: 'AKIALOCALBOB00000002',
    secretAccessKey: 'local/bob/eventjobs/secret/key/0000000002',
  },
] as const;

export class LocalCredentials implements CredentialStore {
  readonly #byKey = new Map<string, LocalCredential>();
  readonly users: readonly LocalCredential[];

  readonly #env: LocalEnv;

  constructor(env: LocalEnv) {
    this.#env = env;
    this.users = USERS.map((user) => ({
      ...user,
      accountId: env.accountId,
      arn: `arn:${env.partition}:iam::${env.accountId}:user/${user.name}`,
      userId: `AIDA${shortId(`user/${user.name}`, 17).toUpperCase()}`,
    }));
    for (const user of this.users) this.#byKey.set(user.accessKeyId, user);
  }

  lookup(accessKeyId: string): LocalCredential | undefined {
    return this.#byKey.get(accessKeyId);
  }

  /** Issues a function's role-session credentials (new on every start, like STS would). */
  issueForFunction(fn: FunctionSpec): LocalCredential {
    const roleName = fn.roleArn?.split('/').pop() ?? `${fn.name}-role`;
    const roleId = `AROA${shortId(`role/${roleName}`, 17).toUpperCase()}`;
    const credential: LocalCredential = {
      name: fn.name,
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(48).toString('base64'),
      accountId: this.#env.accountId,
      arn: `arn:${this.#env.partition}:sts::${this.#env.accountId}:assumed-role/${roleName}/${fn.name}`,
      userId: `${roleId}:${fn.name}`,
    };
    this.#byKey.set(credential.accessKeyId, credential);
    return credential;
  }
}
