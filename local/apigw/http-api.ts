/**
 * A local API Gateway HTTP API: routes requests to Lambda proxy integrations
 * (payload format 2.0) with AWS's route selection, IAM (SigV4)
 * authorization, limits, throttling, error answers and access logs.
 *
 * `handleRequest` is the whole gateway as a function from request to
 * response, for tests; `handle` and `listen` put it on a node HTTP server.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type CredentialStore,
  type HttpApiSpec,
  type HttpIntegrationSpec,
  type HttpRouteSpec,
  type InvokeResult,
  type LambdaInvoker,
  LambdaServiceError,
  type LocalCredential,
  type LocalEnv,
  type LogSink,
} from '../contracts';
import { percentDecodeBytes } from '../percent-decode';
import { verifyRequest } from '../sigv4';
import { type AccessLogValues, renderAccessLog } from './access-log';
import {
  clfTime,
  type HttpApiEventV2,
  iamAuthorizerContext,
  isTextContentType,
  queryStringParameters,
  splitCookies,
} from './event';
import { type GatewayResponse, gatewayError, mapLambdaResult } from './response';
import { parseRouteKey, RouteTable } from './routes';
import { TokenBucket } from './throttle';
import { isUnsignedRequest, withLocalHint } from './unsigned-hint';

/** AWS's fixed HTTP API quotas. */
export const HTTP_API_LIMITS = {
  /** Payload size: 10 MB. */
  maxBodyBytes: 10 * 1024 * 1024,
  /** Total combined size of request line and header values. */
  maxRequestLineAndHeadersBytes: 10_240,
  /** Integration timeout: 50 ms to 30 s. */
  minIntegrationTimeoutMs: 50,
  maxIntegrationTimeoutMs: 30_000,
} as const;

/** What a node server reads before the gateway's own 10 KB check can answer with a JSON 431. */
const NODE_MAX_HEADER_SIZE = 64 * 1024;
/** A body this far past the limit is not drained to the end: the connection is closed. */
const MAX_DRAIN_BYTES = 4 * HTTP_API_LIMITS.maxBodyBytes;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const MISSING_PERMISSION =
  "The IAM role configured on the integration or API Gateway doesn't have permissions to call the integration. Check the permissions and try again.";

export interface LocalHttpApiOptions {
  readonly spec: HttpApiSpec;
  readonly lambda: LambdaInvoker;
  readonly credentials: CredentialStore;
  readonly env: LocalEnv;
  /** Access log lines and the gateway's own notes go to source `apigw:<api name>`. */
  readonly log: LogSink;
  /** @default Date.now */
  readonly clock?: () => number;
  /**
   * A local-only hint added as `localHint` to the 403 body of an unsigned
   * request to an `AWS_IAM` route (status, headers and `message` stay AWS's),
   * and logged once per such request. @default - none: AWS's answer as it is
   */
  readonly unsignedHint?: string;
}

/** One request as the gateway receives it. */
export interface GatewayRequest {
  readonly method: string;
  /** The request target as received: percent-encoded path, then `?` and the query if any. */
  readonly target: string;
  /** Header names in any case; a repeated header as an array of its values, in order. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** @default - empty */
  readonly body?: Buffer | string;
  /** The body's full size when the server stopped keeping it past the limit. @default - the body's length */
  readonly bodyBytes?: number;
  /** @default '127.0.0.1' */
  readonly sourceIp?: string;
  /** @default 'HTTP/1.1' */
  readonly protocol?: string;
  /** The port the request came in on, for `x-forwarded-port`. @default - the Host header's, else 80 */
  readonly port?: number;
}

