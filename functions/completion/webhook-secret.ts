/**
 * The secret webhooks are signed with, read from Secrets Manager by Powertools
 * Parameters: cached per sandbox (Secrets Manager bills and throttles per
 * call), through an SDK client that honours `AWS_ENDPOINT_URL`, so the local
 * cloud's Secrets Manager answers it there.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';

/** How long a value is reused: 5 minutes (Powertools' own default is 5 seconds). */
export const SECRET_MAX_AGE_SECONDS = 300;

/** Built once at module scope, so its cache and connections outlive an invocation. */
const secrets = new SecretsProvider();

/**
 * The `SecretString` of a secret's current version. Rejects when the secret
 * cannot be read (Powertools' `GetParameterError`, the SDK's error as its
 * `cause`) or has no string value; a failure is not cached.
 */
export async function readSecretString(secretId: string): Promise<string> {
  const value = await secrets.get(secretId, { maxAge: SECRET_MAX_AGE_SECONDS });
  if (typeof value !== 'string') {
    throw new Error(`Secret ${secretId} has no SecretString (a binary secret, or an empty one)`);
  }
  return value;
}
