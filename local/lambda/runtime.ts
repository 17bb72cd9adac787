/**
 * Runs functions the way Lambda does: each invocation gets an execution
 * environment (a worker thread, or a process: runner.ts) of its function,
 * reusing an idle one when there is one (warm) or starting a new one (cold
 * start: the module loads again). An environment that timed out, crashed or
 * failed to initialise is thrown away, as Lambda resets its sandbox.
 *
 * It also writes Lambda's platform lines (START, END, REPORT, the timeout
 * notice) and keeps each invocation's log tail for `X-Amz-Log-Type: Tail`.
 * Concurrency limits are not checked here: callers take a slot first.
 *
 * New code (`updateCode`, Lambda's UpdateFunctionCode for `$LATEST`) takes
 * effect for every invocation that gets an environment afterwards: idle
 * environments of the old code are stopped at once, busy ones finish their
 * invocation on the old code and are then thrown away instead of kept warm.
 */
import { availableParallelism } from 'node:os';
import type { FunctionSpec, LocalEnv, LogSink } from '../contracts';
import { ExecutionEnvironment, type InvocationOutcome } from './environment';
import {
  type FunctionErrorPayload,
  outOfMemory,
  RESPONSE_LIMIT_BYTES,
  responseTooLarge,
  runtimeExited,
  timedOut,
} from './errors';
import { type Runner, THREAD_RUNNER } from './runner';

/** Lambda's init phase limit: the module must load within 10 s. */
const INIT_TIMEOUT_SECONDS = 10;
/** `X-Amz-Log-Result` carries the last 4 KB of the invocation's log. */
const LOG_TAIL_BYTES = 4 * 1024;
/** Lambda reclaims idle environments after some minutes; so does the local cloud. */
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60 * 1000;
/**
 * Environments that may load their function at the same time. On AWS each
 * cold start has a machine of its own; here they share this one's cores, and
 * fifty loading at once each take fifty times as long (past the function's
 * timeout, so that every environment is thrown away again). Past this many,
 * an invocation waits for a load to finish, or for a warm environment of its
 * function to come free, whichever is first.
 */
export const DEFAULT_PARALLEL_INITS = Math.max(2, availableParallelism());

export interface ExecutionRequest {
  readonly requestId: string;
  /** JSON text. */
  readonly payload: string;
  readonly invokedFunctionArn: string;
  /** The parsed client context (`context.clientContext`). */
  readonly clientContext?: unknown;
}

export interface ExecutionResult {
  readonly requestId: string;
  /** The handler's result, or the error object, as JSON text. */
  readonly payload: string;
  readonly functionError?: 'Unhandled';
  /** The error type, when the invocation failed. */
  readonly errorType?: string;
  readonly errorMessage?: string;
  /** The invocation's log lines (START to REPORT), last 4 KB. */
  readonly logTail: string;
  readonly coldStart: boolean;
  /** The handler's duration (REPORT's `Duration`), in milliseconds. */
  readonly durationMs: number;
  /** The init phase's duration (REPORT's `Init Duration`), on a cold start. */
  readonly initDurationMs?: number;
}

export interface RuntimeOptions {
  readonly env: LocalEnv;
  readonly log: LogSink;
  /** @default DEFAULT_IDLE_TIMEOUT_MS - idle environments are stopped after 10 minutes. */
  readonly idleTimeoutMs?: number;
  /** @default DEFAULT_PARALLEL_INITS - the number of cores, at least 2 */
  readonly parallelInits?: number;
  /** Where a function's environments run. @default - worker threads of this process, for every function */
  readonly runnerFor?: (spec: FunctionSpec) => Runner;
}

/** An invocation waiting for an environment: a warm one of its function, or a turn to start one. */
interface EnvironmentWaiter {
  readonly spec: FunctionSpec;
  readonly resolve: (warm: ExecutionEnvironment | undefined) => void;
}

interface IdleEnvironment {
  readonly environment: ExecutionEnvironment;
  readonly timer: NodeJS.Timeout;
}

/** Lines of one invocation, kept for its log tail. */
class InvocationLog {
  readonly #lines: string[] = [];

  readonly #sink: LogSink;
  readonly #source: string;

