/**
 * `ctx.step` and `ctx.sleep` for one invocation of a run: replay of the
 * checkpoints an earlier invocation wrote, and the writes that make new ones.
 * No storage of its own: the worker saves through the table
 * (`store.ts`), the in-process runner of `eventjobs/testing` in memory.
 *
 * A step's result is handed back as it comes out of JSON, the first time too,
 * so the job sees the same value whether the step ran now or was replayed.
 */
import { RunSuspendedError } from '../../core/job-errors';
import {
  DuplicateStepNameError,
  InvalidStepError,
  MAX_RUN_TIMEOUT_SECONDS,
  MAX_STEP_RESULT_BYTES,
  MAX_STEPS_PER_RUN,
  notJsonReason,
  SIGNAL_NAME_PATTERN,
  SignalTimeoutError,
  type SleepDuration,
  STEP_NAME_PATTERN,
  type StepContext,
  StepKind,
  StepKindMismatchError,
  type StepRecord,
  StepResultNotJsonError,
  StepResultTooLargeError,
  StepStatus,
  sleepMs,
  TooManyStepsError,
  type WaitForSignalOptions,
} from '../../core/steps';
import { toJobError } from './errors';

/** Where a run's checkpoints are written; a write that fails throws, and the run stops. */
export interface CheckpointWriter {
  save(step: StepRecord): Promise<void>;
}

export interface StepRunnerOptions {
  readonly writer: CheckpointWriter;
  readonly now: () => Date;
  /**
   * The payload JSON of the run's signal `name`, if it has been sent.
   *
   * @default - no signal is ever there
   */
  readonly readSignal?: (name: string) => Promise<string | undefined>;
}

export class StepRunner {
  readonly #records = new Map<string, StepRecord>();
  /** Names the current attempt has used: a second use is a duplicate. */
  readonly #seen = new Set<string>();
  readonly #writer: CheckpointWriter;
  readonly #now: () => Date;
  readonly #readSignal: (name: string) => Promise<string | undefined>;
  #completedHere = 0;
  #began = false;

  constructor(records: readonly StepRecord[], options: StepRunnerOptions) {
    for (const record of records) this.#records.set(record.name, record);
    this.#writer = options.writer;
    this.#now = options.now;
    this.#readSignal = options.readSignal ?? (async () => undefined);
  }

  /** A new attempt replays from the start: its names start afresh. */
  newAttempt(): void {
    this.#seen.clear();
  }

  /** Whether the run has checkpoints (earlier ones, or begun in this invocation). */
  get used(): boolean {
    return this.#began || this.#records.size > 0;
  }

  /** Steps and sleeps finished in this invocation. */
  get completedHere(): number {
    return this.#completedHere;
  }

  /** The step that began and has not ended, if any: what a continuation interrupts. */
  get running(): string | undefined {
    for (const record of this.#records.values()) {
      if (record.status === StepStatus.Running) return record.name;
    }
    return undefined;
  }

