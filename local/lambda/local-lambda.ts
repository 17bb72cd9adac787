/**
 * The local Lambda service: resolves function references, validates Invoke
 * calls as AWS does, enforces concurrency, runs functions (runtime.ts), queues
 * asynchronous events (async-queue.ts) and delivers their outcomes
 * (destinations.ts). The Invoke wire API over it is in wire.ts.
 */
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import type { Chaos } from '../chaos';
import {
  type AwsService,
  type EventPublisher,
  type FunctionSpec,
  type InvocationType,
  type InvokeResult,
  type LambdaInvoker,
  LambdaServiceError,
  type LocalEnv,
  type LogSink,
  type QueueSender,
} from '../contracts';
import { type AsyncEvent, AsyncQueue, type AttemptOutcome, type FinalOutcome } from './async-queue';
import { ConcurrencyLimiter, DEFAULT_ACCOUNT_CONCURRENCY } from './concurrency';
import {
  Destinations,
  type DestinationTargets,
  invocationRecord,
  LAMBDA_LOG_SOURCE,
} from './destinations';
import {
  DEFAULT_ASYNC_REQUEST_LIMIT_BYTES,
  type FunctionErrorPayload,
  functionNotFound,
  invalidParameter,
  invalidRequestContent,
  requestTooLarge,
  runtimeExited,
  SYNC_REQUEST_LIMIT_BYTES,
  TooManyRequestsError,
  timedOut,
} from './errors';
import { type FunctionRef, LATEST, parseFunctionRef } from './function-ref';
import type { Runner } from './runner';
import { type ExecutionResult, FunctionRuntime } from './runtime';
import { lambdaService } from './wire';

export interface LocalLambdaOptions {
  readonly env: LocalEnv;
  readonly functions: readonly FunctionSpec[];
  readonly log: LogSink;
  /** Where SQS destinations and dead-letter queues go. @default - set later with `setDestinations`; until then such records are dropped with a log line. */
  readonly queues?: QueueSender;
  /** Where EventBridge destinations go. @default - set later with `setDestinations`; until then such records are dropped with a log line. */
  readonly events?: EventPublisher;
  /**
   * The account's concurrency limit; what functions do not reserve of it they share.
   * Reservations must leave at least 100 unreserved, as on AWS. @default 1000 (AWS's default)
   */
  readonly accountConcurrency?: number;
  /** Largest Event (async) payload. @default 1048576 (1 MB; it was 256 KB until late 2025) */
  readonly asyncPayloadLimitBytes?: number;
  /** How long an idle execution environment is kept warm. @default 600000 (10 minutes) */
  readonly idleTimeoutMs?: number;
  /** Faults to inject: `crash`, `hang` and `duplicate` (async invokes). @default - none */
  readonly chaos?: Chaos;
  /**
   * Where a function's execution environments run (`chooseRunner(spec.runtime)`
   * picks the template's Node major when it is on the machine).
   * @default - worker threads of this process, on its Node, for every function
   */
  readonly runnerFor?: (spec: FunctionSpec) => Runner;
}

export interface InvokeOptions {
  /** `X-Amz-Client-Context`: base64 of a JSON object, handed to the function as `context.clientContext`. */
  readonly clientContext?: string;
  /** `Qualifier` (query parameter); must agree with a qualifier in the function name. */
  readonly qualifier?: string;
  /** `X-Amz-Log-Type`. `Tail` returns the last 4 KB of the log (RequestResponse only). */
  readonly logType?: 'None' | 'Tail';
}

export interface InvokeDetails {
  readonly result: InvokeResult;
  /** The invocation's request id (`x-amzn-RequestId`, `context.awsRequestId`). */
  readonly requestId: string;
  /** Base64 of the log tail, when `logType` was `Tail`. */
  readonly logResult?: string;
}

/** What Lambda would have billed one function so far (cumulative). */
export interface FunctionUsage {
  /** Runs of the handler (requests), retries included. */
  readonly invocations: number;
  readonly coldStarts: number;
  /** The sum of REPORT lines' `Duration`, in milliseconds. */
  readonly durationMs: number;
  /** The sum of REPORT lines' `Billed Duration` (duration plus init, each rounded up to 1 ms). */
  readonly billedDurationMs: number;
  /** The sum of `Init Duration` of the cold starts, in milliseconds. */
  readonly initDurationMs: number;
  /** The function's configured memory. */
  readonly memoryMb: number;
}

