/** eventjobs' own events as PutEvents entries for its bus: one shape for every function that puts one. */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import {
  EVENT_SOURCE,
  type JOB_FINISHED_EVENT_TYPE,
  type JOB_REJECTED_EVENT_TYPE,
  type JobEventType,
} from '../../core/events';

/** Every detail-type eventjobs puts. */
type EventJobsDetailType =
  | JobEventType
  | typeof JOB_FINISHED_EVENT_TYPE
  | typeof JOB_REJECTED_EVENT_TYPE;

/** A PutEvents entry of one of eventjobs' events, typed by its detail-type. */
export type JobEventEntry<T extends EventJobsDetailType = JobEventType> = PutEventsRequestEntry & {
  readonly DetailType: T;
};

export function jobEventEntry<T extends EventJobsDetailType>(
  busName: string,
  detailType: T,
  detail: unknown,
): JobEventEntry<T> {
  return {
    EventBusName: busName,
    Source: EVENT_SOURCE,
    DetailType: detailType,
    Detail: JSON.stringify(detail),
  };
}

/** Puts one of eventjobs' events on `busName`; a refused entry throws with its error code. */
export function jobEventPutter(
  eventBridge: EventBridgeClient,
  busName: string,
): <T extends EventJobsDetailType>(detailType: T, detail: unknown) => Promise<void> {
  return async (detailType, detail) => {
    const response = await eventBridge.send(
      new PutEventsCommand({ Entries: [jobEventEntry(busName, detailType, detail)] }),
    );
    if (response.FailedEntryCount) {
      throw new Error(`PutEvents refused the event: ${response.Entries?.[0]?.ErrorCode}`);
    }
  };
}