  records(): StepRecord[] {
    return [...this.#records.values()];
  }

  async step<T>(
    name: string,
    fn: (step: StepContext) => Promise<T> | T,
    signal: AbortSignal,
  ): Promise<T> {
    if (typeof fn !== 'function') {
      throw new InvalidStepError(`ctx.step("${String(name)}") takes a function`);
    }
    const stored = this.#use(name, StepKind.Step);
    if (stored?.status === StepStatus.Succeeded) return parsed<T>(stored.resultJson);
    signal.throwIfAborted();
    const attempts = (stored?.attempts ?? 0) + 1;
    const startedAt = stored?.startedAt ?? this.#now().toISOString();
    await this.#save({
      name,
      kind: StepKind.Step,
      status: StepStatus.Running,
      startedAt,
      attempts,
    });
    let value: T;
    try {
      value = await fn({ attempt: attempts, signal });
    } catch (error) {
      // A stop (cancel, deadline, continuation) leaves the step to be run again; a throw is its failure.
      if (!signal.aborted) {
        await this.#save({
          name,
          kind: StepKind.Step,
          status: StepStatus.Failed,
          startedAt,
          endedAt: this.#now().toISOString(),
          attempts,
          error: toJobError(error),
        });
      }
      throw error;
    }
    // A job that ignored its signal must not checkpoint after the run moved on.
    signal.throwIfAborted();
    const resultJson = checkedJson(name, value);
    await this.#save({
      name,
      kind: StepKind.Step,
      status: StepStatus.Succeeded,
      startedAt,
      endedAt: this.#now().toISOString(),
      attempts,
      ...(resultJson === undefined ? {} : { resultJson }),
    });
    this.#completedHere += 1;
    return parsed<T>(resultJson);
  }

  async sleep(name: string, duration: SleepDuration, signal: AbortSignal): Promise<void> {
    const stored = this.#use(name, StepKind.Sleep);
    if (stored?.status === StepStatus.Succeeded) return;
    const now = this.#now();
    if (stored?.wakeAt) {
      if (Date.parse(stored.wakeAt) <= now.getTime()) {
        await this.#save({ ...stored, status: StepStatus.Succeeded, endedAt: now.toISOString() });
        this.#completedHere += 1;
        return;
      }
      throw suspension(name, stored.wakeAt);
    }
    const ms = sleepMs(duration);
    if (typeof ms === 'string') throw new InvalidStepError(`ctx.sleep("${name}"): ${ms}`);
    if (ms > MAX_RUN_TIMEOUT_SECONDS * 1000) {
      throw new InvalidStepError(
        `ctx.sleep("${name}") of ${Math.round(ms / 1000)} s is longer than any run may last (${MAX_RUN_TIMEOUT_SECONDS} s, 30 days)`,
      );
    }
    signal.throwIfAborted();
    const startedAt = now.toISOString();
    const wakeAt = new Date(now.getTime() + ms).toISOString();
    if (ms === 0) {
      await this.#save({
        name,
        kind: StepKind.Sleep,
        status: StepStatus.Succeeded,
        startedAt,
        endedAt: startedAt,
        attempts: 1,
        wakeAt,
      });
      this.#completedHere += 1;
      return;
    }
    await this.#save({
      name,
      kind: StepKind.Sleep,
      status: StepStatus.Sleeping,
      startedAt,
      attempts: 1,
      wakeAt,
    });
    throw suspension(name, wakeAt);
  }

  async waitForSignal<T>(
    name: string,
    options: WaitForSignalOptions | undefined,
    signal: AbortSignal,
  ): Promise<T> {
    if (typeof name !== 'string' || !SIGNAL_NAME_PATTERN.test(name)) {
      throw new InvalidStepError(
        `ctx.waitForSignal needs a signal name of 1 to 128 of A-Z a-z 0-9 . _ - (got ${JSON.stringify(name)})`,
      );
    }
    const stored = this.#use(name, StepKind.Signal);
    if (stored?.status === StepStatus.Succeeded) return parsed<T>(stored.resultJson);
    if (stored?.status === StepStatus.Failed) throw new SignalTimeoutError(timedOut(name, stored));
    let timeoutMs: number | undefined;
    if (!stored && options?.timeout !== undefined) {
      const ms = sleepMs(options.timeout);
      if (typeof ms === 'string') throw new InvalidStepError(`ctx.waitForSignal("${name}"): ${ms}`);
      timeoutMs = ms;
    }
    signal.throwIfAborted();
    const now = this.#now();
    const startedAt = stored?.startedAt ?? now.toISOString();
    const payloadJson = await this.#readSignal(name);
    if (payloadJson !== undefined) {
      await this.#save({
        name,
        kind: StepKind.Signal,
        status: StepStatus.Succeeded,
        startedAt,
        endedAt: now.toISOString(),
        attempts: 1,
        resultJson: payloadJson,
      });
      this.#completedHere += 1;
      return parsed<T>(payloadJson);
    }
    const timeoutAt =
      stored?.wakeAt ??
      (timeoutMs === undefined ? undefined : new Date(now.getTime() + timeoutMs).toISOString());
    if (timeoutAt && Date.parse(timeoutAt) <= now.getTime()) {
      const record: StepRecord = {
        name,
        kind: StepKind.Signal,
        status: StepStatus.Failed,
        startedAt,
        endedAt: now.toISOString(),
        attempts: 1,
        wakeAt: timeoutAt,
        error: {
          name: 'SignalTimeoutError',
          message: timedOut(name, { startedAt, wakeAt: timeoutAt }),
        },
      };
      await this.#save(record);
      this.#completedHere += 1;
      throw new SignalTimeoutError(timedOut(name, record));
    }
    if (!stored) {
      await this.#save({
        name,
        kind: StepKind.Signal,
        status: StepStatus.Waiting,
        startedAt,
        attempts: 1,
        ...(timeoutAt ? { wakeAt: timeoutAt } : {}),
      });
    }
    throw new RunSuspendedError(`Waiting for the signal "${name}"`, {
      signalName: name,
      ...(timeoutAt ? { wakeAt: timeoutAt } : {}),
    });
  }

  /** Checks a name and claims it for this attempt; returns what is stored under it. */
  #use(name: string, kind: StepKind): StepRecord | undefined {
    const call =
      kind === StepKind.Step
        ? 'ctx.step'
        : kind === StepKind.Sleep
          ? 'ctx.sleep'
          : 'ctx.waitForSignal';
    if (typeof name !== 'string' || !STEP_NAME_PATTERN.test(name)) {
      throw new InvalidStepError(
        `${call} needs a name of 1 to 128 characters, without "#" or control characters (got ${JSON.stringify(name)})`,
      );
    }
    if (this.#seen.has(name)) {
      throw new DuplicateStepNameError(
        `${call}("${name}"): the run already has a step or sleep named "${name}"; names must be unique within a run`,
      );
    }
    this.#seen.add(name);
    const stored = this.#records.get(name);
    if (stored && stored.kind !== kind) {
      throw new StepKindMismatchError(
        `"${name}" was a ${stored.kind} in an earlier invocation of this run and is a ${kind} now: a job's steps must be the same on every replay`,
      );
    }
    if (!stored && this.#records.size >= MAX_STEPS_PER_RUN) {
      throw new TooManyStepsError(
        `${call}("${name}") would be step ${this.#records.size + 1} of the run; a run may have at most ${MAX_STEPS_PER_RUN} steps and sleeps (batch work into fewer steps)`,
      );
    }
    return stored;
  }

  async #save(record: StepRecord): Promise<void> {
    this.#began = true;
    await this.#writer.save(record);
    this.#records.set(record.name, record);
  }
}

function parsed<T>(json: string | undefined): T {
  return (json === undefined ? undefined : JSON.parse(json)) as T;
}

function timedOut(name: string, wait: Pick<StepRecord, 'startedAt' | 'wakeAt'>): string {
  return `The signal "${name}" did not come between ${wait.startedAt} and ${wait.wakeAt ?? 'its timeout'}`;
}

function suspension(name: string, wakeAt: string): RunSuspendedError {
  return new RunSuspendedError(`Sleeping in "${name}" until ${wakeAt}`, {
    wakeAt,
    sleepName: name,
  });
}

/** The JSON a step's value is checkpointed as (undefined for `undefined`), or the error it breaks. */
function checkedJson(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const why = notJsonReason(value);
  if (why) {
    throw new StepResultNotJsonError(
      `Step "${name}" returned a value that is not JSON: ${why}. A step's result is checkpointed as JSON`,
    );
  }
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_STEP_RESULT_BYTES) {
    throw new StepResultTooLargeError(
      `Step "${name}" returned ${bytes} bytes of JSON; a step's result may be at most ${MAX_STEP_RESULT_BYTES} bytes. Put large data in S3 and return its key`,
    );
  }
  return json;
}