/** A request as IAM authorization reads it. */
export interface AuthorizableRequest {
  readonly method: string;
  /** The path as received, still percent-encoded (with the stage, if any). */
  readonly rawPath: string;
  /** The query string as received, without `?`. */
  readonly rawQuery: string;
  /** Header names in any case; a repeated header as an array of its values. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: Uint8Array;
}

/** What IAM authorization says of a request: who signed it, or the answer that refuses it. */
export type IamAuthorization =
  | { readonly ok: true; readonly caller: LocalCredential }
  | {
      readonly ok: false;
      /** AWS's message (`Forbidden` for an unsigned request), as the access log records it. */
      readonly message: string;
      /** The 403 to send, as API Gateway sends it (plus `localHint` when nothing was signed). */
      readonly response: GatewayResponse;
    };

export interface RunningHttpApi {
  /** e.g. `http://127.0.0.1:3000`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** What one request did, for the access log. */
interface Exchange {
  readonly requestId: string;
  readonly startedAt: number;
  readonly method: string;
  readonly protocol: string;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly domainName: string;
  path: string;
  routeKey?: string;
  caller?: LocalCredential;
  authorizerError?: string;
  integrationStatus?: number;
  integrationFunctionStatus?: number;
  integrationError?: string;
  integrationLatency?: number;
  errorMessage?: string;
}

/** What API Gateway would have billed one HTTP API so far (cumulative). */
export interface HttpApiUsage {
  /** Every request the API answered. */
  readonly requests: number;
  /** Of those, the ones refused by IAM authorization (403). */
  readonly unauthorized: number;
  /** Requests per route key (`POST /jobs`); `(none)` for those that matched no route. */
  readonly routes: Readonly<Record<string, number>>;
}

export class LocalHttpApi {
  readonly spec: HttpApiSpec;
  /** What the local cloud does not emulate for this API, for the orchestrator to print. */
  readonly unsupportedFeatures: readonly string[];
  /** Configuration that makes AWS fail requests too (e.g. a missing Lambda permission). */
  readonly warnings: readonly string[];

  readonly #lambda: LambdaInvoker;
  readonly #credentials: CredentialStore;
  readonly #env: LocalEnv;
  readonly #log: LogSink;
  readonly #clock: () => number;
  readonly #unsignedHint?: string;
  readonly #routes: RouteTable;
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #logSource: string;
  readonly #usageCounts = {
    requests: 0,
    unauthorized: 0,
    routes: new Map<string, number>(),
  };

  constructor(options: LocalHttpApiOptions) {
    this.spec = options.spec;
    this.#lambda = options.lambda;
    this.#credentials = options.credentials;
    this.#env = options.env;
    this.#log = options.log;
    this.#clock = options.clock ?? Date.now;
    this.#unsignedHint = options.unsignedHint;
    this.#logSource = `apigw:${this.spec.name}`;

    const unsupported: string[] = [];
    const warnings: string[] = [];
    const valid: HttpRouteSpec[] = [];
    for (const route of this.spec.routes) {
      try {
        parseRouteKey(route);
        valid.push(route);
      } catch (error) {
        unsupported.push(`${(error as Error).message}: the route is ignored.`);
        continue;
      }
      if (route.authorizationType === 'JWT' || route.authorizationType === 'CUSTOM') {
        unsupported.push(
          `Route '${route.routeKey}' uses a ${route.authorizationType} authorizer, which is not emulated: it answers 500.`,
        );
      }
      const integration = route.integration;
      if (integration === undefined) {
        warnings.push(`Route '${route.routeKey}' has no integration: it answers 404.`);
      } else if (integration.payloadFormatVersion !== '2.0') {
        unsupported.push(
          `Route '${route.routeKey}' uses payload format ${integration.payloadFormatVersion}, which is not emulated: it answers 500.`,
        );
      } else if (!this.#isInvokable(integration.functionArn)) {
        warnings.push(
          `Route '${route.routeKey}': no AWS::Lambda::Permission lets this API invoke ${integration.functionArn}, so it answers 500 as AWS would.`,
        );
      }
    }
    if (this.spec.routes.some((route) => route.authorizationType === 'AWS_IAM')) {
      unsupported.push(
        'IAM policies are not evaluated: every local credential may call AWS_IAM routes (execute-api:Invoke is assumed).',
      );
    }
    this.#routes = new RouteTable(valid);
    this.unsupportedFeatures = unsupported;
    this.warnings = warnings;
  }

