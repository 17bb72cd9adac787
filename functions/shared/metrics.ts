/**
 * The jobs' CloudWatch metrics, written by Powertools Metrics as EMF lines
 * (CloudWatch Logs turns each line into metric data; no API call, no added
 * latency). Namespace `eventjobs`; one dimension, `type`: the job type.
 *
 * Each function that counts something builds one `JobMetrics` at module scope,
 * hands it to its service, and publishes it once per invocation (`withMetrics`),
 * also when the invocation throws: what was recorded before the throw happened.
 * A function that crashes before publishing loses that invocation's figures, so
 * counts are at most once, never twice.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { TerminalStatus } from '../../core/model';
import { log, SERVICE_NAME } from './log';

export const METRICS_NAMESPACE = 'eventjobs';

/** The one dimension of every metric: the run's job type. */
export const TYPE_DIMENSION = 'type';

/** The metric names; `docs/operating.md` lists their units and who emits them. */
export const JobMetric = {
  /** Count: a new run was started (start-job; an idempotent repeat of a start is not one). */
  Started: 'JobsStarted',
  /** Count: a run was queued instead of started, over a concurrency limit (start-job). */
  Queued: 'JobsQueued',
  /** Count: a run's outcome was recorded SUCCEEDED (completion, once per run). */
  Succeeded: 'JobsSucceeded',
  /** Count: a run's outcome was recorded FAILED (completion, once per run). */
  Failed: 'JobsFailed',
  /** Count: a run's outcome was recorded CANCELLED (completion, once per run). */
  Cancelled: 'JobsCancelled',
  /** Count: a run's outcome was recorded TIMED_OUT (completion, once per run). */
  TimedOut: 'JobsTimedOut',
  /** Milliseconds from a run's creation to its worker's first start (worker). */
  QueueWait: 'QueueWait',
  /** Milliseconds from a run's first start to its end, for runs that started (completion). */
  RunDuration: 'RunDuration',
} as const;
export type JobMetric = (typeof JobMetric)[keyof typeof JobMetric];

const METRIC_OF_STATUS: Readonly<Record<TerminalStatus, JobMetric>> = {
  SUCCEEDED: JobMetric.Succeeded,
  FAILED: JobMetric.Failed,
  CANCELLED: JobMetric.Cancelled,
  TIMED_OUT: JobMetric.TimedOut,
};

/** What the services record; each call is one data point of one run. */
export interface JobMetrics {
  /** A new run of `type` was started. */
  started(type: string): void;
  /** A new run of `type` was queued: a concurrency limit was reached. */
  queued(type: string): void;
  /** A run's worker started it `ms` after the run was created. */
  queueWait(type: string, ms: number): void;
  /** A run's outcome was recorded; `durationMs` when the run had started. */
  finished(type: string, status: TerminalStatus, durationMs?: number): void;
  /** Writes what was recorded since the last publish as one EMF line, if anything. */
  publish(): void;
}

/** A `JobMetrics` over a Powertools `Metrics` of its own; its warnings go to the function's log. */
export function createJobMetrics(): JobMetrics {
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
    logger: log,
  });
  // Powertools adds `service` as a default dimension; the namespace already says
  // it, and an alarm on a type should not have to name it too.
  metrics.clearDefaultDimensions();
  // The type the stored metrics are about: the dimensions apply to a whole EMF line.
  let pendingType: string | undefined;

  const publish = (): void => {
    // Publishing nothing would log a warning on every invocation that counted nothing.
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    else metrics.clearDimensions();
    pendingType = undefined;
  };
  const forType = (type: string): Metrics => {
    if (pendingType !== undefined && pendingType !== type) publish();
    if (pendingType === undefined) {
      metrics.addDimension(TYPE_DIMENSION, type);
      pendingType = type;
    }
    return metrics;
  };

  return {
    started: (type) => forType(type).addMetric(JobMetric.Started, MetricUnit.Count, 1),
    queued: (type) => forType(type).addMetric(JobMetric.Queued, MetricUnit.Count, 1),
    queueWait: (type, ms) => {
      // A timestamp that did not parse gives NaN: no figure rather than a wrong one.
      if (!Number.isFinite(ms)) return;
      forType(type).addMetric(JobMetric.QueueWait, MetricUnit.Milliseconds, Math.max(0, ms));
    },
    finished: (type, status, durationMs) => {
      forType(type).addMetric(METRIC_OF_STATUS[status], MetricUnit.Count, 1);
      if (durationMs !== undefined && Number.isFinite(durationMs)) {
        metrics.addMetric(JobMetric.RunDuration, MetricUnit.Milliseconds, durationMs);
      }
    },
    publish,
  };
}

/** Wraps a handler so that `metrics` is published once per invocation, however it ends. */
export function withMetrics<A extends unknown[], R>(
  metrics: JobMetrics,
  handler: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await handler(...args);
    } finally {
      metrics.publish();
    }
  };
}
