/** What the benchmark's parent and its local cloud host (bench/host.ts) say to each other. */

/** Every benchmark job is named `bench-<part>-<tag>-<n>`; the host follows only these. */
export const BENCH_NAME_PATTERN = /bench-[a-z]+-[a-z0-9]+-\d+/;

export function benchJobName(part: string, tag: string, n: number): string {
  return `bench-${part}-${tag}-${n}`;
}

export type HostRequest =
  | { readonly kind: 'info' }
  | { readonly kind: 'usage' }
  | { readonly kind: 'calls' }
  | { readonly kind: 'memory' }
  | { readonly kind: 'lambda' }
  | { readonly kind: 'cpu' }
  | { readonly kind: 'timelines'; readonly names: readonly string[] }
  | { readonly kind: 'forget'; readonly names: readonly string[] }
  | { readonly kind: 'waitDeleted'; readonly names: readonly string[]; readonly timeoutMs: number }
  /** Start keeping the DynamoDB requests that name these jobs (name to run id). */
  | { readonly kind: 'capture'; readonly runIds: Readonly<Record<string, string>> }
  /** Stop capturing; answers how many requests of each operation one job made. */
  | { readonly kind: 'endCapture' }
  /** Replays the captured requests for `jobs` fresh jobs, `concurrency` at a time. */
  | { readonly kind: 'ceiling'; readonly jobs: number; readonly concurrency: number }
  | { readonly kind: 'stop' };

export interface HostInfo {
  readonly apiUrl: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly webhookSecret: string | undefined;
  readonly startupMs: number;
  readonly pid: number;
}

/** Epoch milliseconds; absent when not seen. */
export interface JobTimeline {
  /** When `Job Started` was put on the bus. */
  readonly startedObservedAt?: number;
  /** When the run's terminal event was put on the bus. */
  readonly terminalObservedAt?: number;
  readonly terminalType?: string;
  /** `startedAt` of the events: when the worker began the run. */
  readonly startedAt?: number;
  /** `finishedAt` of the terminal event: when the work ended. */
  readonly finishedAt?: number;
  /** When the completion's write deleting the active record succeeded. */
  readonly deletedAt?: number;
}

/** Lambda's counters in the host, read without collecting garbage. */
export interface LambdaFigures {
  readonly workerThreads: number;
  /** Cold starts so far per function: the environments each has started. */
  readonly coldStarts: Readonly<Record<string, number>>;
  /** Throttled attempts so far per function (no concurrency free). */
  readonly throttles: Readonly<Record<string, number>>;
  /** Async events accepted and not yet at their final outcome. */
  readonly queued: number;
  /** Executions running now. */
  readonly inFlight: number;
}

/** The host's CPU time so far, user and system, in microseconds. */
export interface CpuFigures {
  /** Every thread of the process: the main one, the function threads, V8's and libuv's helpers. */
  readonly processMicros: number;
  /** The main thread alone (API, bus, Lambda service, DynamoDB); null where `/proc` is missing. */
  readonly mainThreadMicros: number | null;
}

export interface MemoryFigures extends LambdaFigures {
  /** The host process's resident set, function threads included. */
  readonly rssBytes: number;
  /** The main thread's heap after a full collection. */
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}

export interface CaptureSummary {
  readonly jobs: number;
  /** Requests per job by operation (e.g. `TransactWriteItems: 2`), averaged over the captured jobs. */
  readonly perJob: Readonly<Record<string, number>>;
}

export interface CeilingFigures {
  readonly jobs: number;
  readonly concurrency: number;
  readonly requests: number;
  /** Requests the database refused (a condition no longer true on replay); they still ran. */
  readonly refused: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  /** Jobs' worth of DynamoDB work per second: the database's ceiling for the jobs' operations. */
  readonly jobsPerSecond: number;
}
