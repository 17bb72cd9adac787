/**
 * Part 6: what a checkpointed step and a durable sleep add to a run, measured
 * by difference on the local cloud's usage counters. The built-in `pipeline`
 * type runs `R` times in each shape, and
 *
 * - a step is (a run of N steps - a run of 1 step) / (N - 1);
 * - a sleep is a run of 2 steps with a sleep between them - the same without;
 * - a checkpointed run's own overhead is a run of 1 step, less one step, less
 *   an `echo` run (which uses no steps).
 *
 * Each lane starts a job and waits for its end (the active record deleted, and
 * Lambda idle) before the next, so that the functions' durations are not those
 * of a machine under load. A batch during which the sweeper ran (once a minute,
 * its reads are no job's) is run again. Scheduler invocations are counted by
 * the bench host (bench/host.ts): the local cloud's `usage()` has none.
 */
import type { BenchClient } from './client';
import {
  addOps,
  type CostBreakdown,
  costPerMillion,
  NO_OPS,
  type OpsPerJob,
  opsPerJob,
} from './cost';
import type { BenchHost } from './host-client';
import { benchJobName, type LambdaFigures } from './protocol';
import { pool } from './stats';
import { startJob } from './throughput';
import { type Counters, diffCounters } from './usage';

export interface StepsOptions {
  /** Runs of each shape. */
  readonly runs: number;
  /** Jobs in flight at once; each lane waits for its job's end before starting the next. */
  readonly lanes: number;
  /** Steps of the long run; the short one has 1. */
  readonly steps: number;
  readonly sleepSeconds: number;
  /** Warm-up runs of each shape, not measured, so that the measured ones meet warm environments. */
  readonly warmupRuns: number;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

/** DynamoDB calls and capacity units per job (or per step) of one operation; writes include index writes. */
export interface OperationFigures {
  readonly calls: number;
  readonly readUnits: number;
  readonly writeUnits: number;
}

export interface BatchFigures {
  readonly type: string;
  readonly input: unknown;
  /** Jobs whose active record was deleted in time. */
  readonly jobs: number;
  readonly unfinished: number;
  /** Tries of this batch: a try during which the sweeper ran is thrown away. */
  readonly tries: number;
  readonly seconds: number;
  readonly usage: Counters;
  readonly ops: OpsPerJob;
  /** DynamoDB calls per job by calling function and operation (`<function> PutItem`). */
  readonly callsByFunction: Readonly<Record<string, number>>;
}

export interface MarginalFigures {
  readonly ops: OpsPerJob;
  readonly dynamodbByOperation: Readonly<Record<string, OperationFigures>>;
  /** DynamoDB calls by calling function and operation: whose writes they are. */
  readonly callsByFunction: Readonly<Record<string, number>>;
  readonly dollarsPerMillion: CostBreakdown;
}

export interface StepsFigures {
  readonly runs: number;
  readonly lanes: number;
  readonly steps: number;
  readonly sleepSeconds: number;
  readonly batches: Readonly<Record<Shape, BatchFigures>>;
  /** One more step in a run (with the `pipeline` type's progress report inside it). */
  readonly perStep: MarginalFigures;
  /** One durable sleep between two steps: its checkpoints, suspend, timer and the waking invocation. */
  readonly perSleep: MarginalFigures;
  /** A run with checkpoints against one without (`echo`), its steps left out. */
  readonly perCheckpointedRun: MarginalFigures;
  /** Where the Scheduler figures come from. */
  readonly schedulerSource: string;
  readonly scheduler: { readonly createScheduleCalls: number; readonly invocations: number };
}

const SHAPES = ['echo', 'one', 'many', 'pair', 'pairSleep'] as const;
type Shape = (typeof SHAPES)[number];

export const SCHEDULER_SOURCE =
  "counted by the bench host around the local Scheduler (CreateSchedule calls, schedules fired): the local cloud's usage() has no Scheduler counters";

export async function benchSteps(
  host: BenchHost,
  client: BenchClient,
  options: StepsOptions,
): Promise<StepsFigures> {
  return new StepsBench(host, client, options).run();
}

class StepsBench {
  readonly #host: BenchHost;
  readonly #client: BenchClient;
  readonly #options: StepsOptions;
  readonly #tag = Date.now().toString(36);
  #batchCount = 0;

  constructor(host: BenchHost, client: BenchClient, options: StepsOptions) {
    this.#host = host;
    this.#client = client;
    this.#options = options;
  }

