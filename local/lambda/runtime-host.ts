/**
 * What runs worker-runtime.mjs for one execution environment: a worker thread
 * (thread-host.ts) or a child process (process-host.ts), chosen by the
 * function's runner (runner.ts). environment.ts speaks the runtime's protocol
 * over either; a host only starts it, carries messages and output, stops it,
 * and says how it ended.
 */
/** What worker-runtime.mjs needs to load the function (`workerData`, or a process's first message). */
export interface RuntimeSetup {
  readonly codeDir: string;
  readonly handler: string;
  readonly runtime: string;
  readonly functionName: string;
  readonly memorySize: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
}

export interface HostOptions {
  readonly setup: RuntimeSetup;
  /** The complete `process.env` of the runtime. */
  readonly env: Readonly<Record<string, string>>;
  /** The function's memory, in MB: the heap limit. */
  readonly memoryMb: number;
  readonly onMessage: (message: unknown) => void;
  /** Called once, when the runtime has gone and its output has been read. */
  readonly onExit: (exit: HostExit) => void;
}

export interface HostExit {
  readonly exitCode: number;
  /** It ran out of heap (the function's memory). */
  readonly outOfMemory: boolean;
  /** A line for the log on what ended it, when the runtime itself could not say (it posts `fatal` when it can). */
  readonly report?: string;
}

export interface RuntimeHost {
  readonly stdout: NodeJS.ReadableStream;
  readonly stderr: NodeJS.ReadableStream;
  send(message: object): void;
  /** Stops it at once, even in a busy loop; `onExit` follows. */
  kill(): void;
}

/** The runtime both hosts run: one script, which tells a thread from a process itself. */
export const RUNTIME_SCRIPT = new URL('./worker-runtime.mjs', import.meta.url);

/**
 * Each environment's young generation, in MB. V8's default lets it grow to
 * 48 MB under allocation (16 MB semi-spaces), and an environment keeps what
 * it grew: ten threads allocating the same short-lived objects held 550 MiB
 * with the default and 175 MiB with this cap, for the same CPU time. On AWS
 * each environment has a machine of its own; here they share one, so the
 * nursery stays small. Scavenges come more often, but their cost follows what
 * survives, not what was allocated.
 */
export const YOUNG_GENERATION_MB = 4;

/** The heap limit for a function's memory (V8 wants some room even for the smallest). */
export function heapLimitMb(memoryMb: number): number {
  return Math.max(16, memoryMb);
}

/** An environment's memory limits in MB, as both hosts set them: the heap and the young generation. */
export function memoryLimits(memoryMb: number): {
  readonly heapMb: number;
  readonly youngMb: number;
} {
  return { heapMb: heapLimitMb(memoryMb), youngMb: YOUNG_GENERATION_MB };
}
