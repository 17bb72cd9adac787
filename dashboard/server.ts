/**
 * The dashboard server: one web page and a small JSON and SSE API behind it,
 * on the user's own machine. It calls the jobs API with the user's
 * credentials, signed by the client's `SignedHttp` (the SDK's own SigV4
 * signer), so no credential ever reaches the browser and no AWS resource is
 * added. See docs/dashboard.md.
 *
 * The guards, on every request:
 * - it listens on 127.0.0.1 only;
 * - the Host header must be `127.0.0.1:<port>` or `localhost:<port>` (else
 *   403 `InvalidHost`): a DNS-rebinding page has another host name;
 * - every `/api/` request carries the start's random token in the
 *   `x-dashboard-token` header (else 403 `InvalidToken`). Another site's page
 *   cannot set that header on a cross-origin request without a CORS
 *   preflight, which this server never allows, and cannot read the token.
 *   The page itself is served only with `?token=` in its URL.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, UnreachableError } from '../client/errors';
import { isTerminalEvent, type StreamItem } from '../client/events';
import { type FetchFn, jobPath, SignedHttp } from '../client/http';
import { DEFAULT_OPTION_NAMES, type OptionNames, type Target } from '../client/target';
import type { WebSocketConstructor } from '../client/websocket';
import { forward, isJobStatus, listJobs, outcomeStats } from './api';
import { type PageAssets, pageAssets } from './assets';
import { type LiveFeed, liveFeed } from './live';

export const TOKEN_HEADER = 'x-dashboard-token';
/** The largest request body the dashboard takes (a replay's `{ "name" }`). */
const MAX_BODY_BYTES = 16 * 1024;
const KEEP_ALIVE_MS = 15_000;
const JOB_ROUTE = /^\/api\/jobs\/([^/]+)(\/events|\/replay)?$/;

export interface DashboardOptions {
  /** What the page shows: the local cloud or a deployed stack (`resolveTarget`, `localCloudTarget`). */
  readonly target: Target;
  /** The port on 127.0.0.1. @default 0 - a free one */
  readonly port?: number;
  /** @default - the global fetch */
  readonly fetch?: FetchFn;
  /** A deployed stack's stream needs one. @default - the global WebSocket, if any */
  readonly WebSocket?: WebSocketConstructor;
  /** Attempts per API request while it answers throttling. @default 3 */
  readonly maxAttempts?: number;
  /** How messages name the target options. */
  readonly names?: OptionNames;
  /** The token; tests pass their own. @default - 24 random bytes, base64url */
  readonly token?: string;
}

export interface RunningDashboard {
  /** The page's URL, token included: what the user opens. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** How the page is updated live (`sse`, `websocket` or `none`). */
  readonly live: LiveFeed['kind'];
  close(): Promise<void>;
}