  async run(): Promise<StepsFigures> {
    const { steps, sleepSeconds, runs, lanes, warmupRuns, log } = this.#options;
    const shapes: Record<Shape, { type: string; input: unknown; label: string }> = {
      echo: { type: 'echo', input: { value: 0 }, label: 'echo' },
      one: { type: 'pipeline', input: { steps: 1, stepSeconds: 0 }, label: '1 step' },
      many: { type: 'pipeline', input: { steps, stepSeconds: 0 }, label: `${steps} steps` },
      pair: { type: 'pipeline', input: { steps: 2, stepSeconds: 0 }, label: '2 steps' },
      pairSleep: {
        type: 'pipeline',
        input: { steps: 2, stepSeconds: 0, sleepSeconds },
        label: `2 steps, a ${sleepSeconds} s sleep between`,
      },
    };
    if (warmupRuns > 0) {
      log(`  warm-up: ${warmupRuns} runs of each shape, ${lanes} at a time, not measured`);
      for (const shape of SHAPES) await this.#jobs(shapes[shape], warmupRuns, 'stepwarm');
    }
    const schedulerBefore = await this.#scheduler();
    const batches = {} as Record<Shape, BatchFigures>;
    for (const shape of SHAPES) {
      batches[shape] = await this.#batch(shapes[shape].type, shapes[shape].input);
      const batch = batches[shape];
      log(
        `  ${shapes[shape].label}: ${batch.jobs} runs in ${batch.seconds.toFixed(1)} s` +
          `${batch.unfinished ? `, ${batch.unfinished} UNFINISHED` : ''}` +
          `${batch.tries > 1 ? ` (${batch.tries} tries: the sweeper ran during ${batch.tries - 1})` : ''}`,
      );
    }
    const schedulerAfter = await this.#scheduler();

    const perStep = marginal(batches.many, batches.one, steps - 1);
    const perSleep = marginal(batches.pairSleep, batches.pair, 1);
    // A run of 1 step, less the step: what checkpointing costs a run once, against echo.
    const oneLessStep = {
      ops: addOps(batches.one.ops, perStep.ops, -1),
      byOperation: combine(perJobByOperation(batches.one), perStep.dynamodbByOperation, -1),
    };
    const overheadOps = addOps(oneLessStep.ops, batches.echo.ops, -1);
    const perCheckpointedRun: MarginalFigures = {
      ops: overheadOps,
      dynamodbByOperation: combine(oneLessStep.byOperation, perJobByOperation(batches.echo), -1),
      callsByFunction: subtract(
        subtract(batches.one.callsByFunction, perStep.callsByFunction, 1),
        batches.echo.callsByFunction,
        1,
      ),
      dollarsPerMillion: costPerMillion(overheadOps),
    };
    return {
      runs,
      lanes,
      steps,
      sleepSeconds,
      batches,
      perStep,
      perSleep,
      perCheckpointedRun,
      schedulerSource: SCHEDULER_SOURCE,
      scheduler: {
        createScheduleCalls:
          schedulerAfter.createScheduleCalls - schedulerBefore.createScheduleCalls,
        invocations: schedulerAfter.invocations - schedulerBefore.invocations,
      },
    };
  }

  /** One measured batch of `runs` jobs, tried again (up to three times) if the sweeper ran meanwhile. */
  async #batch(type: string, input: unknown): Promise<BatchFigures> {
    for (let tries = 1; ; tries++) {
      const before = await this.#host.ask<Counters>({ kind: 'usage' });
      const callsBefore = await this.#host.ask<Record<string, number>>({ kind: 'calls' });
      const began = performance.now();
      const { finished, unfinished } = await this.#jobs(
        { type, input },
        this.#options.runs,
        'steps',
      );
      const seconds = (performance.now() - began) / 1000;
      const usage = diffCounters(before, await this.#host.ask<Counters>({ kind: 'usage' }));
      const callsAfter = await this.#host.ask<Record<string, number>>({ kind: 'calls' });
      const ops = opsPerJob(usage, Math.max(1, finished));
      const callsByFunction: Record<string, number> = {};
      for (const [key, after] of Object.entries(callsAfter)) {
        const count = after - (callsBefore[key] ?? 0);
        if (count > 0) callsByFunction[key] = count / Math.max(1, finished);
      }
      const swept = Object.entries(ops.lambda).some(
        ([name, fn]) => /sweeper/i.test(name) && fn.invocations > 0,
      );
      if (!swept || tries >= 3) {
        return {
          type,
          input,
          jobs: finished,
          unfinished,
          tries,
          seconds,
          usage,
          ops,
          callsByFunction,
        };
      }
    }
  }