  // ---------------------------------------------------------------- core

  /** Serves one request: the whole gateway, without a network. */
  async handleRequest(request: GatewayRequest): Promise<GatewayResponse> {
    const startedAt = this.#clock();
    const headers = lowerCaseHeaders(request.headers);
    const host = headers.get('host')?.[0] ?? 'localhost';
    const exchange: Exchange = {
      requestId: newRequestId(),
      startedAt,
      method: request.method.toUpperCase(),
      protocol: request.protocol ?? 'HTTP/1.1',
      sourceIp: request.sourceIp ?? '127.0.0.1',
      userAgent: headers.get('user-agent')?.join(',') ?? '',
      domainName: host,
      path: request.target.split('?', 1)[0] ?? '',
    };
    let response: GatewayResponse;
    try {
      response = await this.#route(request, headers, exchange);
    } catch (error) {
      this.#note(
        `500 for ${exchange.method} ${exchange.path}: local gateway error: ${describe(error)}`,
      );
      exchange.errorMessage = 'Internal Server Error';
      response = gatewayError(500, 'Internal Server Error');
    }
    const final: GatewayResponse = {
      ...response,
      headers: { ...response.headers, 'apigw-requestid': exchange.requestId },
    };
    this.#writeAccessLog(exchange, final);
    this.#count(exchange);
    return final;
  }

