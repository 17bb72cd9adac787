/**
 * One execution environment: worker-runtime.mjs running one function, in a
 * worker thread or in a child process as its runner says (runner.ts,
 * runtime-host.ts), with its own `process.env`, a heap limit from the
 * function's memory, and its stdout/stderr turned into log lines.
 *
 * It serves one invocation at a time and reports each as an outcome; what the
 * outcome means for the caller (error payloads, reuse, logging of platform
 * lines) is decided by runtime.ts.
 */
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { FunctionSpec } from '../contracts';
import type { FunctionErrorPayload } from './errors';
import { startProcess } from './process-host';
import type { Runner } from './runner';
import type { HostExit, RuntimeHost } from './runtime-host';
import { startThread } from './thread-host';

/** Keep in sync with `FLUSH_MARK` in worker-runtime.mjs. */
const FLUSH_MARK = '\u0000local-lambda-flush:';
/** How long to wait for the flush marks once the result is in (they may never come). */
const FLUSH_GRACE_MS = 250;
/** A line longer than this without a newline is emitted as it is. */
const MAX_LINE_CHARS = 256 * 1024;

export interface InvocationInput {
  readonly requestId: string;
  /** JSON text. */
  readonly payload: string;
  readonly invokedFunctionArn: string;
  readonly clientContext?: unknown;
  /** Epoch ms at which the function times out. */
  readonly deadlineMs: number;
}

export type InitOutcome =
  | { readonly kind: 'ready'; readonly durationMs: number }
  | { readonly kind: 'error'; readonly error: FunctionErrorPayload; readonly durationMs: number }
  | { readonly kind: 'exit'; readonly exitCode: number; readonly outOfMemory: boolean }
  | { readonly kind: 'timeout' };

export type InvocationOutcome =
  | { readonly kind: 'result'; readonly payload: string }
  | { readonly kind: 'error'; readonly error: FunctionErrorPayload }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'exit'; readonly exitCode: number; readonly outOfMemory: boolean };

export interface EnvironmentOptions {
  readonly spec: FunctionSpec;
  /** Where it runs: a worker thread, or a process on another Node. */
  readonly runner: Runner;
  /** The complete `process.env` of the runtime. */
  readonly env: Readonly<Record<string, string>>;
  /** Receives every line the function writes, stdout and stderr alike. */
  readonly onLine: (text: string) => void;
  /** Called once when the runtime has gone, for whatever reason. */
  readonly onExit: (environment: ExecutionEnvironment) => void;
}

type WorkerMessage =
  | { type: 'ready'; initDurationMs: number }
  | { type: 'init-error'; error: FunctionErrorPayload; initDurationMs: number }
  | { type: 'result'; requestId: string; payload: string }
  | { type: 'error'; requestId: string; error: FunctionErrorPayload }
  | { type: 'fatal'; label: string; error: FunctionErrorPayload };

interface PendingInvocation {
  readonly requestId: string;
  readonly resolve: (outcome: InvocationOutcome) => void;
  readonly flushed: Set<'stdout' | 'stderr'>;
  timer?: NodeJS.Timeout;
  outcome?: InvocationOutcome;
}

export class ExecutionEnvironment {
  readonly logStreamName: string;
  /** The function this environment runs (its code is the spec's `codeDir` at start). */
  readonly functionName: string;
  readonly #host: RuntimeHost;
  readonly #initOutcome: Promise<InitOutcome>;
  #resolveInit?: (outcome: InitOutcome) => void;
  #pending?: PendingInvocation;
  #exited = false;
  readonly #exitedPromise: Promise<void>;

  readonly #options: EnvironmentOptions;

