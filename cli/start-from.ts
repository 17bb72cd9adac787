/**
 * `eventjobs start --from FILE`: each line of an NDJSON file (or stdin) is a
 * `POST /jobs` body, and the lines are started in batches (`POST /jobs/batch`).
 *
 * The file is read only as fast as its batches are answered: at most
 * `concurrency` batches are in flight, and reading waits while they are (the
 * line reader then pauses the file), so memory stays flat whatever the file's
 * size. An entry that fails for a reason of the moment (`senderFault: false`:
 * a full queue, throttling) is sent again after a backoff, never sooner than
 * its `retryAfterSeconds`, up to `MAX_ENTRY_ATTEMPTS` tries (an entry its
 * batch had no time to begin, `NotAttempted`, was not tried). A failure of a
 * whole batch (the target unreachable, a refused signature) stops the run:
 * every later batch would fail the same way.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { EventJobsClient } from '../client/client';
import { ApiError, EventJobsError } from '../client/errors';
import { backoffMs, MAX_RETRY_AFTER_MS, type SleepFn, sleep } from '../client/retry';
import type { BatchFailed, BatchStartEntry, BatchStartResult } from '../client/types';
import { ulid } from '../functions/shared/ids';
import { MAX_BATCH_BODY_BYTES, MAX_BATCH_ENTRIES } from '../functions/start-job/batch-limits';
import type { Writer } from './render';

/** The batch size a user may ask for, and the default. */
export const MAX_BATCH_SIZE = MAX_BATCH_ENTRIES;
export const DEFAULT_BATCH_CONCURRENCY = 4;
/** Batches in flight at most: more would only wait in the API's own throttle. */
export const MAX_BATCH_CONCURRENCY = 64;
/** Tries of one entry at most, the first included, while it fails with `senderFault: false`. */
export const MAX_ENTRY_ATTEMPTS = 5;
/**
 * Sends of one entry at most, whatever the answers: an entry the API did not
 * attempt (`NotAttempted`, its batch ran out of time) is sent again without
 * counting as a try, and this bounds that too.
 */
export const MAX_SENDS = 20;
const NOT_ATTEMPTED = 'NotAttempted';
/** How often the progress line is redrawn on a terminal. */
export const PROGRESS_INTERVAL_MS = 250;

/** `{"jobs":[` and `]}` around a batch's entries. */
const BATCH_ENVELOPE_BYTES = Buffer.byteLength('{"jobs":[]}');

export interface StartFromOptions {
  /** Entries per batch, 1 to 100; a batch also stays within `MAX_BATCH_BODY_BYTES`. */
  readonly batchSize: number;
  /** Batches in flight at once. */
  readonly concurrency: number;
}

export interface StartFromDeps {
  readonly client: Pick<EventJobsClient, 'startBatch'>;
  readonly input: Readable;
  /** Where each failed line is written, as one JSON object per line. */
  readonly failures: Writer;
  /** A terminal to redraw the progress line on; none when undefined. */
  readonly progress?: Writer;
  /** How a retry waits; `signal` cuts it short. @default - a timer */
  readonly sleep?: SleepFn;
  /** Aborting stops the reading; the batches in flight are still answered and counted. */
  readonly signal?: AbortSignal;
  /** @default Math.random */
  readonly random?: () => number;
}

/** A line that did not start, as written to the failures output. */
export interface FailedLine {
  readonly line: number;
  /** The entry's id in its batch: the line number. */
  readonly id: string;
  readonly code: string;
  readonly message: string;
  /** The job's name, when the line gave one. */
  readonly name?: string;
}

export interface StartFromReport {
  /** Lines read, blank ones included. */
  readonly read: number;
  readonly blank: number;
  /** Entries the API accepted: running, queued, or already running under their name. */
  readonly started: number;
  /** Of those, the ones that wait their turn (`QUEUED`). */
  readonly queued: number;
  /** Of those, the ones whose name already ran the same start (`created: false`). */
  readonly alreadyRunning: number;
  readonly failed: number;
  /** Sends of entries beyond their first. */
  readonly retried: number;
  readonly seconds: number;
  /** Entries accepted per second. */
  readonly perSecond: number;
  /** The error that stopped the run before the end of the file. */
  readonly stoppedBy?: unknown;
  /** Ctrl-C stopped the reading. */
  readonly interrupted: boolean;
}

interface Entry {
  readonly line: number;
  readonly id: string;
  /** The start request as the line gave it, its id and name added. */
  readonly body: Readonly<Record<string, unknown>>;
  readonly bytes: number;
  /** The name came from the line, not from here. */
  readonly named: boolean;
}

export async function startFrom(
  options: StartFromOptions,
  deps: StartFromDeps,
): Promise<StartFromReport> {
  return new StartFromRun(options, deps).run();
}

class StartFromRun {
  readonly #options: StartFromOptions;
  readonly #deps: StartFromDeps;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #began = performance.now();
  #read = 0;
  #blank = 0;
  #started = 0;
  #queued = 0;
  #alreadyRunning = 0;
  #failed = 0;
  #retried = 0;
  #stoppedBy: unknown;
  #stopped = false;
  #progressShown = false;