  /**
   * IAM (SigV4) authorization as for an `AWS_IAM` route: the caller, or the
   * 403 answer AWS gives (with the local hint and a log line naming `label`
   * when nothing was signed at all). Local extensions use it for the
   * requests they answer themselves (`../extensions.ts`).
   */
  async authorize(request: AuthorizableRequest, label: string): Promise<IamAuthorization> {
    const verdict = await verifyRequest({ ...request, now: this.#clock() }, this.#credentials, {
      region: this.#env.region,
      service: 'execute-api',
    });
    if (verdict.ok) return { ok: true, caller: verdict.credential };
    // HTTP APIs answer an unsigned request with a bare Forbidden.
    const unsigned = verdict.code === 'MissingAuthenticationTokenException';
    const message = unsigned ? 'Forbidden' : verdict.message;
    const refused = gatewayError(403, message, {
      'x-amzn-errortype': unsigned ? 'ForbiddenException' : verdict.code,
    });
    if (
      !unsigned ||
      this.#unsignedHint === undefined ||
      !isUnsignedRequest(request.headers, request.rawQuery)
    ) {
      return { ok: false, message, response: refused };
    }
    this.#note(`403 for ${label}: the request is not signed. ${this.#unsignedHint}`);
    return { ok: false, message, response: withLocalHint(refused, this.#unsignedHint) };
  }

  /** Requests so far, in all and per route key (plain JSON). */
  usage(): HttpApiUsage {
    return {
      requests: this.#usageCounts.requests,
      unauthorized: this.#usageCounts.unauthorized,
      routes: Object.fromEntries(this.#usageCounts.routes),
    };
  }

  #count(exchange: Exchange): void {
    const usageCounts = this.#usageCounts;
    usageCounts.requests += 1;
    if (exchange.authorizerError !== undefined) usageCounts.unauthorized += 1;
    const route = exchange.routeKey ?? '(none)';
    usageCounts.routes.set(route, (usageCounts.routes.get(route) ?? 0) + 1);
  }

  async #route(
    request: GatewayRequest,
    headers: Map<string, string[]>,
    exchange: Exchange,
  ): Promise<GatewayResponse> {
    const fail = (status: number, message: string, extra?: Record<string, string>) => {
      exchange.errorMessage = message;
      return gatewayError(status, message, extra);
    };

    if (
      requestLineAndHeadersBytes(request, exchange.protocol, headers) >
      HTTP_API_LIMITS.maxRequestLineAndHeadersBytes
    ) {
      return fail(
        431,
        `HTTP header is larger than ${HTTP_API_LIMITS.maxRequestLineAndHeadersBytes} bytes.`,
      );
    }
    const body =
      typeof request.body === 'string'
        ? Buffer.from(request.body, 'utf8')
        : (request.body ?? Buffer.alloc(0));
    if ((request.bodyBytes ?? body.length) > HTTP_API_LIMITS.maxBodyBytes) {
      return fail(413, 'Request Entity Too Large');
    }

    const queryAt = request.target.indexOf('?');
    const rawPath = queryAt < 0 ? request.target : request.target.slice(0, queryAt);
    const rawQuery = queryAt < 0 ? '' : request.target.slice(queryAt + 1);
    const decodedPath = decodePath(rawPath);
    if (decodedPath === undefined) return fail(400, 'Bad Request');
    exchange.path = decodedPath;

    const stage = this.spec.stage.name;
    let routingPath = decodedPath;
    if (stage !== '$default') {
      const prefix = `/${stage}`;
      if (decodedPath !== prefix && !decodedPath.startsWith(`${prefix}/`)) {
        return fail(404, 'Not Found');
      }
      routingPath = decodedPath.slice(prefix.length) || '/';
    }
    const segments = routingPath === '/' ? [] : routingPath.slice(1).split('/');
    const match = this.#routes.match(exchange.method, segments);
    if (match === undefined) return fail(404, 'Not Found');
    const route = match.route;
    exchange.routeKey = route.routeKey;

    if (!this.#takeToken(route.routeKey)) return fail(429, 'Too Many Requests');

    switch (route.authorizationType) {
      case 'NONE':
        break;
      case 'AWS_IAM': {
        const verdict = await this.authorize(
          {
            method: exchange.method,
            rawPath,
            rawQuery,
            headers: Object.fromEntries(headers),
            body,
          },
          route.routeKey,
        );
        if (!verdict.ok) {
          exchange.authorizerError = verdict.message;
          exchange.errorMessage = verdict.message;
          return verdict.response;
        }
        exchange.caller = verdict.caller;
        break;
      }
      default:
        this.#note(
          `500 for ${route.routeKey}: ${route.authorizationType} authorizers are not emulated by the local cloud.`,
        );
        exchange.authorizerError = `${route.authorizationType} authorizers are not emulated locally`;
        return fail(500, 'Internal Server Error');
    }

    const integration = route.integration;
    if (integration === undefined) {
      this.#note(`404 for ${route.routeKey}: the route has no integration.`);
      return fail(404, 'Not Found');
    }
    if (integration.payloadFormatVersion !== '2.0') {
      this.#note(
        `500 for ${route.routeKey}: payload format ${integration.payloadFormatVersion} is not emulated.`,
      );
      exchange.integrationError = `payload format ${integration.payloadFormatVersion} is not emulated locally`;
      return fail(500, 'Internal Server Error');
    }
    if (!this.#isInvokable(integration.functionArn)) {
      this.#note(
        `500 for ${route.routeKey}: no AWS::Lambda::Permission lets apigateway.amazonaws.com invoke ${integration.functionArn} from this API.`,
      );
      exchange.integrationError = MISSING_PERMISSION;
      return fail(500, 'Internal Server Error');
    }

