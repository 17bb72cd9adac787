/**
 * `GET /jobs/{name}/events` in the local cloud: a Server-Sent Events stream of
 * a run's lifecycle events, plugged into the local cloud as an extension
 * (`jobStreamExtension`, `local/extensions.ts`); `eventjobs dev`, `npm start`
 * and `eventjobs/local` start the cloud with it. In AWS the same event
 * documents reach a client through the stack's WebSocket API (see the README,
 * "Live stream"), which the local cloud does not emulate.
 *
 * - The events come from the bus itself: a hub observes every event the local
 *   EventBridge accepts with source `eventjobs`, in the order accepted, and
 *   keeps each run's events (bounded), so a client that connects late gets the
 *   events so far, then the live ones.
 * - Who may read a job is decided by the API itself: the request's SigV4
 *   signature is checked by the gateway's own IAM authorization, then the stream asks the
 *   API's own `GET /jobs/{name}` route, signed with the caller's credential. Its
 *   answer names the run to stream, and any error (404, 403, 429) is passed on
 *   as it is, a JSON body.
 * - Each message is `id: <n>` (the event's position in the run), `event:
 *   <detail-type>` and `data: <the EventBridge event as JSON>`. `Last-Event-ID`
 *   resumes after that position. The stream ends after the terminal event.
 */
import type { IncomingMessage } from 'node:http';
import { EVENT_SOURCE, JOB_OUTCOME_EVENT_TYPES, JobEventType } from '../core/events';
import { signRequest } from '../functions/shared/signer';
import type {
  EventEnvelope,
  ExtensionRequest,
  GatewayResponse,
  LocalCloudExtension,
  LocalCredential,
} from '../local/extensions';
import { isOwnerStream, serveOwnerEvents } from './owner-stream';

const TERMINAL_TYPES: ReadonlySet<string> = new Set(JOB_OUTCOME_EVENT_TYPES);
const TERMINAL_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);
/** A comment line this often keeps proxies and clients from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;
const STREAM_PATH = /^\/jobs\/([^/]+)\/events$/;

export interface JobEventHubOptions {
  /** Runs kept; the oldest finished ones are forgotten first. @default 20000 */
  readonly maxRuns?: number;
  /** Events kept per run; progress beyond it is dropped, a terminal event never is. @default 500 */
  readonly maxEventsPerRun?: number;
  /** An owner's latest events kept for `Last-Event-ID` on the owner stream. @default 1000 */
  readonly maxEventsPerOwner?: number;
}

/** A listener of an owner's events: each event and its hub-wide position. */
export type OwnerListener = (event: EventEnvelope, seq: number) => void;

interface OwnerEvents {
  /** The latest events, oldest first, with their hub-wide positions. */
  readonly recent: { readonly seq: number; readonly event: EventEnvelope }[];
  readonly listeners: Set<OwnerListener>;
}

interface RunEvents {
  readonly events: EventEnvelope[];
  terminal: boolean;
  readonly listeners: Set<(event: EventEnvelope, seq: number) => void>;
}

/** The lifecycle events of recent runs, by run id, as the bus accepted them. */
export class JobEventHub {
  readonly #runs = new Map<string, RunEvents>();
  readonly #owners = new Map<string, OwnerEvents>();
  readonly #maxRuns: number;
  readonly #maxEvents: number;
  readonly #maxOwnerEvents: number;
  /** Every event shown gets the next position: the owner stream's event ids. */
  #seq = 0;

  constructor(options: JobEventHubOptions = {}) {
    this.#maxRuns = options.maxRuns ?? 20_000;
    this.#maxEvents = options.maxEventsPerRun ?? 500;
    this.#maxOwnerEvents = options.maxEventsPerOwner ?? 1000;
  }