  constructor(options: StartFromOptions, deps: StartFromDeps) {
    this.#options = options;
    this.#deps = deps;
  }

  async run(): Promise<StartFromReport> {
    const timer = this.#deps.progress
      ? setInterval(() => this.#drawProgress(), PROGRESS_INTERVAL_MS)
      : undefined;
    try {
      await this.#readAll();
      await Promise.all(this.#inFlight);
    } finally {
      clearInterval(timer);
      this.#clearProgress();
    }
    const seconds = (performance.now() - this.#began) / 1000;
    return {
      read: this.#read,
      blank: this.#blank,
      started: this.#started,
      queued: this.#queued,
      alreadyRunning: this.#alreadyRunning,
      failed: this.#failed,
      retried: this.#retried,
      seconds,
      perSecond: seconds > 0 ? this.#started / seconds : 0,
      ...(this.#stoppedBy === undefined ? {} : { stoppedBy: this.#stoppedBy }),
      interrupted: this.#deps.signal?.aborted === true,
    };
  }

  async #readAll(): Promise<void> {
    const lines = createInterface({ input: this.#deps.input, crlfDelay: Number.POSITIVE_INFINITY });
    let batch: Entry[] = [];
    let batchBytes = BATCH_ENVELOPE_BYTES;
    try {
      for await (const text of lines) {
        if (this.#isStopping()) break;
        this.#read += 1;
        const entry = this.#entryOf(text, this.#read);
        if (entry === undefined) continue;
        // A comma before every entry but the first.
        if (batch.length > 0 && batchBytes + 1 + entry.bytes > MAX_BATCH_BODY_BYTES) {
          await this.#send(batch);
          batch = [];
          batchBytes = BATCH_ENVELOPE_BYTES;
        }
        batchBytes += (batch.length > 0 ? 1 : 0) + entry.bytes;
        batch.push(entry);
        if (batch.length >= this.#options.batchSize) {
          await this.#send(batch);
          batch = [];
          batchBytes = BATCH_ENVELOPE_BYTES;
        }
      }
      if (batch.length > 0 && !this.#isStopping()) {
        await this.#send(batch);
        batch = [];
      }
    } finally {
      lines.close();
    }
    this.#notSent(batch);
  }

  /** Read, and stopped before they could be sent: each line still ends started or failed. */
  #notSent(entries: readonly Entry[]): void {
    for (const entry of entries) {
      this.#failEntry(entry, {
        code: 'NotSent',
        message: 'not sent: the run stopped before this line was sent',
      });
    }
  }

  #isStopping(): boolean {
    return this.#stopped || this.#deps.signal?.aborted === true;
  }

  /** A line as an entry to send, or undefined: blank (skipped) or not sendable (a failure). */
  #entryOf(text: string, line: number): Entry | undefined {
    const id = String(line);
    if (text.trim() === '') {
      this.#blank += 1;
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#fail({ line, id, code: 'InvalidJson', message: `line ${line} is not JSON: ${reason}` });
      return undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      const message = `line ${line} is not a JSON object: each line is a POST /jobs body, {"type": ...}`;
      this.#fail({ line, id, code: 'InvalidBody', message });
      return undefined;
    }
    const request = parsed as Record<string, unknown>;
    const name = typeof request.name === 'string' ? request.name : undefined;
    if (Object.hasOwn(request, 'id')) {
      this.#fail({
        line,
        id,
        code: 'InvalidBody',
        message: `line ${line} has an "id": a POST /jobs body has none (the line number is its id in the batch)`,
        ...(name === undefined ? {} : { name }),
      });
      return undefined;
    }
    // Named here, not by the client, so that a resend of a failed entry repeats its name.
    const body = { ...request, id, name: request.name ?? ulid() };
    const bytes = Buffer.byteLength(JSON.stringify(body), 'utf8');
    if (BATCH_ENVELOPE_BYTES + bytes > MAX_BATCH_BODY_BYTES) {
      this.#fail({
        line,
        id,
        code: 'PayloadTooLarge',
        message: `line ${line} is ${bytes} bytes; a batch may be at most ${MAX_BATCH_BODY_BYTES}`,
        ...(name === undefined ? {} : { name }),
      });
      return undefined;
    }
    return { line, id, body, bytes, named: request.name !== undefined };
  }

  /** Sends a batch once fewer than `concurrency` are in flight; resolves when it is on its way. */
  async #send(batch: Entry[]): Promise<void> {
    while (this.#inFlight.size >= this.#options.concurrency) await Promise.race(this.#inFlight);
    if (this.#isStopping()) return this.#notSent(batch);
    const task: Promise<void> = this.#sendBatch(batch).finally(() => this.#inFlight.delete(task));
    this.#inFlight.add(task);
  }

  /** One batch to its end: sent, and its retryable failures sent again after a wait. */
  async #sendBatch(entries: readonly Entry[]): Promise<void> {
    let pending = entries;
    // Times the API attempted each entry and it failed; `NotAttempted` does not count.
    const attempts = new Map<string, number>();
    for (let round = 1; pending.length > 0; round++) {
      let result: BatchStartResult;
      try {
        // The API validates each body; the client's types describe what a caller should send.
        result = await this.#deps.client.startBatch(
          pending.map((entry) => entry.body as unknown as BatchStartEntry),
        );
      } catch (error) {
        this.#stop(error);
        for (const entry of pending) this.#failEntry(entry, failureOf(error));
        return;
      }
      const retry = this.#count(pending, result, attempts, round);
      if (retry.entries.length === 0) return;
      const wait = Math.max(retry.waitMs, backoffMs(round - 1, this.#deps.random));
      if (!this.#isStopping()) {
        // Ctrl-C cuts the wait short (the sleep rejects with the signal's reason).
        await (this.#deps.sleep ?? sleep)(wait, this.#deps.signal).catch(() => undefined);
      }
      // Stopped (Ctrl-C, or another batch's error): the entries keep the failure they had.
      if (this.#isStopping()) {
        for (const { entry, failure } of retry.entries) this.#failEntry(entry, failure);
        return;
      }
      this.#retried += retry.entries.length;
      pending = retry.entries.map(({ entry }) => entry);
    }
  }

  /** Counts a batch's answer; answers the entries to send again, and how long to wait first. */
  #count(
    sent: readonly Entry[],
    result: BatchStartResult,
    attempts: Map<string, number>,
    round: number,
  ): { entries: { entry: Entry; failure: BatchFailed }[]; waitMs: number } {
    const byId = new Map(sent.map((entry) => [entry.id, entry]));
    for (const started of result.successful) {
      const entry = byId.get(started.id);
      if (entry === undefined) continue;
      byId.delete(started.id);
      this.#started += 1;
      if (started.status === 'QUEUED') this.#queued += 1;
      // A name made here is known to nobody else: not created means an earlier send of this entry.
      if (!started.created && entry.named) this.#alreadyRunning += 1;
    }
    const entries: { entry: Entry; failure: BatchFailed }[] = [];
    let waitMs = 0;
    for (const failed of result.failed) {
      const entry = byId.get(failed.id);
      if (entry === undefined) continue;
      byId.delete(failed.id);
      const retryAfterMs = (failed.retryAfterSeconds ?? 0) * 1000;
      // An entry the API had no time to begin was not tried: sending it again is free.
      const tried = (attempts.get(entry.id) ?? 0) + (failed.code === NOT_ATTEMPTED ? 0 : 1);
      attempts.set(entry.id, tried);
      if (
        !failed.senderFault &&
        tried < MAX_ENTRY_ATTEMPTS &&
        round < MAX_SENDS &&
        retryAfterMs <= MAX_RETRY_AFTER_MS
      ) {
        entries.push({ entry, failure: failed });
        waitMs = Math.max(waitMs, retryAfterMs);
      } else {
        this.#failEntry(entry, failed);
      }
    }
    for (const entry of byId.values()) {
      this.#failEntry(entry, {
        code: 'NoResult',
        message: 'the API answered nothing for this entry',
      });
    }
    return { entries, waitMs };
  }

  #stop(error: unknown): void {
    if (!this.#stopped) this.#stoppedBy = error;
    this.#stopped = true;
  }

  #failEntry(entry: Entry, failure: { readonly code: string; readonly message: string }): void {
    const name = entry.named && typeof entry.body.name === 'string' ? entry.body.name : undefined;
    this.#fail({
      line: entry.line,
      id: entry.id,
      code: failure.code,
      message: failure.message,
      ...(name === undefined ? {} : { name }),
    });
  }

  #fail(failed: FailedLine): void {
    this.#failed += 1;
    // The failures may share the terminal with the progress line: clear it first.
    if (this.#deps.failures === this.#deps.progress) this.#clearProgress();
    this.#deps.failures.write(`${JSON.stringify(failed)}\n`);
  }

  #drawProgress(): void {
    const progress = this.#deps.progress;
    if (!progress) return;
    const seconds = (performance.now() - this.#began) / 1000;
    const rate = seconds > 0 ? this.#started / seconds : 0;
    progress.write(
      `\rread ${count(this.#read)}  started ${count(this.#started)}  queued ${count(this.#queued)}  failed ${count(this.#failed)}  ${count(Math.round(rate))}/s\x1b[K`,
    );
    this.#progressShown = true;
  }

  #clearProgress(): void {
    if (!this.#progressShown) return;
    this.#deps.progress?.write('\r\x1b[K');
    this.#progressShown = false;
  }
}

/** What a failed batch request means for each of its entries. */
function failureOf(error: unknown): { code: string; message: string } {
  if (error instanceof ApiError) return { code: error.code, message: error.message };
  if (error instanceof EventJobsError) {
    return { code: error.name.replace(/Error$/, ''), message: error.message };
  }
  return { code: 'Internal', message: error instanceof Error ? error.message : String(error) };
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}