    const event = this.#buildEvent({
      request,
      headers,
      body,
      rawQuery,
      decodedPath,
      pathParameters: match.pathParameters,
      routeKey: route.routeKey,
      exchange,
    });
    return this.#invoke(integration, event, exchange, fail);
  }

  async #invoke(
    integration: HttpIntegrationSpec,
    event: HttpApiEventV2,
    exchange: Exchange,
    fail: (status: number, message: string) => GatewayResponse,
  ): Promise<GatewayResponse> {
    const timeoutMs = Math.min(
      Math.max(integration.timeoutMs, HTTP_API_LIMITS.minIntegrationTimeoutMs),
      HTTP_API_LIMITS.maxIntegrationTimeoutMs,
    );
    const invokedAt = this.#clock();
    const invocation = Promise.resolve().then(() =>
      this.#lambda.invoke(integration.functionArn, JSON.stringify(event), 'RequestResponse'),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    let outcome: InvokeResult | 'timeout' | { readonly error: unknown };
    try {
      outcome = await Promise.race([invocation, timeout]);
    } catch (error) {
      outcome = { error };
    } finally {
      clearTimeout(timer);
    }
    exchange.integrationLatency = this.#clock() - invokedAt;

    if (outcome === 'timeout') {
      exchange.integrationError = `The integration did not answer within ${timeoutMs} ms.`;
      this.#note(
        `503 for ${exchange.routeKey}: ${integration.functionArn} did not answer within the integration timeout of ${timeoutMs} ms.`,
      );
      invocation.then(
        () =>
          this.#note(
            `${exchange.requestId}: ${integration.functionArn} finished after its 503 was sent.`,
          ),
        () => undefined,
      );
      return fail(503, 'Service Unavailable');
    }
    if ('error' in outcome) {
      const error = outcome.error;
      if (error instanceof LambdaServiceError) {
        exchange.integrationStatus = error.status;
        exchange.integrationError = `${error.code}: ${error.message}`;
      } else {
        exchange.integrationError = describe(error);
      }
      this.#note(
        `500 for ${exchange.routeKey}: invoking ${integration.functionArn} failed: ${exchange.integrationError}`,
      );
      return fail(500, 'Internal Server Error');
    }

    exchange.integrationStatus = outcome.statusCode;
    if (outcome.functionError !== undefined) {
      exchange.integrationError = `The Lambda function returned the following error: ${functionErrorMessage(outcome.payload)}. Check your Lambda function code and try again.`;
      this.#note(
        `500 for ${exchange.routeKey}: ${integration.functionArn} failed: ${functionErrorMessage(outcome.payload)}`,
      );
      return fail(500, 'Internal Server Error');
    }
    const mapped = mapLambdaResult(outcome.payload);
    if (!mapped.ok) {
      exchange.integrationError = mapped.error;
      this.#note(`500 for ${exchange.routeKey}: ${mapped.error}`);
      return fail(500, 'Internal Server Error');
    }
    exchange.integrationFunctionStatus = mapped.response.status;
    return mapped.response;
  }

  #buildEvent(input: {
    readonly request: GatewayRequest;
    readonly headers: Map<string, string[]>;
    readonly body: Buffer;
    readonly rawQuery: string;
    readonly decodedPath: string;
    readonly pathParameters: Readonly<Record<string, string>>;
    readonly routeKey: string;
    readonly exchange: Exchange;
  }): HttpApiEventV2 {
    const { headers, body, exchange } = input;
    // A map, then own properties: a header named `__proto__` is passed on like any other.
    const eventHeaders = new Map<string, string>();
    for (const [name, values] of headers) {
      if (name === 'cookie' || HOP_BY_HOP.has(name)) continue;
      eventHeaders.set(name, values.join(','));
    }
    const forwardedFor = headers.get('x-forwarded-for');
    eventHeaders.set(
      'x-forwarded-for',
      forwardedFor === undefined
        ? exchange.sourceIp
        : `${forwardedFor.join(', ')}, ${exchange.sourceIp}`,
    );
    eventHeaders.set(
      'x-forwarded-port',
      String(input.request.port ?? portOfHost(exchange.domainName)),
    );
    eventHeaders.set('x-forwarded-proto', 'http');
    if (!eventHeaders.has('x-amzn-trace-id')) {
      eventHeaders.set('x-amzn-trace-id', newTraceId(exchange.startedAt));
    }

    const cookies = splitCookies(headers.get('cookie') ?? []);
    const query = queryStringParameters(input.rawQuery);
    const hasPathParameters = Object.keys(input.pathParameters).length > 0;
    // A text body goes as text only if it is UTF-8: decoding other bytes would put U+FFFD
    // in their place, and the function could never tell (or refuse) what was sent. Such a
    // body goes base64-encoded, as a binary one does, with its bytes intact.
    const asText = isTextContentType(headers.get('content-type')?.[0])
      ? strictUtf8(body)
      : undefined;
    const domainName = exchange.domainName;

    return {
      version: '2.0',
      routeKey: input.routeKey,
      rawPath: input.decodedPath,
      rawQueryString: input.rawQuery,
      ...(cookies.length > 0 ? { cookies } : {}),
      headers: Object.fromEntries(eventHeaders),
      ...(query !== undefined ? { queryStringParameters: query } : {}),
      ...(hasPathParameters ? { pathParameters: { ...input.pathParameters } } : {}),
      requestContext: {
        accountId: this.#env.accountId,
        apiId: this.spec.id,
        ...(exchange.caller !== undefined
          ? { authorizer: { iam: iamAuthorizerContext(exchange.caller) } }
          : {}),
        domainName,
        domainPrefix: (domainName.split(':', 1)[0] ?? '').split('.', 1)[0] ?? '',
        http: {
          method: exchange.method,
          path: input.decodedPath,
          protocol: exchange.protocol,
          sourceIp: exchange.sourceIp,
          userAgent: exchange.userAgent,
        },
        requestId: exchange.requestId,
        routeKey: input.routeKey,
        stage: this.spec.stage.name,
        time: clfTime(exchange.startedAt),
        timeEpoch: exchange.startedAt,
      },
      ...(body.length > 0 ? { body: asText !== undefined ? asText : body.toString('base64') } : {}),
      isBase64Encoded: body.length > 0 && asText === undefined,
    };
  }

  #takeToken(routeKey: string): boolean {
    const limits = this.spec.stage.throttling;
    if (limits === undefined) return true;
    let bucket = this.#buckets.get(routeKey);
    if (bucket === undefined) {
      // Stage throttling is a default route setting: each route has a bucket of its own.
      bucket = new TokenBucket(limits.rateLimit, limits.burstLimit, this.#clock());
      this.#buckets.set(routeKey, bucket);
    }
    return bucket.take(this.#clock());
  }

  #isInvokable(functionArn: string): boolean {
    const unqualified = (arn: string) => arn.replace(/:\$LATEST$/, '');
    const wanted = unqualified(functionArn);
    const resolved = this.#lambda.find(functionArn)?.arn;
    return this.spec.invokableFunctionArns.some(
      (arn) =>
        unqualified(arn) === wanted ||
        (resolved !== undefined && unqualified(arn) === unqualified(resolved)),
    );
  }

  #writeAccessLog(exchange: Exchange, response: GatewayResponse): void {
    const format = this.spec.stage.accessLogFormat;
    if (format === undefined) return;
    const caller = exchange.caller;
    const values: AccessLogValues = {
      accountId: this.#env.accountId,
      apiId: this.spec.id,
      'authorizer.error': exchange.authorizerError,
      dataProcessed: undefined,
      domainName: exchange.domainName,
      domainPrefix: (exchange.domainName.split(':', 1)[0] ?? '').split('.', 1)[0],
      'error.message': exchange.errorMessage,
      'error.messageString':
        exchange.errorMessage === undefined ? undefined : JSON.stringify(exchange.errorMessage),
      extendedRequestId: exchange.requestId,
      httpMethod: exchange.method,
      'identity.accessKey': caller?.accessKeyId,
      'identity.accountId': caller?.accountId,
      'identity.caller': caller?.userId,
      'identity.sourceIp': exchange.sourceIp,
      'identity.user': caller?.userId,
      'identity.userAgent': exchange.userAgent,
      'identity.userArn': caller?.arn,
      'integration.error': exchange.integrationError,
      'integration.integrationStatus': exchange.integrationStatus,
      'integration.latency': exchange.integrationLatency,
      'integration.status': exchange.integrationFunctionStatus,
      integrationErrorMessage: exchange.integrationError,
      integrationLatency: exchange.integrationLatency,
      integrationStatus: exchange.integrationStatus,
      path: exchange.path,
      protocol: exchange.protocol,
      requestId: exchange.requestId,
      requestTime: clfTime(exchange.startedAt),
      requestTimeEpoch: exchange.startedAt,
      responseLatency: this.#clock() - exchange.startedAt,
      responseLength: response.body.length,
      routeKey: exchange.routeKey,
      stage: this.spec.stage.name,
      status: response.status,
    };
    this.#log.line(this.#logSource, renderAccessLog(format, values));
  }

  #note(text: string): void {
    this.#log.line(this.#logSource, text);
  }

  // ---------------------------------------------------------------- node http

  /** A node `request` listener: reads the request, serves it, writes the answer. Never throws. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => undefined);
    this.#serveNode(req, res).catch((error: unknown) => {
      this.#note(`local gateway error: ${describe(error)}`);
      if (!res.headersSent && !res.destroyed) {
        writeGatewayResponse(res, gatewayError(500, 'Internal Server Error'), true);
      } else {
        res.destroy();
      }
    });
  }

  async #serveNode(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers = receivedHeaders(req);
    const base = {
      method: req.method ?? 'GET',
      target: originForm(req.url ?? '/'),
      headers,
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      protocol: `HTTP/${req.httpVersion}`,
      port: req.socket.localPort,
    };

    // Answer an oversized header block without waiting for the body.
    const early = requestLineAndHeadersBytes(base, base.protocol, new Map(Object.entries(headers)));
    const declared = Number(req.headers['content-length'] ?? 0);
    if (early > HTTP_API_LIMITS.maxRequestLineAndHeadersBytes || declared > MAX_DRAIN_BYTES) {
      const answer = await this.handleRequest({ ...base, bodyBytes: declared });
      // The body is not read: answer, then close the connection instead of draining it.
      writeGatewayResponse(res, answer, true);
      req.resume();
      return;
    }

    const read = await readBody(req);
    if (read === 'aborted') return;
    const answer = await this.handleRequest({ ...base, body: read.body, bodyBytes: read.bytes });
    writeGatewayResponse(res, answer, read.bytes > HTTP_API_LIMITS.maxBodyBytes);
  }

  /** Serves the API on a port of this machine. */
  listen(port = 0, host = '127.0.0.1'): Promise<RunningHttpApi> {
    const server = createServer({ maxHeaderSize: NODE_MAX_HEADER_SIZE }, (req, res) =>
      this.handle(req, res),
    );
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) =>
      answerClientError(error, socket),
    );
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address() as AddressInfo;
        const shownHost = host.includes(':') ? `[${host}]` : host;
        resolve({
          url: `http://${shownHost}:${address.port}`,
          port: address.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              server.closeAllConnections();
            }),
        });
      });
    });
  }
}

