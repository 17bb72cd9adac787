/**
 * What travels over the job event stream, in both directions. The local cloud's
 * SSE stream (`devserver/job-stream.ts`) and this WebSocket API carry the same event
 * documents: the EventBridge event exactly as the bus delivered it.
 */
import * as z from 'zod/mini';
import { jobNameSchema } from '../../core/event-schemas';
import { EVENT_SOURCE, JOB_OUTCOME_EVENT_TYPES, JobEventType } from '../../core/events';

const LIFECYCLE_TYPES = Object.values(JobEventType) as [JobEventType, ...JobEventType[]];
const TERMINAL_TYPES: ReadonlySet<string> = new Set(JOB_OUTCOME_EVENT_TYPES);
const nonEmptyString = z.string().check(z.minLength(1));

/**
 * One lifecycle event as EventBridge delivers it to a Lambda target. Only what
 * the stream keys on is checked; the detail is kept whole, whatever else it holds.
 */
export const jobEventSchema = z.object({
  version: z.string(),
  id: nonEmptyString,
  'detail-type': z.enum(LIFECYCLE_TYPES),
  source: z.literal(EVENT_SOURCE),
  account: z.string(),
  time: nonEmptyString,
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.looseObject({
    owner: nonEmptyString,
    jobName: jobNameSchema,
    runId: nonEmptyString,
  }),
});
export type JobEvent = z.infer<typeof jobEventSchema>;

/** Whether the event ends its run: after it the stream closes. */
export function isTerminal(event: Pick<JobEvent, 'detail-type'>): boolean {
  return TERMINAL_TYPES.has(event['detail-type']);
}

/** The one message a client sends: `{"action":"subscribe","name":"<job name>"}`. */
export const subscribeRequestSchema = z.object({
  action: z.literal('subscribe'),
  name: jobNameSchema,
});

export const StreamErrorCode = {
  BadRequest: 'BadRequest',
  JobNotFound: 'NotFound',
  /** The connection's record is gone (expired, or `$connect` never stored it): reconnect. */
  NotConnected: 'NotConnected',
  InternalError: 'InternalError',
} as const;
export type StreamErrorCode = (typeof StreamErrorCode)[keyof typeof StreamErrorCode];

export interface EventMessage {
  readonly type: 'event';
  /** The event's position in its run's log, from 1. */
  readonly seq: number;
  readonly event: JobEvent;
}

export interface ErrorMessage {
  readonly type: 'error';
  readonly code: StreamErrorCode;
  readonly message: string;
}

export type StreamMessage = EventMessage | ErrorMessage;

export function eventMessage(seq: number, event: JobEvent): EventMessage {
  return { type: 'event', seq, event };
}

export function errorMessage(code: StreamErrorCode, message: string): ErrorMessage {
  return { type: 'error', code, message };
}
