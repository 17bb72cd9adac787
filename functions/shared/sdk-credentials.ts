/**
 * What the bundles use in place of `@aws-sdk/credential-provider-node` (an esbuild
 * alias in `infra/bundling.ts`): the SDK clients' default credential chain.
 *
 * The real chain looks in the environment, shared ini files, SSO, web identity,
 * process credentials, container and instance metadata, and bundles an STS/SSO
 * client to do so: about 140 KB of a function's bundle and a third of its cold
 * init, for sources a Lambda function never has. Lambda (and the local cloud)
 * put the credentials in the environment, so the chain here is that one link.
 * Code that is not bundled (unit tests, the local cloud, the CLI) keeps the real chain.
 */
import { credentialsFromEnv } from './credentials';
import type { SigV4Credentials } from './signer';

/**
 * The export the SDK clients import (`defaultProvider(init)` returns the credential
 * provider). Credentials are read from the environment on each call, as the
 * SDK's own environment provider does.
 */
export function defaultProvider(_init?: unknown): () => Promise<SigV4Credentials> {
  return async () => credentialsFromEnv();
}
