/**
 * Following a job to its end on screen: shows each event and answers the exit
 * code of the terminal one (or 130 when Ctrl-C stopped the watching). The
 * events themselves, reconnects included, come from the client
 * (`client/events.ts`).
 */
import {
  type FollowParams,
  followJobEvents,
  type JobEvent,
  terminalStatusOf,
} from '../client/events';
import { CliError, ExitCode, exitCodeForStatus } from './errors';
import type { WatchView } from './render';

export { exitCodeForStatus };

/** The exit code a terminal event means; undefined for Started and Progress. */
export function exitCodeForEvent(type: JobEvent['detail-type']): ExitCode | undefined {
  const status = terminalStatusOf(type);
  return status === undefined ? undefined : exitCodeForStatus(status);
}

/**
 * Shows `events` on `view` until the terminal one, and answers its exit code;
 * `Interrupted` when `signal` stopped them first. `events` end quietly on
 * abort (as the client's `watch` does), or throw.
 */
export async function showEvents(
  events: AsyncIterable<JobEvent>,
  view: WatchView,
  signal: AbortSignal,
): Promise<ExitCode> {
  try {
    for await (const event of events) {
      view.event(event);
      const code = exitCodeForEvent(event['detail-type']);
      if (code !== undefined) return code;
    }
  } catch (error) {
    if (signal.aborted) return ExitCode.Interrupted;
    throw error;
  }
  // The client's events end without a terminal one only when they were aborted.
  if (signal.aborted) return ExitCode.Interrupted;
  throw new CliError('the event stream ended before the job did', ExitCode.Unreachable);
}

export interface WatchParams extends FollowParams {
  readonly view: WatchView;
  readonly signal: AbortSignal;
}

/** Follows a job through an event source of one's own (the demo's); the CLI goes through the client. */
export function watchJob(params: WatchParams): Promise<ExitCode> {
  return showEvents(followJobEvents(params), params.view, params.signal);
}
