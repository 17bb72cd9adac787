/**
 * The function's AWS credentials. In Lambda they are always in the environment
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, refreshed
 * by Lambda per sandbox), and the local cloud passes its own the same way, so
 * this is the only source the functions need: the SDK clients get it through
 * `sdk-credentials.ts`.
 */
import { AppError } from '../../core/errors';
import type { SigV4Credentials } from './signer';

/** No credentials in the environment: a deployment or local-cloud mistake. */
export class MissingCredentialsError extends AppError {}

/** Reads the credentials from `env` (read on each call: cheap, and never stale); fails naming what is missing. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): SigV4Credentials {
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    throw new MissingCredentialsError(
      'No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass credentials',
    );
  }
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  return sessionToken === undefined
    ? { accessKeyId, secretAccessKey }
    : { accessKeyId, secretAccessKey, sessionToken };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