  constructor(sink: LogSink, source: string) {
    this.#sink = sink;
    this.#source = source;
  }

  line(text: string): void {
    this.#lines.push(text);
    this.#sink.line(this.#source, text);
  }

  tail(): string {
    const bytes = Buffer.from(`${this.#lines.join('\n')}\n`, 'utf8');
    return bytes.subarray(Math.max(0, bytes.length - LOG_TAIL_BYTES)).toString('utf8');
  }
}

export class FunctionRuntime {
  readonly #idle = new Map<string, IdleEnvironment[]>();
  readonly #all = new Set<ExecutionEnvironment>();
  /** Where each environment's output goes right now (its invocation's log, or the sink). */
  readonly #currentLog = new Map<ExecutionEnvironment, InvocationLog>();
  readonly #idleTimeoutMs: number;
  readonly #parallelInits: number;
  #initsRunning = 0;
  readonly #waiters: EnvironmentWaiter[] = [];
  /** The spec new environments start from, per function name, once its code was updated. */
  readonly #latest = new Map<string, FunctionSpec>();
  /** Busy environments of replaced code: never reused, stopped when their invocation ends. */
  readonly #retired = new Set<ExecutionEnvironment>();
  #closed = false;

  readonly #options: RuntimeOptions;

  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#parallelInits = Math.max(1, options.parallelInits ?? DEFAULT_PARALLEL_INITS);
  }

  /** Execution environments (worker threads or processes) alive now, busy or idle. */
  get workerCount(): number {
    return this.#all.size;
  }

  /** Runs one invocation to its end: a result, a function error, a timeout or a crash. */
  async execute(spec: FunctionSpec, request: ExecutionRequest): Promise<ExecutionResult> {
    if (this.#closed) throw new Error('The local Lambda runtime is closed');
    const log = new InvocationLog(this.#options.log, spec.name);
    const { requestId } = request;

    const warm = this.#takeIdle(spec.name) ?? (await this.#waitForTurn(spec));
    if (this.#closed) throw new Error('The local Lambda runtime is closed');
    const environment = warm ?? this.#start(spec);
    this.#currentLog.set(environment, log);
    let initDurationMs: number | undefined;
    if (!warm) {
      let init: Awaited<ReturnType<ExecutionEnvironment['init']>>;
      try {
        init = await environment.init(INIT_TIMEOUT_SECONDS * 1000);
      } finally {
        this.#initsRunning -= 1;
        this.#nextTurn();
      }
      if (init.kind !== 'ready') {
        const error =
          init.kind === 'error'
            ? init.error
            : init.kind === 'timeout'
              ? timedOut(requestId, INIT_TIMEOUT_SECONDS)
              : crashError(requestId, init.exitCode, init.outOfMemory);
        log.line(`${timestamp()}\tundefined\tERROR\tInit Error \t${JSON.stringify(error)}`);
        log.line(`START RequestId: ${requestId} Version: $LATEST`);
        log.line(`END RequestId: ${requestId}`);
        log.line(
          `REPORT RequestId: ${requestId}\tDuration: 0.00 ms\tStatus: error\tError Type: ${error.errorType}`,
        );
        this.#discard(environment);
        return { ...failed(request, error), logTail: log.tail(), coldStart: true, durationMs: 0 };
      }
      initDurationMs = init.durationMs;
    }

    log.line(`START RequestId: ${requestId} Version: $LATEST`);
    const started = performance.now();
    const outcome = await environment.invoke({
      requestId,
      payload: request.payload,
      invokedFunctionArn: request.invokedFunctionArn,
      clientContext: request.clientContext,
      deadlineMs: Date.now() + spec.timeoutSeconds * 1000,
    });
    const durationMs = performance.now() - started;

    const result = this.#interpret(spec, request, outcome, log, durationMs);
    log.line(`END RequestId: ${requestId}`);
    log.line(report(spec, requestId, durationMs, initDurationMs, outcome, result.errorType));

    const reusable =
      outcome.kind === 'error' || (outcome.kind === 'result' && result.functionError === undefined);
    // Timed out, crashed, or answered more than Lambda can carry: the sandbox is reset.
    if (reusable) this.#release(spec.name, environment);
    else this.#discard(environment);
    return {
      ...result,
      logTail: log.tail(),
      coldStart: !warm,
      durationMs,
      ...(initDurationMs !== undefined ? { initDurationMs } : {}),
    };
  }

  /**
   * Replaces a function's code: environments started from now on load
   * `spec.codeDir` (even when it is the same directory, rewritten: each
   * environment imports the module afresh). Idle environments of the old code
   * are stopped; busy ones are retired when their invocation ends.
   */
  updateCode(spec: FunctionSpec): void {
    this.#latest.set(spec.name, spec);
    for (const environment of this.#all) {
      if (environment.functionName === spec.name) this.#retired.add(environment);
    }
    const idle = this.#idle.get(spec.name) ?? [];
    this.#idle.delete(spec.name);
    for (const entry of idle) {
      clearTimeout(entry.timer);
      this.#discard(entry.environment);
    }
  }

  /** Stops every environment; resolves when all of them are gone. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(undefined);
    for (const entries of this.#idle.values()) {
      for (const entry of entries) clearTimeout(entry.timer);
    }
    this.#idle.clear();
    await Promise.all([...this.#all].map((environment) => environment.terminate()));
  }

  #interpret(
    spec: FunctionSpec,
    request: ExecutionRequest,
    outcome: InvocationOutcome,
    log: InvocationLog,
    durationMs: number,
  ): Omit<ExecutionResult, 'logTail' | 'coldStart' | 'durationMs' | 'initDurationMs'> {
    const { requestId } = request;
    switch (outcome.kind) {
      case 'result':
        if (Buffer.byteLength(outcome.payload, 'utf8') > RESPONSE_LIMIT_BYTES) {
          const error = responseTooLarge();
          log.line(`${timestamp()}\t${requestId}\tERROR\t${error.errorMessage}`);
          return failed(request, error);
        }
        return { requestId, payload: outcome.payload };
      case 'error':
        log.line(
          `${timestamp()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify(outcome.error)}`,
        );
        return failed(request, outcome.error);
      case 'timeout':
        log.line(
          `${timestamp()} ${requestId} Task timed out after ${(durationMs / 1000).toFixed(2)} seconds`,
        );
        return failed(request, timedOut(requestId, spec.timeoutSeconds));
      case 'exit':
        return failed(request, crashError(requestId, outcome.exitCode, outcome.outOfMemory));
    }
  }

  #start(requested: FunctionSpec): ExecutionEnvironment {
    // An invocation that waited for its turn across a code update starts the new code.
    const spec = this.#latest.get(requested.name) ?? requested;
    const runner = this.#options.runnerFor?.(spec) ?? THREAD_RUNNER;
    const environment = new ExecutionEnvironment({
      spec,
      runner,
      env: lambdaEnvironment(spec, this.#options.env, runner.nodeVersion),
      onLine: (text) => {
        const log = this.#currentLog.get(environment);
        if (log) log.line(text);
        else this.#options.log.line(spec.name, text);
      },
      onExit: (gone) => this.#forget(spec.name, gone),
    });
    this.#all.add(environment);
    return environment;
  }

  /**
   * Resolves with a warm environment that came free while waiting, or with
   * undefined once this invocation may start one (it then holds an init turn).
   */
  #waitForTurn(spec: FunctionSpec): Promise<ExecutionEnvironment | undefined> {
    if (this.#initsRunning < this.#parallelInits && this.#waiters.length === 0) {
      this.#initsRunning += 1;
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => this.#waiters.push({ spec, resolve }));
  }

  /** An init turn came free: the first waiter takes a warm environment if one is idle, else the turn. */
  #nextTurn(): void {
    while (this.#initsRunning < this.#parallelInits) {
      const waiter = this.#waiters.shift();
      if (!waiter) return;
      const warm = this.#takeIdle(waiter.spec.name);
      if (!warm) this.#initsRunning += 1;
      waiter.resolve(warm);
    }
  }

  #takeIdle(name: string): ExecutionEnvironment | undefined {
    const entries = this.#idle.get(name);
    // Most recently used first, as Lambda tends to route to the warmest sandbox.
    for (let entry = entries?.pop(); entry; entry = entries?.pop()) {
      clearTimeout(entry.timer);
      if (entry.environment.alive) return entry.environment;
    }
    return undefined;
  }

  #release(name: string, environment: ExecutionEnvironment): void {
    this.#currentLog.delete(environment);
    if (this.#closed || !environment.alive || this.#retired.has(environment)) {
      this.#discard(environment);
      return;
    }
    // An invocation of this function waiting to start an environment takes this one instead.
    const waiting = this.#waiters.findIndex((waiter) => waiter.spec.name === name);
    if (waiting !== -1) {
      const [waiter] = this.#waiters.splice(waiting, 1);
      waiter?.resolve(environment);
      return;
    }
    const timer = setTimeout(() => {
      this.#removeIdle(name, environment);
      this.#discard(environment);
    }, this.#idleTimeoutMs);
    timer.unref();
    const entries = this.#idle.get(name) ?? [];
    entries.push({ environment, timer });
    this.#idle.set(name, entries);
  }

  #discard(environment: ExecutionEnvironment): void {
    this.#currentLog.delete(environment);
    void environment.terminate();
  }

  #forget(name: string, environment: ExecutionEnvironment): void {
    this.#all.delete(environment);
    this.#retired.delete(environment);
    this.#removeIdle(name, environment);
  }

  #removeIdle(name: string, environment: ExecutionEnvironment): void {
    const entries = this.#idle.get(name);
    if (!entries) return;
    const index = entries.findIndex((entry) => entry.environment === environment);
    if (index === -1) return;
    const [entry] = entries.splice(index, 1);
    if (entry) clearTimeout(entry.timer);
  }
}

