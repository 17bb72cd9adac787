/**
 * The identity a deployed stack's requests are signed with: given outright,
 * from a provider function, or from the AWS SDK's default chain. The SDK is
 * loaded with a dynamic `import()` on first use, so that a client of the
 * local cloud (and the CLI's start-up) never pays for it.
 */
import type { SigV4Credentials } from '../functions/shared/signer';
import { UnreachableError } from './errors';

/** AWS credentials; `expiration` (temporary ones) tells the client when to fetch new ones. */
export interface Credentials extends SigV4Credentials {
  readonly expiration?: Date;
}

/**
 * Answers credentials for the stack's region. The AWS SDK's providers
 * (`fromNodeProviderChain()`, `fromSSO()`, ...) fit.
 */
export type CredentialsProvider = (context: { readonly region: string }) => Promise<Credentials>;

/** Temporary credentials are fetched again this long before they expire. */
const REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * A function answering the credentials to sign with: fetched once and reused
 * until shortly before they expire. A failed fetch is not kept, so the next
 * call tries again (after `aws sso login`, say).
 */
export function credentialsSource(
  given: Credentials | CredentialsProvider | undefined,
  region: string,
  now: () => number = Date.now,
): () => Promise<SigV4Credentials> {
  if (given !== undefined && typeof given !== 'function') {
    const fixed = signingPart(given);
    return async () => fixed;
  }
  const provider = given ?? (({ region }) => defaultAwsCredentials(region));
  let cached: { readonly credentials: Promise<SigV4Credentials>; expiresAt: number } | undefined;
  return () => {
    if (cached !== undefined && now() < cached.expiresAt) return cached.credentials;
    const entry = {
      // Through a promise, so that a provider that throws at once is reported like one that rejects.
      credentials: Promise.resolve({ region })
        .then(provider)
        .then(
          (credentials) => {
            entry.expiresAt = credentials.expiration
              ? credentials.expiration.getTime() - REFRESH_BEFORE_MS
              : Number.POSITIVE_INFINITY;
            return signingPart(credentials);
          },
          (error: unknown) => {
            if (cached === entry) cached = undefined;
            throw noCredentials(error);
          },
        ),
      // Until they arrive, callers share the pending fetch.
      expiresAt: Number.POSITIVE_INFINITY,
    };
    cached = entry;
    return entry.credentials;
  };
}

/** The AWS SDK's default chain: environment, SSO, profiles, container and instance roles. */
export async function defaultAwsCredentials(region: string): Promise<Credentials> {
  // Loaded on first use: a call to the local cloud never needs it. In a Lambda bundle
  // the construct aliases this package to the environment alone (infra/bundling.ts), so
  // job code that imports `eventjobs` does not carry the whole chain.
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  const identity = await defaultProvider({ clientConfig: { region } })();
  return {
    accessKeyId: identity.accessKeyId,
    secretAccessKey: identity.secretAccessKey,
    ...(identity.sessionToken ? { sessionToken: identity.sessionToken } : {}),
    ...(identity.expiration ? { expiration: identity.expiration } : {}),
  };
}

/** Only what signing uses: a provider's identity may carry more (scope, account id). */
function signingPart(credentials: Credentials): SigV4Credentials {
  return {
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
  };
}

function noCredentials(error: unknown): UnreachableError {
  const reason = error instanceof Error ? error.message : String(error);
  return new UnreachableError(`no AWS credentials: ${reason}`, {
    hint: 'set AWS_PROFILE (then `aws sso login` if it uses SSO) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    cause: error,
  });
}
