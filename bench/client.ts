/** The benchmark's API client: the CLI's signed client, retrying throttles and 5xx like an SDK. */
import { SignedHttp as ApiClient, type ApiRequest } from '../client/http';
import type { HostInfo } from './protocol';

export interface BenchClient {
  /** Sends a request, retrying 429 and 5xx with exponential backoff and jitter; answers the final response's status and text. */
  send(request: ApiRequest): Promise<{ readonly status: number; readonly text: string }>;
  readonly api: ApiClient;
  /** Requests sent, retries included. */
  readonly counts: { requests: number; retries: number };
}

const MAX_ATTEMPTS = 6;

export function benchClient(info: HostInfo): BenchClient {
  const api = new ApiClient(
    {
      kind: 'local',
      apiUrl: info.apiUrl,
      region: info.region,
      credentials: async () => ({
        accessKeyId: info.accessKeyId,
        secretAccessKey: info.secretAccessKey,
      }),
      description: 'the benchmark local cloud',
    },
    (input, init) => fetch(input, init),
  );
  const counts = { requests: 0, retries: 0 };
  return {
    api,
    counts,
    async send(request) {
      for (let attempt = 1; ; attempt++) {
        counts.requests += 1;
        let status: number;
        let text: string;
        try {
          const response = await api.send(request);
          status = response.status;
          text = await response.text();
        } catch (error) {
          if (attempt >= MAX_ATTEMPTS) throw error;
          status = 0;
          text = String(error);
        }
        if ((status !== 0 && status !== 429 && status < 500) || attempt >= MAX_ATTEMPTS) {
          return { status, text };
        }
        counts.retries += 1;
        const backoff = Math.random() * Math.min(2000, 50 * 2 ** attempt);
        await new Promise((resolve) => setTimeout(resolve, backoff));
      }
    },
  };
}