/** Starts the dashboard server on 127.0.0.1. */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const names = options.names ?? DEFAULT_OPTION_NAMES;
  const fetchFn: FetchFn = options.fetch ?? ((input, init) => fetch(input, init));
  const http = new SignedHttp(options.target, fetchFn, {
    names,
    retry: { maxAttempts: options.maxAttempts ?? 3 },
  });
  const WebSocketClass =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const live = await liveFeed({ http, WebSocket: WebSocketClass, names });
  const assets = await pageAssets();
  const token = options.token ?? randomBytes(24).toString('base64url');
  const streams = new Set<AbortController>();
  let port = 0;
  const context: Context = { http, live, assets, token, streams, target: options.target };
  const server = createServer((req, res) => {
    handle(context, port, req, res).catch((error: unknown) => sendError(res, error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    live: live.kind,
    close: async () => {
      for (const stream of streams) stream.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Context {
  readonly http: SignedHttp;
  readonly live: LiveFeed;
  readonly assets: PageAssets;
  readonly token: string;
  readonly streams: Set<AbortController>;
  readonly target: Target;
}

async function handle(
  ctx: Context,
  port: number,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const host = req.headers.host ?? '';
  if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
    return sendJson(res, 403, error('InvalidHost', `Host "${host}" is not this dashboard's`));
  }
  const url = new URL(req.url ?? '/', `http://${host}`);
  const method = req.method ?? 'GET';
  if (!url.pathname.startsWith('/api/')) return serveAsset(ctx, method, url, res);
  if (!tokenMatches(ctx.token, req.headers[TOKEN_HEADER])) {
    return sendJson(
      res,
      403,
      error('InvalidToken', `A missing or wrong ${TOKEN_HEADER}: open the URL eventjobs printed`),
    );
  }
  const route = `${method} ${url.pathname}`;
  switch (route) {
    case 'GET /api/session':
      return sendJson(res, 200, session(ctx));
    case 'GET /api/jobs':
      return sendJson(res, 200, await listJobs(ctx.http, listQuery(url)));
    case 'GET /api/stats':
      return sendJson(res, 200, await outcomeStats(ctx.http));
    case 'GET /api/stream':
      return relayOwner(ctx, req, res);
  }
  const match = JOB_ROUTE.exec(url.pathname);
  if (!match?.[1]) return sendJson(res, 404, error('NotFound', `No route ${route}`));
  const name = decodeName(match[1]);
  const suffix = match[2] ?? '';
  if (suffix === '' && (method === 'GET' || method === 'DELETE')) {
    return passOn(res, await forward(ctx.http, { method, path: jobPath(name) }));
  }
  if (suffix === '/events' && method === 'GET') return relayJob(ctx, name, req, res);
  if (suffix === '/replay' && method === 'POST') {
    const body = await readJsonBody(req);
    const answer = await forward(ctx.http, {
      method: 'POST',
      path: jobPath(name, '/replay'),
      body,
    });
    if (answer.status === 202) ctx.live.started(replayedName(answer.body) ?? name);
    return passOn(res, answer);
  }
  return sendJson(
    res,
    405,
    error('MethodNotAllowed', `${method} is not allowed on ${url.pathname}`),
  );
}

function session(ctx: Context) {
  return {
    target: ctx.target.kind,
    description: ctx.target.description,
    ...(ctx.target.identityArn ? { owner: ctx.target.identityArn } : {}),
    live: { kind: ctx.live.kind, description: ctx.live.description },
  };
}

function listQuery(url: URL) {
  const params = url.searchParams;
  for (const key of params.keys()) {
    if (!['status', 'type', 'limit', 'cursor'].includes(key)) {
      throw new DashboardError(400, 'InvalidQuery', `Unknown query parameter "${key}"`);
    }
  }
  const status = params.get('status') || undefined;
  if (status !== undefined && !isJobStatus(status)) {
    throw new DashboardError(400, 'InvalidStatus', `Unknown status "${status}"`);
  }
  const type = params.get('type') || undefined;
  if (type !== undefined && !/^[\w.-]{1,128}$/.test(type)) {
    throw new DashboardError(400, 'InvalidType', 'type must be 1 to 128 of A-Z a-z 0-9 . _ -');
  }
  const rawLimit = params.get('limit') ?? '20';
  const limit = /^\d{1,3}$/.test(rawLimit) ? Number(rawLimit) : Number.NaN;
  if (!(limit >= 1 && limit <= 100)) {
    throw new DashboardError(400, 'InvalidLimit', 'limit must be a whole number from 1 to 100');
  }
  const cursor = params.get('cursor') || undefined;
  return { status, type, limit, ...(cursor === undefined ? {} : { cursor }) };
}

/** The owner's events as server-sent events to the page, until it goes. */
async function relayOwner(ctx: Context, req: IncomingMessage, res: ServerResponse) {
  const lastEventId = headerValue(req.headers['last-event-id']);
  await relay(ctx, req, res, (signal) => ctx.live.owner(signal, lastEventId), false);
}

/** A job's events (history, then live) as server-sent events to the page; ends after the terminal one. */
async function relayJob(ctx: Context, name: string, req: IncomingMessage, res: ServerResponse) {
  const source = ctx.live.job;
  if (source === undefined) {
    return sendJson(res, 409, error('NotLive', ctx.live.description));
  }
  await relay(ctx, req, res, (signal) => source(name, signal), true);
}

async function relay(
  ctx: Context,
  req: IncomingMessage,
  res: ServerResponse,
  open: (signal: AbortSignal) => AsyncIterable<StreamItem>,
  endAtTerminal: boolean,
): Promise<void> {
  const controller = new AbortController();
  ctx.streams.add(controller);
  req.on('close', () => controller.abort());
  const iterator = open(controller.signal)[Symbol.asyncIterator]();
  // The headers at once: the page knows the stream is open before any event. A refusal
  // of the upstream (404, 403) comes as an `event: failed` with the API's JSON body.
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.write(': connected\n\n');
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const { seq, event } = next.value;
      const id = seq === undefined ? '' : `id: ${seq}\n`;
      res.write(`${id}event: job\ndata: ${JSON.stringify(event)}\n\n`);
      if (endAtTerminal && isTerminalEvent(event)) break;
    }
    if (!controller.signal.aborted) res.write('event: end\ndata: {}\n\n');
  } catch (caught) {
    if (!controller.signal.aborted) {
      const { status, body } = errorBody(caught);
      res.write(`event: failed\ndata: ${JSON.stringify({ status, ...(body as object) })}\n\n`);
    }
  } finally {
    clearInterval(keepAlive);
    ctx.streams.delete(controller);
    controller.abort();
    await iterator.return?.(undefined);
    res.end();
  }
}

function serveAsset(ctx: Context, method: string, url: URL, res: ServerResponse): void {
  if (method !== 'GET' && method !== 'HEAD') {
    sendJson(res, 405, error('MethodNotAllowed', `${method} is not allowed here`));
    return;
  }
  const asset = ctx.assets.get(url.pathname);
  if (!asset) {
    sendJson(res, 404, error('NotFound', `No page at ${url.pathname}`));
    return;
  }
  if (url.pathname === '/' && !tokenMatches(ctx.token, url.searchParams.get('token') ?? '')) {
    sendJson(
      res,
      403,
      error('InvalidToken', 'The dashboard URL carries a token: open the URL eventjobs printed'),
    );
    return;
  }
  res.writeHead(200, {
    'content-type': asset.contentType,
    'content-length': asset.body.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy':
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  });
  res.end(method === 'HEAD' ? undefined : asset.body);
}

function tokenMatches(token: string, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(token);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function decodeName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new DashboardError(400, 'InvalidJobName', 'The job name is not valid percent-encoding');
  }
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = headerValue(req.headers['content-type']) ?? '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new DashboardError(413, 'PayloadTooLarge', `The body is over ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  if (!/^application\/json\b/i.test(type)) {
    throw new DashboardError(415, 'UnsupportedMediaType', 'The body must be application/json');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new DashboardError(400, 'InvalidJson', 'The body is not JSON');
  }
}