/**
 * The variables Lambda sets, under the function's own (which win, as the
 * orchestrator puts the endpoint and credentials there). Nothing of the host's
 * environment leaks in but PATH. `nodeVersion` is the Node the function runs on.
 */
export function lambdaEnvironment(
  spec: FunctionSpec,
  env: LocalEnv,
  nodeVersion: string = process.versions.node,
): Record<string, string> {
  const base: Record<string, string> = {
    AWS_REGION: env.region,
    AWS_DEFAULT_REGION: env.region,
    AWS_LAMBDA_FUNCTION_NAME: spec.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: spec.logGroupName,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
    _HANDLER: spec.handler,
    LAMBDA_TASK_ROOT: spec.codeDir,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
  };
  if (process.env.PATH) base.PATH = process.env.PATH;
  if (Number(nodeVersion.split('.')[0]) < 22) {
    // The bundled SDK warns on every cold start when Node is older than 22. Lambda
    // runs nodejs22.x/24.x, so the warning is about this machine, not the function.
    base.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  }
  return { ...base, ...spec.environment };
}

function crashError(requestId: string, exitCode: number, oom: boolean): FunctionErrorPayload {
  return oom ? outOfMemory(requestId) : runtimeExited(requestId, exitCode);
}

function failed(
  request: ExecutionRequest,
  error: FunctionErrorPayload,
): Omit<ExecutionResult, 'logTail' | 'coldStart' | 'durationMs' | 'initDurationMs'> {
  return {
    requestId: request.requestId,
    payload: JSON.stringify(error),
    functionError: 'Unhandled',
    errorType: error.errorType,
    errorMessage: error.errorMessage,
  };
}

function report(
  spec: FunctionSpec,
  requestId: string,
  durationMs: number,
  initDurationMs: number | undefined,
  outcome: InvocationOutcome,
  errorType: string | undefined,
): string {
  const fields = [
    `REPORT RequestId: ${requestId}`,
    `Duration: ${durationMs.toFixed(2)} ms`,
    `Billed Duration: ${Math.ceil(durationMs + (initDurationMs ?? 0))} ms`,
    `Memory Size: ${spec.memoryMb} MB`,
  ];
  if (initDurationMs !== undefined) fields.push(`Init Duration: ${initDurationMs.toFixed(2)} ms`);
  if (outcome.kind === 'timeout') fields.push('Status: timeout');
  else if (outcome.kind === 'exit') fields.push('Status: error', `Error Type: ${errorType}`);
  return fields.join('\t');
}

function timestamp(): string {
  return new Date().toISOString();
}