  constructor(options: EnvironmentOptions) {
    this.#options = options;
    const { spec, runner } = options;
    this.logStreamName = logStreamName(new Date());
    this.functionName = spec.name;
    this.#initOutcome = new Promise((resolve) => {
      this.#resolveInit = resolve;
    });
    let exitedNow: () => void = () => {};
    this.#exitedPromise = new Promise((resolve) => {
      exitedNow = resolve;
    });
    const hostOptions = {
      env: { AWS_LAMBDA_LOG_STREAM_NAME: this.logStreamName, ...options.env },
      memoryMb: spec.memoryMb,
      setup: {
        codeDir: spec.codeDir,
        handler: spec.handler,
        runtime: spec.runtime,
        functionName: spec.name,
        memorySize: String(spec.memoryMb),
        logGroupName: spec.logGroupName,
        logStreamName: this.logStreamName,
      },
      onMessage: (message: unknown) => this.#onMessage(message),
      onExit: (exit: HostExit) => {
        this.#onRuntimeExit(exit);
        exitedNow();
      },
    };
    this.#host =
      runner.kind === 'process'
        ? startProcess(runner.nodePath, hostOptions)
        : startThread(hostOptions);
    this.#pipe(this.#host.stdout, 'stdout');
    this.#pipe(this.#host.stderr, 'stderr');
  }

  /** Whether the runtime is still running. */
  get alive(): boolean {
    return !this.#exited;
  }

  /** Waits for the function's module to load, at most `timeoutMs`. */
  async init(timeoutMs: number): Promise<InitOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<InitOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
    });
    try {
      return await Promise.race([this.#initOutcome, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs one invocation; at the deadline the runtime is stopped and the outcome is `timeout`. */
  invoke(input: InvocationInput): Promise<InvocationOutcome> {
    if (this.#pending) throw new Error('An execution environment runs one invocation at a time');
    return new Promise((resolve) => {
      const pending: PendingInvocation = {
        requestId: input.requestId,
        resolve,
        flushed: new Set(),
      };
      this.#pending = pending;
      if (this.#exited) {
        this.#settle({ kind: 'exit', exitCode: 1, outOfMemory: false });
        return;
      }
      pending.timer = setTimeout(
        () => {
          this.#settle({ kind: 'timeout' });
          void this.terminate();
        },
        Math.max(0, input.deadlineMs - Date.now()),
      );
      this.#host.send({
        type: 'invoke',
        requestId: input.requestId,
        payload: input.payload,
        deadlineMs: input.deadlineMs,
        invokedFunctionArn: input.invokedFunctionArn,
        clientContext: input.clientContext,
      });
    });
  }

  /** Stops the runtime, even one stuck in a busy loop; resolves when it is gone. */
  async terminate(): Promise<void> {
    if (!this.#exited) this.#host.kill();
    await this.#exitedPromise;
  }

  #onMessage(value: unknown): void {
    const message = asWorkerMessage(value);
    if (!message) return;
    switch (message.type) {
      case 'ready':
        this.#resolveInit?.({ kind: 'ready', durationMs: message.initDurationMs });
        return;
      case 'init-error':
        this.#resolveInit?.({
          kind: 'error',
          error: message.error,
          durationMs: message.initDurationMs,
        });
        return;
      case 'result':
      case 'error': {
        const pending = this.#pending;
        if (pending?.requestId !== message.requestId) return;
        const outcome: InvocationOutcome =
          message.type === 'result'
            ? { kind: 'result', payload: message.payload }
            : { kind: 'error', error: message.error };
        clearTimeout(pending.timer);
        pending.outcome = outcome;
        if (pending.flushed.size === 2) this.#settle(outcome);
        else pending.timer = setTimeout(() => this.#settle(outcome), FLUSH_GRACE_MS);
        return;
      }
      case 'fatal':
        this.#options.onLine(`${message.label} \t${JSON.stringify(message.error)}`);
        return;
    }
  }

  #onRuntimeExit({ exitCode, outOfMemory, report }: HostExit): void {
    this.#exited = true;
    if (report) this.#options.onLine(report);
    this.#resolveInit?.({ kind: 'exit', exitCode, outOfMemory });
    const pending = this.#pending;
    if (pending) this.#settle(pending.outcome ?? { kind: 'exit', exitCode, outOfMemory });
    this.#options.onExit(this);
  }

  #settle(outcome: InvocationOutcome): void {
    const pending = this.#pending;
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending = undefined;
    pending.resolve(outcome);
  }

  #onFlushMark(stream: 'stdout' | 'stderr', requestId: string): void {
    const pending = this.#pending;
    if (pending?.requestId !== requestId) return;
    pending.flushed.add(stream);
    if (pending.flushed.size === 2 && pending.outcome) this.#settle(pending.outcome);
  }

  #pipe(stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr'): void {
    const decoder = new StringDecoder('utf8');
    let buffer = '';
    const emit = (line: string) => {
      const mark = line.indexOf(FLUSH_MARK);
      if (mark === -1) {
        this.#options.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
        return;
      }
      if (mark > 0) this.#options.onLine(line.slice(0, mark));
      this.#onFlushMark(name, line.slice(mark + FLUSH_MARK.length));
    };
    stream.on('data', (chunk: Buffer) => {
      buffer += decoder.write(chunk);
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) emit(line);
      if (buffer.length > MAX_LINE_CHARS) {
        emit(buffer);
        buffer = '';
      }
    });
    stream.on('end', () => {
      buffer += decoder.end();
      if (buffer) emit(buffer);
      buffer = '';
    });
  }
}

/** `2026/01/31/[$LATEST]0123456789abcdef0123456789abcdef`, like Lambda's stream names. */
function logStreamName(now: Date): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

function isErrorPayload(value: unknown): value is FunctionErrorPayload {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof Reflect.get(value, 'errorType') === 'string' &&
    typeof Reflect.get(value, 'errorMessage') === 'string'
  );
}

/** The runtime script is ours, but its messages cross a thread or process boundary untyped. */
function asWorkerMessage(value: unknown): WorkerMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const get = (key: string): unknown => Reflect.get(value, key);
  const type = get('type');
  const requestId = get('requestId');
  const error = get('error');
  const initDurationMs = Number(get('initDurationMs') ?? 0);
  switch (type) {
    case 'ready':
      return { type, initDurationMs };
    case 'init-error':
      return isErrorPayload(error) ? { type, error, initDurationMs } : undefined;
    case 'result': {
      const payload = get('payload');
      return typeof requestId === 'string' && typeof payload === 'string'
        ? { type, requestId, payload }
        : undefined;
    }
    case 'error':
      return typeof requestId === 'string' && isErrorPayload(error)
        ? { type, requestId, error }
        : undefined;
    case 'fatal':
      return isErrorPayload(error) ? { type, label: String(get('label')), error } : undefined;
    default:
      return undefined;
  }
}