function replayedName(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { jobName?: unknown };
    return typeof parsed.jobName === 'string' ? parsed.jobName : undefined;
  } catch {
    return undefined;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A request the dashboard itself refuses, before asking the API. */
export class DashboardError extends Error {
  override readonly name = 'DashboardError';
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function error(code: string, message: string) {
  return { error: { code, message } };
}

/** Any error as the page reads it: the API's own status and code, or the dashboard's. */
function errorBody(caught: unknown): { status: number; body: unknown } {
  if (caught instanceof DashboardError)
    return { status: caught.status, body: error(caught.code, caught.message) };
  if (caught instanceof ApiError) {
    const body = caught.body ?? error(caught.code, caught.message);
    return { status: caught.status || 502, body };
  }
  if (caught instanceof UnreachableError) {
    return { status: 502, body: error('Unreachable', caught.message) };
  }
  return {
    status: 500,
    body: error('InternalError', 'The dashboard server failed; see its output'),
  };
}

function sendError(res: ServerResponse, caught: unknown): void {
  if (
    !(
      caught instanceof DashboardError ||
      caught instanceof ApiError ||
      caught instanceof UnreachableError
    )
  ) {
    process.stderr.write(
      `eventjobs dashboard: ${caught instanceof Error ? (caught.stack ?? caught.message) : String(caught)}\n`,
    );
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  const { status, body } = errorBody(caught);
  sendJson(res, status, body);
}

function passOn(res: ServerResponse, answer: { status: number; body: string }): void {
  res.writeHead(answer.status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(answer.body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  passOn(res, { status, body: JSON.stringify(value) });
}