  /** Takes an event the bus accepted; anything that is not a run's lifecycle event is ignored. */
  accept(event: EventEnvelope): void {
    if (event.source !== EVENT_SOURCE) return;
    const type = event['detail-type'];
    if (!Object.values(JobEventType).includes(type as JobEventType)) return;
    const runId = event.detail.runId;
    if (typeof runId !== 'string') return;
    const run = this.#run(runId);
    // The first terminal event ends the stream; a duplicate or a late one is not shown.
    if (run.terminal) return;
    const terminal = TERMINAL_TYPES.has(type);
    if (!terminal && run.events.length >= this.#maxEvents) return;
    run.events.push(event);
    run.terminal = terminal;
    const seq = run.events.length;
    for (const listener of run.listeners) listener(event, seq);
    this.#acceptForOwner(event);
  }

  /** An owner's events after position `after` that are still kept, oldest first. */
  ownerHistory(owner: string, after: number): readonly { seq: number; event: EventEnvelope }[] {
    return (this.#owners.get(owner)?.recent ?? []).filter((entry) => entry.seq > after);
  }

  /** Calls `listener` with each later event of the owner's runs; returns the unsubscribe. */
  subscribeOwner(owner: string, listener: OwnerListener): () => void {
    const entry = this.#owner(owner);
    entry.listeners.add(listener);
    return () => entry.listeners.delete(listener);
  }

  #acceptForOwner(event: EventEnvelope): void {
    const owner = event.detail.owner;
    if (typeof owner !== 'string') return;
    const seq = ++this.#seq;
    const entry = this.#owner(owner);
    entry.recent.push({ seq, event });
    if (entry.recent.length > this.#maxOwnerEvents) entry.recent.shift();
    for (const listener of entry.listeners) listener(event, seq);
  }

  #owner(owner: string): OwnerEvents {
    let entry = this.#owners.get(owner);
    if (!entry) {
      entry = { recent: [], listeners: new Set() };
      this.#owners.set(owner, entry);
    }
    return entry;
  }

  /** The run's events so far, and whether the last is terminal. */
  history(runId: string): {
    readonly events: readonly EventEnvelope[];
    readonly terminal: boolean;
  } {
    const run = this.#runs.get(runId);
    return { events: run?.events ?? [], terminal: run?.terminal ?? false };
  }

  /** Calls `listener` with each later event of the run and its position; returns the unsubscribe. */
  subscribe(runId: string, listener: (event: EventEnvelope, seq: number) => void): () => void {
    const run = this.#run(runId);
    run.listeners.add(listener);
    return () => run.listeners.delete(listener);
  }

  /** Runs held now. */
  get size(): number {
    return this.#runs.size;
  }

  #run(runId: string): RunEvents {
    let run = this.#runs.get(runId);
    if (!run) {
      run = { events: [], terminal: false, listeners: new Set() };
      this.#runs.set(runId, run);
      this.#evict();
    }
    return run;
  }

