/**
 * `createClient`: the jobs API as typed methods, against the local cloud or
 * a deployed stack. The target is resolved on first use (so a client can be
 * made before `npm start` has run) and kept once it resolved.
 */
import { readFileSync } from 'node:fs';
import type { JobSummary, JobView } from '../core/model';
import { isAlive as processIsAlive } from '../devserver/state-file';
import { ulid } from '../functions/shared/ids';
import { MAX_BATCH_BODY_BYTES } from '../functions/start-job/batch-limits';
import { type Credentials, type CredentialsProvider, credentialsSource } from './credentials';
import {
  ApiError,
  BatchTooLargeError,
  ClientOptionError,
  JobNotSucceededError,
  JobStillRunningError,
  UnreachableError,
} from './errors';
import { type EventSourceFn, followJobEvents, type JobEvent } from './events';
import { type FetchFn, jobPath, SignedHttp } from './http';
import { DEFAULT_MAX_ATTEMPTS, maxAttemptsProblem, type RetryNotice, type SleepFn } from './retry';
import { sseSource } from './sse';
import { DEFAULT_OPTION_NAMES, type OptionNames, resolveTarget, type Target } from './target';
import type {
  BatchStartEntry,
  BatchStartResult,
  CallOptions,
  CancelRequested,
  JobPage,
  ListJobsQuery,
  ReplayJobRequest,
  SignalSent,
  StartedJob,
  StartJobRequest,
} from './types';
import type { WebSocketConstructor } from './websocket';

/** A local cloud started from code (`startLocalCloud` of `eventjobs/local`), as the client needs it. */
/** One event for `putEvent`. */
export interface PutEventEntry {
  readonly source: string;
  readonly detailType: string;
  readonly detail: unknown;
  /** @default - the account's default bus */
  readonly eventBusName?: string;
}

export interface LocalCloudTarget {
  readonly apiUrl: string;
  readonly region: string;
  /** The local identities; the client signs as the first, unless `credentials` names another. */
  readonly users: readonly { readonly accessKeyId: string; readonly secretAccessKey: string }[];
}

export interface ClientOptions {
  /**
   * A local cloud started from code: its API, signed as its first identity (or as
   * `credentials`), with events over server-sent events. Wins over `url` and the state file.
   * @default - none
   */
  readonly localCloud?: LocalCloudTarget;
  /**
   * A deployed stack's API base URL (`https://<id>.execute-api.<region>.amazonaws.com`).
   * @default - `EVENTJOBS_URL`, else the local cloud
   */
  readonly url?: string;
  /**
   * The signing region of a deployed stack.
   * @default - from the execute-api host name, else `AWS_REGION` / `AWS_DEFAULT_REGION`
   */
  readonly region?: string;
  /**
   * A deployed stack's credentials, or a function answering them (called again
   * shortly before they expire). The local cloud always signs with the
   * identity in its state file.
   * @default - the AWS SDK's default chain (environment, SSO, profiles, roles)
   */
  readonly credentials?: Credentials | CredentialsProvider;
  /**
   * A deployed stack's WebSocket event stream, `wss://...` (stack output `StreamUrl`); `watch` needs it.
   * @default - `EVENTJOBS_STREAM_URL`
   */
  readonly streamUrl?: string;
  /** @default - the global fetch */
  readonly fetch?: FetchFn;
  /**
   * The local cloud's state file, relative to `cwd`.
   * @default - `EVENTJOBS_STATE_FILE`, else `.eventjobs/local.json` in `cwd` or the nearest parent
   */
  readonly stateFile?: string;
  /** @default process.cwd() */
  readonly cwd?: string;
  /** Where `EVENTJOBS_*` and `AWS_REGION` are read from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default - the global WebSocket (Node 22+, or Node 20 with `--experimental-websocket`) */
  readonly WebSocket?: WebSocketConstructor;
  /** How long one request may take. @default 35000 */
  readonly timeoutMs?: number;
  /** Reads the state file. @default - `fs.readFileSync(path, 'utf8')` */
  readonly readFile?: (path: string) => string;
  /** Whether the process that wrote the state file is alive. @default - `process.kill(pid, 0)` */
  readonly isAlive?: (pid: number) => boolean;
  /** How messages name `url`, `region` and `streamUrl` (the CLI passes its flags). */
  readonly optionNames?: Partial<OptionNames>;
  /**
   * Attempts per call, the first included, while the API answers throttling
   * (429, 503, or API Gateway's bare 500); 1 turns retrying off. See docs/client.md.
   * @default 5
   */
  readonly maxAttempts?: number;
  /** Told before each retry's wait (the CLI prints a note). @default - nothing */
  readonly onRetry?: (notice: RetryNotice) => void;
  /** How a retry waits (for tests). @default - a timer that the call's `signal` cuts short */
  readonly sleep?: SleepFn;
}