  /** Runs `count` jobs, `lanes` at a time, each to its end; then waits for Lambda to be idle. */
  async #jobs(
    shape: { readonly type: string; readonly input: unknown },
    count: number,
    part: string,
  ): Promise<{ finished: number; unfinished: number }> {
    const batch = this.#batchCount++;
    const names = Array.from({ length: count }, (_, n) =>
      benchJobName(part, `${this.#tag}b${batch}`, n),
    );
    let finished = 0;
    await pool(count, this.#options.lanes, async (n) => {
      const name = names[n] as string;
      const job = await startJob(this.#client, name, shape.type, shape.input);
      if (!job) return;
      const missing = await this.#host.ask<number>({
        kind: 'waitDeleted',
        names: [name],
        timeoutMs: this.#options.timeoutMs,
      });
      if (missing === 0) finished += 1;
    });
    await this.#idle();
    await this.#host.ask({ kind: 'forget', names });
    return { finished, unfinished: count - finished };
  }

  /** Until no invocation is queued or running twice in a row: the events a run's end put are handled. */
  async #idle(): Promise<void> {
    const deadline = Date.now() + this.#options.timeoutMs;
    let quiet = 0;
    while (quiet < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const lambda = await this.#host.ask<LambdaFigures>({ kind: 'lambda' });
      quiet = lambda.queued === 0 && lambda.inFlight === 0 ? quiet + 1 : 0;
    }
  }

  async #scheduler(): Promise<{ createScheduleCalls: number; invocations: number }> {
    const usage = await this.#host.ask<Counters>({ kind: 'usage' });
    const scheduler = typeof usage.scheduler === 'object' ? usage.scheduler : {};
    const calls = typeof scheduler.calls === 'object' ? scheduler.calls : {};
    const number = (value: number | Counters | undefined) =>
      typeof value === 'number' ? value : 0;
    return {
      createScheduleCalls: number(calls.CreateSchedule),
      invocations: number(scheduler.invocations),
    };
  }
}

/** (`more` - `less`) / `times`: what one unit of the difference between two shapes uses. */
function marginal(more: BatchFigures, less: BatchFigures, times: number): MarginalFigures {
  const ops = addOps(NO_OPS, addOps(more.ops, less.ops, -1), 1 / times);
  return {
    ops,
    dynamodbByOperation: combine(
      {},
      combine(perJobByOperation(more), perJobByOperation(less), -1),
      1 / times,
    ),
    callsByFunction: subtract(more.callsByFunction, less.callsByFunction, times),
    dollarsPerMillion: costPerMillion(ops),
  };
}

/** (`more` - `less`) / `times`, key by key; keys that differ by less than 0.005 are left out. */
function subtract(
  more: Readonly<Record<string, number>>,
  less: Readonly<Record<string, number>>,
  times: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of new Set([...Object.keys(more), ...Object.keys(less)])) {
    const value = ((more[key] ?? 0) - (less[key] ?? 0)) / times;
    if (Math.abs(value) >= 0.005) out[key] = value;
  }
  return out;
}

/** The functions' DynamoDB calls and units per job, by operation. */
function perJobByOperation(batch: BatchFigures): Record<string, OperationFigures> {
  const group = (value: number | Counters | undefined): Counters =>
    typeof value === 'object' ? value : {};
  const num = (value: number | Counters | undefined) => (typeof value === 'number' ? value : 0);
  const jobs = Math.max(1, batch.jobs);
  const out: Record<string, OperationFigures> = {};
  for (const [operation, figures] of Object.entries(group(group(batch.usage.dynamodb).functions))) {
    const op = group(figures);
    out[operation] = {
      calls: num(op.calls) / jobs,
      readUnits: num(op.readUnits) / jobs,
      writeUnits: (num(op.writeUnits) + num(op.indexWriteUnits)) / jobs,
    };
  }
  return out;
}

/** `base` + `times` × `extra`, operation by operation. */
function combine(
  base: Readonly<Record<string, OperationFigures>>,
  extra: Readonly<Record<string, OperationFigures>>,
  times: number,
): Record<string, OperationFigures> {
  const out: Record<string, OperationFigures> = { ...base };
  for (const [operation, figures] of Object.entries(extra)) {
    const into = out[operation] ?? { calls: 0, readUnits: 0, writeUnits: 0 };
    out[operation] = {
      calls: into.calls + figures.calls * times,
      readUnits: into.readUnits + figures.readUnits * times,
      writeUnits: into.writeUnits + figures.writeUnits * times,
    };
  }
  return out;
}
