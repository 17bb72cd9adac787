/**
 * Following a job to its end: reads its event stream, shows each event, and
 * answers the exit code of the terminal one. A stream cut off early is
 * reopened a few times (the server replays the run's events; repeats are
 * recognised by their EventBridge id).
 */
import { ExitCode, UnreachableError } from './errors';
import type { WatchView } from './render';
import type { EventSourceFn, JobEvent } from './stream';

/** The exit code a terminal event means; undefined for Started and Progress. */
export function exitCodeForEvent(type: JobEvent['detail-type']): ExitCode | undefined {
  switch (type) {
    case 'Job Completed':
      return ExitCode.Ok;
    case 'Job Failed':
      return ExitCode.JobFailed;
    case 'Job Cancelled':
      return ExitCode.JobCancelled;
    case 'Job Timed Out':
      return ExitCode.JobTimedOut;
    default:
      return undefined;
  }
}

/** The exit code for a job status as the API reports it (`result`, `status`). */
export function exitCodeForStatus(status: string): ExitCode {
  switch (status) {
    case 'SUCCEEDED':
      return ExitCode.Ok;
    case 'FAILED':
      return ExitCode.JobFailed;
    case 'CANCELLED':
      return ExitCode.JobCancelled;
    case 'TIMED_OUT':
      return ExitCode.JobTimedOut;
    default:
      return ExitCode.StillRunning;
  }
}

export interface WatchParams {
  readonly name: string;
  /** Only this run's events (a name is reused by later runs). */
  readonly runId?: string;
  readonly source: EventSourceFn;
  readonly view: WatchView;
  readonly signal: AbortSignal;
  /** @default 3 */
  readonly maxReconnects?: number;
  /** @default - a real timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

export async function watchJob(params: WatchParams): Promise<ExitCode> {
  const maxReconnects = params.maxReconnects ?? 3;
  const sleep = params.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const seen = new Set<string>();
  for (let reconnects = 0; ; reconnects++) {
    try {
      for await (const { event } of params.source(params.name, params.signal)) {
        if (params.runId !== undefined && event.detail.runId !== params.runId) continue;
        if (seen.has(event.id)) continue;
        seen.add(event.id);
        params.view.event(event);
        const code = exitCodeForEvent(event['detail-type']);
        if (code !== undefined) return code;
      }
    } catch (error) {
      if (params.signal.aborted) return ExitCode.Interrupted;
      if (!(error instanceof UnreachableError) || reconnects >= maxReconnects) throw error;
    }
    if (params.signal.aborted) return ExitCode.Interrupted;
    if (reconnects >= maxReconnects) {
      throw new UnreachableError(`the event stream of ${params.name} ended before the job did`, {
        hint: `see where it stands with \`eventjobs status ${params.name}\`, or watch it again`,
      });
    }
    await sleep(500 * (reconnects + 1));
  }
}