export interface LambdaStats {
  /** Async events accepted and not yet at their final outcome. */
  readonly queued: number;
  /** Executions running now, sync and async. */
  readonly inFlight: number;
  /** Execution environments alive (busy or warm): worker threads or processes. */
  readonly workers: number;
  /** Handler runs per function name, retries included. */
  readonly invocations: Readonly<Record<string, number>>;
  /** Cold starts per function name. */
  readonly coldStarts: Readonly<Record<string, number>>;
  /** Throttles per function name (sync 429s and async back-offs). */
  readonly throttles: Readonly<Record<string, number>>;
}

const INVOCATION_TYPES: readonly InvocationType[] = ['RequestResponse', 'Event', 'DryRun'];

export class LocalLambda implements LambdaInvoker {
  readonly env: LocalEnv;
  readonly #functions = new Map<string, FunctionSpec>();
  readonly #log: LogSink;
  readonly #limiter: ConcurrencyLimiter;
  readonly #runtime: FunctionRuntime;
  readonly #queue: AsyncQueue;
  readonly #destinations: Destinations;
  readonly #asyncLimit: number;
  readonly #counters = {
    invocations: new Map<string, number>(),
    coldStarts: new Map<string, number>(),
    throttles: new Map<string, number>(),
  };
  readonly #durations = new Map<
    string,
    { durationMs: number; billedDurationMs: number; initDurationMs: number }
  >();
  #syncInFlight = 0;
  readonly #syncWaiters: (() => void)[] = [];
  #closed = false;
  readonly #chaos?: Chaos;
  /** Ends the invocations chaos made hang, at close. */
  readonly #hangs = new Set<() => void>();

  constructor(options: LocalLambdaOptions) {
    this.env = options.env;
    this.#log = options.log;
    this.#chaos = options.chaos;
    for (const spec of options.functions) this.#functions.set(spec.name, spec);
    this.#limiter = new ConcurrencyLimiter(
      options.accountConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY,
      options.functions,
    );
    this.#runtime = new FunctionRuntime({
      env: options.env,
      log: options.log,
      idleTimeoutMs: options.idleTimeoutMs,
      runnerFor: options.runnerFor,
    });
    this.#asyncLimit = options.asyncPayloadLimitBytes ?? DEFAULT_ASYNC_REQUEST_LIMIT_BYTES;
    this.#destinations = new Destinations(options.log, async (arn, payload) => {
      await this.invoke(arn, payload, 'Event');
    });
    this.#destinations.setTargets({ queues: options.queues, events: options.events });
    this.#queue = new AsyncQueue({
      env: options.env,
      attempt: (event) => this.#attempt(event),
      finish: (event, outcome) => this.#finish(event, outcome),
    });
  }

  /** Wires the services destinations deliver to, once they exist (they may depend on Lambda). */
  setDestinations(targets: DestinationTargets): void {
    this.#destinations.setTargets(targets);
  }

  find(functionRef: string): FunctionSpec | undefined {
    const ref = parseFunctionRef(functionRef);
    if (!ref || (ref.qualifier !== undefined && ref.qualifier !== LATEST)) return undefined;
    return this.#lookup(ref);
  }

  async invoke(
    functionRef: string,
    payload: string,
    type: InvocationType,
    options: { readonly clientContext?: string } = {},
  ): Promise<InvokeResult> {
    return (await this.invokeWithDetails(functionRef, payload, type, options)).result;
  }

  /** `invoke` with what the wire API also returns: the request id and the log tail. */
  async invokeWithDetails(
    functionRef: string,
    payload: string,
    type: InvocationType,
    options: InvokeOptions = {},
  ): Promise<InvokeDetails> {
    if (this.#closed)
      throw new LambdaServiceError(503, 'ServiceException', 'The local Lambda is closed');
    if (!INVOCATION_TYPES.includes(type)) {
      throw invalidParameter(
        `1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
      );
    }
    const { spec, invokedFunctionArn } = this.resolve(functionRef, options.qualifier);
    const limit = type === 'Event' ? this.#asyncLimit : SYNC_REQUEST_LIMIT_BYTES;
    if (Buffer.byteLength(payload, 'utf8') > limit) throw requestTooLarge(limit);
    const event = payload.length === 0 ? '{}' : payload;
    validateJson(event);
    const clientContext = decodeClientContext(options.clientContext);
    const requestId = randomUUID();

    if (type === 'DryRun') {
      return { result: { statusCode: 204, payload: '', executedVersion: LATEST }, requestId };
    }
    if (type === 'Event') {
      const queued = { requestId, spec, payload: event, invokedFunctionArn, clientContext };
      this.#queue.enqueue(queued);
      if (this.#chaos?.inject('duplicate', spec)) {
        // Lambda's async queue delivers at least once: the same event, same request id, twice.
        this.#log.line(
          LAMBDA_LOG_SOURCE,
          `chaos: async event ${requestId} of ${spec.name} queued twice`,
        );
        this.#queue.enqueue(queued);
      }
      return { result: { statusCode: 202, payload: '', executedVersion: LATEST }, requestId };
    }

    const reason = this.#limiter.tryAcquire(spec);
    if (reason) {
      increment(this.#counters.throttles, spec.name);
      throw new TooManyRequestsError(reason);
    }
    this.#syncInFlight += 1;
    try {
      const result = await this.#execute(spec, {
        requestId,
        payload: event,
        invokedFunctionArn,
        clientContext,
      });
      return {
        result: {
          statusCode: 200,
          payload: result.payload,
          executedVersion: LATEST,
          ...(result.functionError ? { functionError: result.functionError } : {}),
        },
        requestId,
        ...(options.logType === 'Tail'
          ? { logResult: Buffer.from(result.logTail, 'utf8').toString('base64') }
          : {}),
      };
    } finally {
      this.#limiter.release(spec);
      this.#syncInFlight -= 1;
      if (this.#syncInFlight === 0) for (const resolve of this.#syncWaiters.splice(0)) resolve();
    }
  }

  /** The Invoke wire API (`POST /2015-03-31/functions/{name}/invocations`) over this Lambda. */
  service(): AwsService {
    return lambdaService(this);
  }

  /**
   * Resolves a reference the way the Invoke API does, or throws its error:
   * ResourceNotFoundException (unknown name, other account or region, a
   * qualifier other than `$LATEST`), InvalidParameterValueException
   * (qualifiers that disagree), ValidationException (not a name or ARN).
   */
  resolve(
    functionRef: string,
    qualifier?: string,
  ): { readonly spec: FunctionSpec; readonly invokedFunctionArn: string } {
    const ref = parseFunctionRef(functionRef);
    if (!ref) {
      throw new LambdaServiceError(
        400,
        'ValidationException',
        `1 validation error detected: Value '${functionRef}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?`,
      );
    }
    if (qualifier !== undefined && ref.qualifier !== undefined && qualifier !== ref.qualifier) {
      throw invalidParameter(
        'The derived qualifier from the function name does not match the specified qualifier.',
      );
    }
    const effective = ref.qualifier ?? qualifier;
    const spec = this.#lookup(ref);
    if (!spec || (effective !== undefined && effective !== LATEST)) {
      const arn =
        spec?.arn ??
        `arn:${this.env.partition}:lambda:${this.env.region}:${this.env.accountId}:function:${ref.name}`;
      throw functionNotFound(effective === undefined ? arn : `${arn}:${effective}`);
    }
    return {
      spec,
      invokedFunctionArn: effective === undefined ? spec.arn : `${spec.arn}:${effective}`,
    };
  }

  /**
   * UpdateFunctionCode for `$LATEST`: every invocation that starts after the
   * call runs the code in `codeDir`, in a fresh execution environment;
   * invocations already running finish on the old code, and their
   * environments are retired instead of reused; idle ones are stopped. Only
   * the code changes: configuration (timeout, memory, environment) stays.
   * Throws ResourceNotFoundException for an unknown function, like the API.
   */
  updateFunctionCode(functionNameOrArn: string, codeDir: string): void {
    if (this.#closed)
      throw new LambdaServiceError(503, 'ServiceException', 'The local Lambda is closed');
    const { spec } = this.resolve(functionNameOrArn);
    if (!isDirectory(codeDir)) {
      throw invalidParameter(`The code directory ${codeDir} does not exist or is not a directory.`);
    }
    const updated: FunctionSpec = { ...spec, codeDir };
    this.#functions.set(spec.name, updated);
    this.#runtime.updateCode(updated);
    this.#log.line(LAMBDA_LOG_SOURCE, `code of ${spec.name} updated from ${codeDir}`);
  }

  /** The functions, as they run now (after any `updateFunctionCode`). */
  functionList(): readonly FunctionSpec[] {
    return [...this.#functions.values()];
  }

  stats(): LambdaStats {
    return {
      queued: this.#queue.size,
      inFlight: this.#limiter.inFlight,
      workers: this.#runtime.workerCount,
      invocations: Object.fromEntries(this.#counters.invocations),
      coldStarts: Object.fromEntries(this.#counters.coldStarts),
      throttles: Object.fromEntries(this.#counters.throttles),
    };
  }

  /** Per function name: invocations, cold starts, durations and memory, cumulatively (plain JSON). */
  usage(): Record<string, FunctionUsage> {
    const usage: Record<string, FunctionUsage> = {};
    for (const spec of this.#functions.values()) {
      const times = this.#durations.get(spec.name);
      usage[spec.name] = {
        invocations: this.#counters.invocations.get(spec.name) ?? 0,
        coldStarts: this.#counters.coldStarts.get(spec.name) ?? 0,
        durationMs: times?.durationMs ?? 0,
        billedDurationMs: times?.billedDurationMs ?? 0,
        initDurationMs: times?.initDurationMs ?? 0,
        memoryMb: spec.memoryMb,
      };
    }
    return usage;
  }

  /** Resolves when no invocation is running and every async event has reached its outcome. */
  async whenIdle(): Promise<void> {
    while (!this.#closed && (this.#queue.size > 0 || this.#syncInFlight > 0)) {
      await this.#queue.whenEmpty();
      if (this.#syncInFlight > 0) {
        await new Promise<void>((resolve) => this.#syncWaiters.push(resolve));
      }
    }
  }

  /** Drops queued events, stops every worker thread and timer; resolves when all are gone. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const dropped = this.#queue.close();
    if (dropped > 0) {
      this.#log.line(LAMBDA_LOG_SOURCE, `closing: dropped ${dropped} unfinished async event(s)`);
    }
    for (const end of [...this.#hangs]) end();
    await this.#runtime.close();
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
  }

  #lookup(ref: FunctionRef): FunctionSpec | undefined {
    const spec = this.#functions.get(ref.name);
    if (!spec) return undefined;
    const [, partition, , region, accountId] = spec.arn.split(':');
    if (ref.partition !== undefined && ref.partition !== partition) return undefined;
    if (ref.region !== undefined && ref.region !== region) return undefined;
    if (ref.accountId !== undefined && ref.accountId !== accountId) return undefined;
    return spec;
  }

  async #execute(
    spec: FunctionSpec,
    request: Parameters<FunctionRuntime['execute']>[1],
  ): Promise<ExecutionResult> {
    increment(this.#counters.invocations, spec.name);
    if (this.#chaos?.inject('hang', spec)) {
      return this.#measured(spec, await this.#hang(spec, request.requestId));
    }
    if (this.#chaos?.inject('crash', spec)) {
      // Half the crashes come before the handler runs, half after it ran and before it answered.
      const afterRun = this.#chaos.draw() < 0.5;
      const ran = afterRun ? await this.#runtime.execute(spec, request) : undefined;
      if (ran?.coldStart) increment(this.#counters.coldStarts, spec.name);
      const crashed = this.#crash(spec, request.requestId, afterRun);
      return this.#measured(spec, { ...crashed, durationMs: ran?.durationMs ?? 0 });
    }
    const result = await this.#runtime.execute(spec, request);
    if (result.coldStart) increment(this.#counters.coldStarts, spec.name);
    return this.#measured(spec, result);
  }

  /** Adds an execution's durations to its function's usage. */
  #measured(spec: FunctionSpec, result: ExecutionResult): ExecutionResult {
    const times = this.#durations.get(spec.name) ?? {
      durationMs: 0,
      billedDurationMs: 0,
      initDurationMs: 0,
    };
    times.durationMs += result.durationMs;
    times.initDurationMs += result.initDurationMs ?? 0;
    times.billedDurationMs += Math.ceil(result.durationMs + (result.initDurationMs ?? 0));
    this.#durations.set(spec.name, times);
    return result;
  }

  /** A chaos crash: the runtime process died (exit status 137, as when killed). */
  #crash(spec: FunctionSpec, requestId: string, afterRun: boolean): ExecutionResult {
    const error = runtimeExited(requestId, 137);
    const lines = [
      ...(afterRun ? [] : [`START RequestId: ${requestId} Version: $LATEST`]),
      `chaos: crashed ${afterRun ? 'after the handler ran' : 'before the handler ran'}`,
      `END RequestId: ${requestId}`,
      `REPORT RequestId: ${requestId}\tDuration: 0.00 ms\tStatus: error\tError Type: ${error.errorType}`,
    ];
    for (const line of lines) this.#log.line(spec.name, line);
    return chaosResult(requestId, error, lines);
  }

  /** A chaos hang: the invocation holds its slot until its timeout, then times out. */
  async #hang(spec: FunctionSpec, requestId: string): Promise<ExecutionResult> {
    this.#log.line(spec.name, `START RequestId: ${requestId} Version: $LATEST`);
    this.#log.line(spec.name, 'chaos: hanging until the timeout');
    await new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.#hangs.delete(end);
        resolve();
      };
      const timer = setTimeout(end, spec.timeoutSeconds * 1000);
      this.#hangs.add(end);
    });
    const lines = [
      `${new Date().toISOString()} ${requestId} Task timed out after ${spec.timeoutSeconds.toFixed(2)} seconds`,
      `END RequestId: ${requestId}`,
      `REPORT RequestId: ${requestId}\tDuration: ${spec.timeoutSeconds * 1000}.00 ms\tStatus: timeout`,
    ];
    for (const line of lines) this.#log.line(spec.name, line);
    return chaosResult(
      requestId,
      timedOut(requestId, spec.timeoutSeconds),
      lines,
      spec.timeoutSeconds * 1000,
    );
  }

  async #attempt(event: AsyncEvent): Promise<AttemptOutcome> {
    const reason = this.#limiter.tryAcquire(event.spec);
    if (reason) {
      increment(this.#counters.throttles, event.spec.name);
      return { kind: 'throttled', reason };
    }
    // An event queued before a code update runs the code current when it is attempted, as on AWS.
    const spec = this.#functions.get(event.spec.name) ?? event.spec;
    try {
      const result = await this.#execute(spec, {
        requestId: event.requestId,
        payload: event.payload,
        invokedFunctionArn: event.invokedFunctionArn,
        clientContext: event.clientContext,
      });
      return { kind: 'ran', result };
    } finally {
      this.#limiter.release(event.spec);
    }
  }

  async #finish(event: AsyncEvent, outcome: FinalOutcome): Promise<void> {
    const { spec, requestId } = event;
    const success = outcome.condition === 'Success';
    if (!success) {
      this.#log.line(
        LAMBDA_LOG_SOURCE,
        `async invocation ${requestId} of ${spec.name} failed: ${outcome.condition} after ${outcome.invokeCount} attempt(s)`,
      );
    }
    const destination = success ? spec.asyncConfig.onSuccessArn : spec.asyncConfig.onFailureArn;
    if (destination) {
      const record = invocationRecord({
        requestId,
        functionArn: spec.arn,
        condition: outcome.condition,
        approximateInvokeCount: outcome.invokeCount,
        requestPayload: event.payload,
        response: outcome.last,
        now: new Date(),
      });
      await this.#destinations.send(destination, record);
    }
    if (!success && spec.deadLetterTargetArn) {
      const last = outcome.last;
      await this.#destinations.deadLetter({
        targetArn: spec.deadLetterTargetArn,
        payload: event.payload,
        requestId,
        errorCode: last ? 200 : 429,
        errorMessage: last?.errorMessage ?? 'Rate Exceeded.',
      });
    }
  }
}

function chaosResult(
  requestId: string,
  error: FunctionErrorPayload,
  lines: readonly string[],
  durationMs = 0,
): ExecutionResult {
  return {
    requestId,
    payload: JSON.stringify(error),
    functionError: 'Unhandled',
    errorType: error.errorType,
    errorMessage: error.errorMessage,
    logTail: `${lines.join('\n')}\n`,
    coldStart: false,
    durationMs,
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function increment(counter: Map<string, number>, key: string): void {
  counter.set(key, (counter.get(key) ?? 0) + 1);
}

function validateJson(payload: string): void {
  try {
    JSON.parse(payload);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw invalidRequestContent(
      `Could not parse request body into json: Could not parse payload into json: ${reason}`,
    );
  }
}

function decodeClientContext(encoded: string | undefined): unknown {
  if (encoded === undefined || encoded === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed;
  } catch {
    // Reported below, like any other value that is not base64 JSON.
  }
  throw invalidRequestContent('Client context must be a valid Base64-encoded JSON object.');
}