/** Where a client sends its requests. */
export type ClientTarget = Omit<Target, 'credentials'>;

export type ListAllQuery = Omit<ListJobsQuery, 'cursor'>;

export interface WatchOptions {
  /** Aborting ends the events quietly: the iteration finishes without an error. */
  readonly signal?: AbortSignal;
  /** Only the events of this run (a name is reused by later runs). */
  readonly runId?: string;
  /** How often a broken or ended stream is reopened. @default 3 */
  readonly maxReconnects?: number;
}

export function createClient(options: ClientOptions = {}): EventJobsClient {
  return new EventJobsClient(options);
}

/** The global WebSocket, if this Node.js has one. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}

export class EventJobsClient {
  readonly #options: ClientOptions;
  readonly #names: OptionNames;
  #http: SignedHttp | undefined;

  constructor(options: ClientOptions = {}) {
    const problem =
      options.maxAttempts === undefined ? undefined : maxAttemptsProblem(options.maxAttempts);
    if (problem !== undefined) throw new ClientOptionError('maxAttempts', problem);
    this.#options = options;
    this.#names = { ...DEFAULT_OPTION_NAMES, ...options.optionNames };
  }

  /** Resolves the target (reading the state file, for the local cloud) and answers it. */
  async target(): Promise<ClientTarget> {
    const { credentials: _, ...target } = this.#resolve().target;
    return target;
  }

  /**
   * Puts one event on an EventBridge bus of the target's account and region (the
   * local cloud's, or AWS's with the same credentials as the API calls), as any
   * publisher would: for a trigger (`AsyncJobs.startOn`). Returns its event id.
   */
  async putEvent(entry: PutEventEntry): Promise<{ readonly eventId: string }> {
    const target = this.#resolve().target;
    // Loaded only here: the rest of the client never needs the EventBridge SDK.
    const { EventBridgeClient, PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
    const eventBridge = new EventBridgeClient({
      region: target.region,
      credentials: target.credentials,
      ...(target.awsEndpoint ? { endpoint: target.awsEndpoint } : {}),
    });
    try {
      const answer = await eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: entry.source,
              DetailType: entry.detailType,
              Detail: JSON.stringify(entry.detail),
              ...(entry.eventBusName ? { EventBusName: entry.eventBusName } : {}),
            },
          ],
        }),
      );
      const result = answer.Entries?.[0];
      if (answer.FailedEntryCount || !result?.EventId) {
        throw new ApiError(
          400,
          result?.ErrorCode ?? 'PutEventsFailed',
          `EventBridge refused the event: ${result?.ErrorMessage ?? result?.ErrorCode ?? 'no event id'}`,
        );
      }
      return { eventId: result.EventId };
    } finally {
      eventBridge.destroy();
    }
  }

  /**
   * `POST /jobs`: starts a job. `created` is false when an identical run was already running.
   *
   * A POST is idempotent by name, so a retried one cannot start a second run.
   * An unnamed start is given its name here, a ULID as the API would make,
   * before the first attempt, so that every attempt repeats that one name.
   */
  async start<Input = unknown>(
    request: StartJobRequest<Input>,
    options: CallOptions = {},
  ): Promise<StartedJob> {
    const answer = await this.#resolve().call<Omit<StartedJob, 'created'>>({
      method: 'POST',
      path: '/jobs',
      body: startBody(request),
      signal: options.signal,
    });
    // 202: a new run; 200: the same type and input were already running under that name.
    // Nobody else knows a name made here, so a 200 for it is an earlier attempt of this call.
    return { ...answer.body, created: request.name === undefined || answer.status !== 200 };
  }

  /**
   * `POST /jobs/batch`: starts up to 100 jobs in one request and answers each
   * entry's result; an entry that fails (`failed`, with `senderFault`) does
   * not keep the others from starting.
   *
   * Unnamed entries are named here before the first attempt, as `start` names
   * them, so a batch retried after a 503 or API Gateway's bare 500 (when the
   * server may have started some of its entries) repeats the same starts: a
   * run still queued or running answers as already started, never twice. A
   * batch whose body would be over `MAX_BATCH_BODY_BYTES` (3 MB) throws
   * `BatchTooLargeError`, and nothing is sent.
   */
  async startBatch<Input = unknown>(
    jobs: readonly BatchStartEntry<Input>[],
    options: CallOptions = {},
  ): Promise<BatchStartResult> {
    const generated = new Set<string>();
    // Each entry as given, for the API to validate as a POST /jobs body (an unknown key
    // fails that entry, as it would fail a POST /jobs), with its id and its name.
    const entries = jobs.map((job, index) => {
      const id = job.id ?? String(index);
      if (job.name === undefined) generated.add(id);
      return { ...job, id, name: job.name ?? ulid() };
    });
    const body = { jobs: entries };
    const bytes = Buffer.byteLength(JSON.stringify(body), 'utf8');
    if (bytes > MAX_BATCH_BODY_BYTES) throw new BatchTooLargeError(bytes, MAX_BATCH_BODY_BYTES);
    const answer = await this.#resolve().json<BatchStartResult>({
      method: 'POST',
      path: '/jobs/batch',
      body,
      signal: options.signal,
    });
    return {
      successful: answer.successful.map((entry) =>
        generated.has(entry.id) ? { ...entry, created: true } : entry,
      ),
      failed: answer.failed,
    };
  }

  /** `GET /jobs/{name}`: the job, running or finished. */
  async get(name: string, options: CallOptions = {}): Promise<JobView> {
    return this.#resolve().json<JobView>({
      method: 'GET',
      path: jobPath(name),
      signal: options.signal,
    });
  }

  /** `GET /jobs`: one page of the caller's jobs, newest first. */
  async list(query: ListJobsQuery = {}, options: CallOptions = {}): Promise<JobPage> {
    return this.#resolve().json<JobPage>({
      method: 'GET',
      path: '/jobs',
      query: { status: query.status, limit: query.limit, cursor: query.cursor },
      signal: options.signal,
    });
  }

  /** Every job, newest first, following `nextCursor` page after page. */
  async *listAll(query: ListAllQuery = {}, options: CallOptions = {}): AsyncGenerator<JobSummary> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...query, cursor }, options);
      yield* page.jobs;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  /** `DELETE /jobs/{name}`: asks a running job to stop; it ends CANCELLED shortly after. */
  async cancel(name: string, options: CallOptions = {}): Promise<CancelRequested> {
    return this.#resolve().json<CancelRequested>({
      method: 'DELETE',
      path: jobPath(name),
      signal: options.signal,
    });
  }

  /**
   * `POST /jobs/{name}/signals/{signal}`: sends a signal, with any JSON
   * `payload` (none is `null`), to a job; a run waiting for it in
   * `ctx.waitForSignal` resumes with the payload. The first signal of a name
   * wins: the same payload again answers `duplicate: true` (so a retry is
   * safe), a different one throws an `ApiError` 409 `SignalConflict`.
   */
  async signal(
    name: string,
    signal: string,
    payload?: unknown,
    options: CallOptions = {},
  ): Promise<SignalSent> {
    return this.#resolve().json<SignalSent>({
      method: 'POST',
      path: jobPath(name, `/signals/${encodeURIComponent(signal)}`),
      body: payload,
      signal: options.signal,
    });
  }

  /**
   * `POST /jobs/{name}/replay`: starts a finished job again, with the type,
   * input, `timeoutSeconds` and callback of its newest retained outcome, under
   * `request.name` or a new name; the run records `startedBy: { kind: 'replay' }`.
   * A job still running or queued throws an `ApiError` 409 `JobStillRunning`;
   * one with no retained outcome (never run, expired, or another owner's) a
   * `JobNotFoundError`.
   *
   * The replay starts as `start` does, idempotent by name: without a name, one
   * is generated here (a ULID) before the first attempt, so a retried replay
   * repeats that name and cannot start two runs.
   */
  async replay(
    name: string,
    request: ReplayJobRequest = {},
    options: CallOptions = {},
  ): Promise<StartedJob> {
    const answer = await this.#resolve().call<Omit<StartedJob, 'created'>>({
      method: 'POST',
      path: jobPath(name, '/replay'),
      body: { name: request.name ?? ulid() },
      signal: options.signal,
    });
    // As for `start`: a 200 for a name made here is an earlier attempt of this call.
    return { ...answer.body, created: request.name === undefined || answer.status !== 200 };
  }

  /**
   * A SUCCEEDED job's result. A job that is still running throws
   * `JobStillRunningError`; one that ended otherwise, `JobNotSucceededError`
   * (with its status and, for FAILED, its error).
   */
  async result<Result = unknown>(name: string, options: CallOptions = {}): Promise<Result> {
    const job = await this.get(name, options);
    switch (job.status) {
      case 'SUCCEEDED':
        return job.result as Result;
      case 'RUNNING':
      case 'QUEUED':
        throw new JobStillRunningError(job);
      default:
        throw new JobNotSucceededError({ ...job, status: job.status });
    }
  }

  /**
   * A job's lifecycle events as they happen, ending after the terminal one
   * (Completed, Failed, Cancelled, Timed Out). The local cloud serves them as
   * server-sent events, a deployed stack over its WebSocket stream. Events of
   * a finished run are replayed, so watching one ends at once.
   */
  async *watch(name: string, options: WatchOptions = {}): AsyncGenerator<JobEvent, void> {
    const source = await this.#eventSource();
    yield* followJobEvents({
      name,
      source,
      runId: options.runId,
      signal: options.signal,
      maxReconnects: options.maxReconnects,
    });
  }

  /**
   * Throws what `watch` would throw before it connects: no target, no
   * `streamUrl` for a deployed stack, no WebSocket. For checking before
   * starting a job that is then to be watched.
   */
  async assertCanWatch(): Promise<void> {
    await this.#eventSource();
  }

  #resolve(): SignedHttp {
    if (this.#http !== undefined) return this.#http;
    const options = this.#options;
    const target = options.localCloud
      ? localCloudTarget(options.localCloud, options.credentials)
      : resolveTarget({
          url: options.url,
          region: options.region,
          streamUrl: options.streamUrl,
          credentials: options.credentials,
          stateFile: options.stateFile,
          cwd: options.cwd ?? process.cwd(),
          env: options.env ?? process.env,
          readFile: options.readFile ?? ((path) => readFileSync(path, 'utf8')),
          isAlive: options.isAlive ?? processIsAlive,
          names: this.#names,
        });
    // Late-bound, so that a fetch replaced after the client was made (tests, instrumentation) is used.
    const fetchFn: FetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.#http = new SignedHttp(target, fetchFn, {
      timeoutMs: options.timeoutMs,
      names: this.#names,
      retry: {
        maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        onRetry: options.onRetry,
        sleep: options.sleep,
      },
    });
    return this.#http;
  }

  async #eventSource(): Promise<EventSourceFn> {
    const http = this.#resolve();
    const { target } = http;
    if (target.kind === 'local') return sseSource(http);
    if (target.streamUrl === undefined) {
      throw new ClientOptionError(
        'streamUrl',
        `following a job on a deployed stack needs its event stream: pass ${this.#names.streamUrl} wss://... (the stack output StreamUrl) or set EVENTJOBS_STREAM_URL`,
      );
    }
    const WebSocketClass = this.#options.WebSocket ?? globalWebSocket();
    if (WebSocketClass === undefined) {
      throw new UnreachableError('this Node.js has no WebSocket client', {
        hint: 'use Node.js 22 or later, or set NODE_OPTIONS=--experimental-websocket',
      });
    }
    const { webSocketSource } = await import('./websocket');
    return webSocketSource({ target, WebSocket: WebSocketClass, names: this.#names });
  }
}

/**
 * The body of one start, named: a start without a name gets a ULID, as the
 * API would make, so that every attempt of the call repeats that one name.
 */
function startBody(request: StartJobRequest): Record<string, unknown> {
  return {
    type: request.type,
    name: request.name ?? ulid(),
    ...(request.input === undefined ? {} : { input: request.input }),
    ...(request.timeoutSeconds === undefined ? {} : { timeoutSeconds: request.timeoutSeconds }),
    ...(request.callback === undefined ? {} : { callback: request.callback }),
  };
}

/** The target of a local cloud started from code, signed as its first identity or as `credentials`. */
export function localCloudTarget(
  cloud: LocalCloudTarget,
  credentials: ClientOptions['credentials'],
): Target {
  const user = cloud.users[0];
  if (credentials === undefined && user === undefined) {
    throw new ClientOptionError('localCloud', 'the local cloud has no identity to sign with');
  }
  return {
    kind: 'local',
    apiUrl: cloud.apiUrl.replace(/\/+$/, ''),
    region: cloud.region,
    credentials: credentialsSource(credentials ?? user, cloud.region),
    description: `the local cloud at ${cloud.apiUrl}`,
  };
}