// ---------------------------------------------------------------- helpers

function lowerCaseHeaders(
  headers: Readonly<Record<string, string | readonly string[]>>,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    const values = out.get(lower) ?? [];
    values.push(...(typeof value === 'string' ? [value] : value));
    out.set(lower, values);
  }
  return out;
}

/** AWS counts the request line and the header values against the 10 KB quota. */
function requestLineAndHeadersBytes(
  request: Pick<GatewayRequest, 'method' | 'target'>,
  protocol: string,
  headers: Map<string, string[]>,
): number {
  let bytes = Buffer.byteLength(`${request.method} ${request.target} ${protocol}`);
  for (const values of headers.values()) {
    for (const value of values) bytes += Buffer.byteLength(value);
  }
  return bytes;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** HTTP APIs route on, and deliver, the decoded path; a malformed escape is a bad request. */
function decodePath(rawPath: string): string | undefined {
  if (!rawPath.startsWith('/') || /%(?![0-9A-Fa-f]{2})/.test(rawPath)) return undefined;
  try {
    return UTF8.decode(percentDecodeBytes(rawPath));
  } catch {
    return undefined;
  }
}

/** The origin-form of a request target (`/path?query`), also from an absolute-form one. */
function originForm(url: string): string {
  // node reads the request line as latin1; a client may have sent raw UTF-8.
  const target = [...url].some((c) => c.charCodeAt(0) > 0x7f)
    ? Buffer.from(url, 'latin1').toString('utf8')
    : url;
  if (target.startsWith('/')) return target;
  try {
    const parsed = new URL(target);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return target;
  }
}

function portOfHost(host: string): number {
  const match = /:(\d+)$/.exec(host);
  return match ? Number(match[1]) : 80;
}

/** A 16-character id like the `apigw-requestid` AWS sends, e.g. `JKJaXmPLvHcESHA=`. */
function newRequestId(): string {
  return randomBytes(11).toString('base64').replace(/[+/]/g, 'A');
}

function newTraceId(now: number): string {
  const seconds = Math.floor(now / 1000)
    .toString(16)
    .padStart(8, '0');
  return `Root=1-${seconds}-${randomBytes(12).toString('hex')}`;
}

function functionErrorMessage(payload: string): string {
  try {
    const error = JSON.parse(payload) as { errorType?: unknown; errorMessage?: unknown };
    const type = typeof error.errorType === 'string' ? error.errorType : 'Error';
    const message = typeof error.errorMessage === 'string' ? error.errorMessage : payload;
    return `${type}: ${message}`;
  } catch {
    return payload;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Writes a gateway answer to a node response (nothing once headers went out). */
export function writeGatewayResponse(
  res: ServerResponse,
  answer: GatewayResponse,
  closeConnection = false,
): void {
  if (res.destroyed || res.headersSent) return;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    headers[name] = typeof value === 'string' ? value : [...value];
  }
  headers['content-length'] = String(answer.body.length);
  if (closeConnection) headers.connection = 'close';
  res.writeHead(answer.status, STATUS_CODES[answer.status], headers);
  res.end(answer.body);
}

type ReadBody = { readonly body: Buffer; readonly bytes: number } | 'aborted';

/** Reads a body, keeping at most the limit plus one byte; a body far past it is cut off. */
function readBody(req: IncomingMessage): Promise<ReadBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let bytes = 0;
    let settled = false;
    const settle = (value: ReadBody) => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (kept <= HTTP_API_LIMITS.maxBodyBytes) {
        chunks.push(chunk);
        kept += chunk.length;
      }
      if (bytes > MAX_DRAIN_BYTES) {
        req.pause();
        settle({ body: Buffer.alloc(0), bytes });
      }
    });
    req.on('end', () => settle({ body: Buffer.concat(chunks), bytes }));
    req.on('aborted', () => settle('aborted'));
    req.on('error', () => settle('aborted'));
    req.on('close', () => {
      if (!req.complete) settle('aborted');
    });
  });
}

/** Answers what node's parser rejects (bad request line, headers past 64 KB) and closes. */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify({
    message: tooLarge
      ? `HTTP header is larger than ${HTTP_API_LIMITS.maxRequestLineAndHeadersBytes} bytes.`
      : 'Bad Request',
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** The request's headers as received: lower-case names, a repeated one as all its values. */
export function receivedHeaders(req: IncomingMessage): Record<string, string[]> {
  // A map, then own properties: on a plain object a header named `__proto__`
  // would read as the prototype and fail the request.
  const headers = new Map<string, string[]>();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const values = headers.get(name) ?? [];
    values.push(req.rawHeaders[i + 1] as string);
    headers.set(name, values);
  }
  return Object.fromEntries(headers);
}

/** A body's decoder keeps a byte order mark, as the bytes had it. */
const BODY_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as text if they are UTF-8, else undefined. */
function strictUtf8(bytes: Buffer): string | undefined {
  try {
    return BODY_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}
