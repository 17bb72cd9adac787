/**
 * The API Gateway management API (`@connections`) over a SigV4-signed `fetch`:
 * PostToConnection and DeleteConnection are all the stream needs, which does not
 * justify bundling another SDK client (`@aws-sdk/client-apigatewaymanagementapi`
 * is not a dependency); the signing is the SDK's own signer (`../shared/signer`).
 */
import { type SigV4Credentials, signRequest } from '../shared/signer';
import { GoneConnectionError, ManagementApiError } from './errors';

/** The `fetch` the client calls; the global one fits. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** How long one management API call may take by default. */
export const DEFAULT_MANAGEMENT_TIMEOUT_MS = 5000;

export interface ConnectionsApiOptions {
  /** The stage's callback URL: `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`. */
  readonly callbackUrl: string;
  /** The API's region, part of the signature's scope. */
  readonly region: string;
  /**
   * @default - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`
   * from `env` (what Lambda provides), read on each call
   */
  readonly credentials?: SigV4Credentials;
  /** @default - the global `fetch` */
  readonly fetch?: FetchLike;
  /** One call's time limit, in milliseconds. @default 5000 */
  readonly timeoutMs?: number;
  /** Where the credential variables are read from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** Sends to and closes WebSocket connections of one stage. */
export interface ConnectionsApi {
  /** PostToConnection; rejects with `GoneConnectionError` when the client has left (410). */
  post(connectionId: string, message: unknown): Promise<void>;
  /** DeleteConnection; a connection that is already gone counts as closed. */
  close(connectionId: string): Promise<void>;
}

export function createConnectionsApi(options: ConnectionsApiOptions): ConnectionsApi {
  const env = options.env ?? process.env;
  const base = options.callbackUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_MANAGEMENT_TIMEOUT_MS;
  const doFetch: FetchLike = options.fetch ?? ((target, init) => fetch(target, init));

  async function call(method: 'POST' | 'DELETE', connectionId: string, body?: string) {
    const url = `${base}/@connections/${encodeURIComponent(connectionId)}`;
    const headers: Record<string, string> =
      body === undefined ? {} : { 'content-type': 'application/json' };
    const signed = await signRequest({
      method,
      url,
      headers,
      body: body ?? '',
      credentials: options.credentials ?? credentialsFromEnv(env),
      region: options.region,
      service: 'execute-api',
    });
    let response: Response;
    try {
      response = await doFetch(url, {
        method,
        headers: { ...headers, ...signed },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new ManagementApiError(0, `${method} @connections/${connectionId} failed`, {
        cause: error,
      });
    }
    // The body is short (empty, or an error message); reading it frees the connection.
    const text = await response.text().catch(() => '');
    if (response.status === 410) throw new GoneConnectionError(connectionId);
    if (!response.ok) {
      throw new ManagementApiError(
        response.status,
        `${method} @connections/${connectionId} answered ${response.status}: ${text.slice(0, 200)}`,
      );
    }
  }

  return {
    post: (connectionId, message) => call('POST', connectionId, JSON.stringify(message)),
    async close(connectionId) {
      try {
        await call('DELETE', connectionId);
      } catch (error) {
        if (!(error instanceof GoneConnectionError)) throw error;
      }
    },
  };
}

function credentialsFromEnv(env: NodeJS.ProcessEnv): SigV4Credentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new ManagementApiError(0, 'No AWS credentials in the environment to sign with');
  }
  const sessionToken = env.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}
