/**
 * A stand-in for Lambda's Invoke endpoint on 127.0.0.1: it records each request
 * as it arrived on the wire and answers as a test tells it to. Functions reach
 * it through `AWS_ENDPOINT_URL_LAMBDA`, as they reach the local cloud.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request, as received. */
export interface ReceivedInvoke {
  readonly method: string;
  /** The path, still percent-encoded. */
  readonly rawPath: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The function name, decoded from the path. */
  readonly functionName: string;
  readonly invocationType: string | undefined;
}

/**
 * How to answer: a status (with an `x-amzn-errortype` for an error, or an
 * `x-amz-function-error`), or `drop` to close the connection unanswered.
 */
export type InvokeAnswer =
  | { readonly status: number; readonly errorType?: string; readonly functionError?: string }
  | 'drop';

export interface LambdaEndpoint {
  /** The base URL, e.g. `http://127.0.0.1:43210`. */
  readonly url: string;
  readonly received: readonly ReceivedInvoke[];
  /** Answers the next requests in this order; the last answer repeats. @default 202 */
  answer(...answers: InvokeAnswer[]): void;
  /** Forgets what was received and answers 202 again. */
  reset(): void;
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export async function startLambdaEndpoint(): Promise<LambdaEndpoint> {
  const received: ReceivedInvoke[] = [];
  let answers: InvokeAnswer[] = [{ status: 202 }];

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawPath = request.url ?? '';
      const invocationType = request.headers['x-amz-invocation-type'];
      received.push({
        method: request.method ?? '',
        rawPath,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        functionName: decodeURIComponent(INVOKE_PATH.exec(rawPath)?.[1] ?? ''),
        invocationType: Array.isArray(invocationType) ? invocationType[0] : invocationType,
      });
      const answer = (answers.length > 1 ? answers.shift() : answers[0]) ?? { status: 202 };
      if (answer === 'drop') {
        request.socket.destroy();
        return;
      }
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (answer.errorType) headers['x-amzn-errortype'] = `${answer.errorType}:http://internal/`;
      if (answer.functionError) headers['x-amz-function-error'] = answer.functionError;
      response.writeHead(answer.status, headers);
      response.end(
        answer.errorType ? JSON.stringify({ Type: 'User', message: `${answer.errorType}.` }) : '',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answer(...next) {
      answers = next.length > 0 ? next : [{ status: 202 }];
    },
    reset() {
      received.length = 0;
      answers = [{ status: 202 }];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