  #evict(): void {
    if (this.#runs.size <= this.#maxRuns) return;
    // Oldest first (insertion order); a finished run nobody watches goes before a live one.
    for (const [runId, run] of this.#runs) {
      if (this.#runs.size <= this.#maxRuns) return;
      if (run.terminal && run.listeners.size === 0) this.#runs.delete(runId);
    }
    for (const [runId, run] of this.#runs) {
      if (this.#runs.size <= this.#maxRuns) return;
      if (run.listeners.size === 0) this.#runs.delete(runId);
    }
  }
}

/**
 * The job event stream as a local cloud extension: each cloud it is started
 * with gets its own hub, fed by the cloud's buses, and answers `GET
 * /jobs/{name}/events` on every HTTP API's port.
 */
export function jobStreamExtension(options: JobEventHubOptions = {}): LocalCloudExtension {
  return {
    name: 'job-stream',
    start: ({ env }) => {
      const hub = new JobEventHub(options);
      return {
        notes: [
          "Job events: served as Server-Sent Events at GET /jobs/{name}/events, and all of the caller's jobs' at GET /events (on AWS they come over the stack's WebSocket API, which is not emulated).",
        ],
        onEvent: (event) => hub.accept(event),
        handleRequest: (request) => {
          const options = { hub, region: env.region };
          if (isOwnerStream(request.method, request.path))
            return serveOwnerEvents(request, options);
          return streamJobName(request.method, request.path) === undefined
            ? undefined
            : serveJobEvents(request, options);
        },
      };
    },
  };
}

export interface JobStreamOptions {
  readonly hub: JobEventHub;
  /** The region requests are signed for. */
  readonly region: string;
}

/** The job name when `path` (without the stage) is a stream request; else undefined. */
export function streamJobName(method: string | undefined, path: string): string | undefined {
  if (method !== 'GET') return undefined;
  const match = STREAM_PATH.exec(path);
  return match?.[1];
}

/** Serves one `GET /jobs/{name}/events` (a request `streamJobName` recognised). */
export async function serveJobEvents(
  request: ExtensionRequest,
  options: JobStreamOptions,
): Promise<void> {
  const { req, res } = request;
  const name = request.path.split('/')[2] ?? '';
  const headers = headerRecord(req);

  // The signature, checked by the gateway's own IAM authorization.
  const verdict = await request.authorize();
  if (!verdict.ok) {
    request.respond(verdict.response);
    return;
  }

  // The API itself says whether the caller may read the job, and which run is current.
  const job = await getAsCaller(request, verdict.caller, `/jobs/${name}`, options.region);
  if (job.status !== 200) {
    request.respond(job);
    return;
  }
  let current: { runId?: unknown; status?: unknown };
  try {
    current = JSON.parse(String(job.body)) as { runId?: unknown; status?: unknown };
  } catch {
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: 'The job could not be read' }));
    return;
  }
  const runId = typeof current.runId === 'string' ? current.runId : '';
  const finished = typeof current.status === 'string' && TERMINAL_STATUSES.has(current.status);

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();

  const resumeAfter = Number.parseInt(headers['last-event-id'] ?? '0', 10);
  let sent = Number.isInteger(resumeAfter) && resumeAfter > 0 ? resumeAfter : 0;
  let done = false;
  let stop = () => undefined as unknown;
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  const end = () => {
    if (done) return;
    done = true;
    clearInterval(keepAlive);
    stop();
    res.end();
  };
  const send = (event: EventEnvelope, seq: number) => {
    if (done || seq <= sent) return;
    sent = seq;
    res.write(`id: ${seq}\nevent: ${event['detail-type']}\ndata: ${JSON.stringify(event)}\n\n`);
    if (TERMINAL_TYPES.has(event['detail-type'])) end();
  };

  // Subscribed before the history is read: nothing accepted in between can be missed.
  stop = options.hub.subscribe(runId, send);
  req.on('close', end);
  const history = options.hub.history(runId);
  history.events.forEach((event, i) => {
    send(event, i + 1);
  });
  if (!done && finished && !history.terminal) {
    // The run ended before this local cloud saw its events (for example before a restart).
    res.write(`: run ${runId} has ended (${String(current.status)}); its events were not kept\n\n`);
    end();
  }
}

/**
 * A `GET` of the API itself (`path` without the stage), signed with the
 * caller's own local credential: how the streams let the API decide what the
 * caller may read.
 */
export async function getAsCaller(
  request: ExtensionRequest,
  caller: LocalCredential,
  path: string,
  region: string,
): Promise<GatewayResponse> {
  const headers = headerRecord(request.req);
  const host = headers.host ?? 'localhost';
  const target = `${request.stagePrefix}${path}`;
  const signed = await signRequest({
    method: 'GET',
    url: `http://${host}${target}`,
    headers: { host },
    body: '',
    credentials: {
      accessKeyId: caller.accessKeyId,
      secretAccessKey: caller.secretAccessKey,
      sessionToken: caller.sessionToken,
    },
    region,
    service: 'execute-api',
  });
  return request.callApi({
    method: 'GET',
    target,
    headers: { host, 'user-agent': headers['user-agent'] ?? '', ...signed },
  });
}

export function headerRecord(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}
