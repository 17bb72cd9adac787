/**
 * EventBridge's wire protocol (AWS JSON 1.1): `POST /` with
 * `X-Amz-Target: AWSEvents.<Operation>` and a JSON body, answered with
 * `application/x-amz-json-1.1` and, for errors, `{"__type", "message"}`.
 *
 * Operations: PutEvents, DescribeEventBus, ListEventBuses, ListRules and
 * ListTargetsByRule. Anything else is `UnknownOperationException`; a body
 * that is not a JSON object, or fields of the wrong type, are
 * `SerializationException` (both 400).
 */
import { type AwsJsonProtocol, type AwsJsonService, type Json, serveAwsJson } from '../aws-json';
import type {
  AwsRequest,
  AwsResponse,
  AwsService,
  BusSpec,
  PutEventsEntry,
  PutEventsResultEntry,
  RuleSpec,
} from '../contracts';
import { EventBridgeError } from './errors';

/** What the wire layer needs from the bus. */
export interface EventBridgeApi {
  putEvents(
    entries: readonly PutEventsEntry[],
  ): Promise<{ readonly FailedEntryCount: number; readonly Entries: PutEventsResultEntry[] }>;
  /** A bus by name or ARN (`default` when omitted). */
  describeBus(ref: string | undefined): BusSpec | undefined;
  listBuses(): readonly BusSpec[];
  /** The rules of a bus by name or ARN, or `undefined` if there is no such bus. */
  listRules(busRef: string | undefined): readonly RuleSpec[] | undefined;
}

/** EventBridge's dialect: JSON 1.1, errors with `x-amzn-errortype` and no request id. */
const EVENTBRIDGE_PROTOCOL: AwsJsonProtocol = {
  version: '1.1',
  targetPrefix: 'AWSEvents.',
  errors: { typeHeader: true, requestId: false },
};

class SerializationError extends EventBridgeError {
  constructor(message: string) {
    super('SerializationException', message);
  }
}

function optionalString(input: Json, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SerializationError(`${field} must be a string.`);
  return value;
}

function readEntry(raw: unknown): PutEventsEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SerializationError('Entries members must be structures.');
  }
  const entry = raw as Json;
  const resources = entry.Resources;
  if (
    resources !== undefined &&
    resources !== null &&
    !(Array.isArray(resources) && resources.every((r) => typeof r === 'string'))
  ) {
    throw new SerializationError('Resources must be a list of strings.');
  }
  const time = entry.Time;
  if (time !== undefined && time !== null && typeof time !== 'number' && typeof time !== 'string') {
    throw new SerializationError('Time must be a timestamp.');
  }
  return {
    Source: optionalString(entry, 'Source'),
    DetailType: optionalString(entry, 'DetailType'),
    Detail: optionalString(entry, 'Detail'),
    Resources: (resources ?? undefined) as string[] | undefined,
    EventBusName: optionalString(entry, 'EventBusName'),
    Time: (time ?? undefined) as string | number | undefined,
    TraceHeader: optionalString(entry, 'TraceHeader'),
  };
}

function busNotFound(ref: string | undefined): EventBridgeError {
  const name = ref?.startsWith('arn:') ? (ref.split('event-bus/')[1] ?? ref) : (ref ?? 'default');
  return new EventBridgeError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
}

function describeRule(rule: RuleSpec) {
  return {
    Name: rule.name,
    Arn: rule.arn,
    ...(rule.eventPattern === undefined
      ? {}
      : {
          EventPattern:
            typeof rule.eventPattern === 'string'
              ? rule.eventPattern
              : JSON.stringify(rule.eventPattern),
        }),
    ...(rule.scheduleExpression === undefined
      ? {}
      : { ScheduleExpression: rule.scheduleExpression }),
    State: rule.enabled ? 'ENABLED' : 'DISABLED',
    EventBusName: rule.busName,
  };
}

function describeTarget(target: RuleSpec['targets'][number]) {
  return {
    Id: target.id,
    Arn: target.arn,
    ...(target.input === undefined ? {} : { Input: target.input }),
    ...(target.inputPath === undefined ? {} : { InputPath: target.inputPath }),
    ...(target.inputTransformer === undefined
      ? {}
      : {
          InputTransformer: {
            ...(target.inputTransformer.inputPathsMap === undefined
              ? {}
              : { InputPathsMap: target.inputTransformer.inputPathsMap }),
            InputTemplate: target.inputTransformer.inputTemplate,
          },
        }),
    ...(target.deadLetterArn === undefined
      ? {}
      : { DeadLetterConfig: { Arn: target.deadLetterArn } }),
    RetryPolicy: {
      MaximumRetryAttempts: target.retryPolicy.maximumRetryAttempts,
      MaximumEventAgeInSeconds: target.retryPolicy.maximumEventAgeSeconds,
    },
  };
}

function putEvents(api: EventBridgeApi, input: Json) {
  const entries = input.Entries;
  if (entries === undefined || entries === null) {
    throw new EventBridgeError(
      'ValidationException',
      "1 validation error detected: Value null at 'entries' failed to satisfy constraint: " +
        'Member must not be null',
    );
  }
  if (!Array.isArray(entries)) throw new SerializationError('Entries must be a list.');
  return api.putEvents(entries.map(readEntry));
}

function describeEventBus(api: EventBridgeApi, input: Json) {
  const ref = optionalString(input, 'Name');
  const bus = api.describeBus(ref);
  if (bus === undefined) throw busNotFound(ref);
  return { Name: bus.name, Arn: bus.arn };
}

function listEventBuses(api: EventBridgeApi, input: Json) {
  const prefix = optionalString(input, 'NamePrefix') ?? '';
  return {
    EventBuses: api
      .listBuses()
      .filter((bus) => bus.name.startsWith(prefix))
      .map((bus) => ({ Name: bus.name, Arn: bus.arn })),
  };
}

function listRules(api: EventBridgeApi, input: Json) {
  const ref = optionalString(input, 'EventBusName');
  const rules = api.listRules(ref);
  if (rules === undefined) throw busNotFound(ref);
  const prefix = optionalString(input, 'NamePrefix') ?? '';
  return { Rules: rules.filter((rule) => rule.name.startsWith(prefix)).map(describeRule) };
}

function listTargetsByRule(api: EventBridgeApi, input: Json) {
  const ref = optionalString(input, 'EventBusName');
  const name = optionalString(input, 'Rule');
  const rules = api.listRules(ref);
  if (rules === undefined) throw busNotFound(ref);
  const rule = rules.find((r) => r.name === name);
  if (rule === undefined) {
    const bus = api.describeBus(ref)?.name ?? 'default';
    throw new EventBridgeError(
      'ResourceNotFoundException',
      `Rule ${name ?? ''} does not exist on EventBus ${bus}.`,
    );
  }
  return { Targets: rule.targets.map(describeTarget) };
}

/** The EventBridge endpoint of the local cloud, answering to the `events` signing name. */
export function createEventBridgeService(api: EventBridgeApi): AwsService {
  const operations = {
    PutEvents: (input: Json) => putEvents(api, input),
    DescribeEventBus: (input: Json) => describeEventBus(api, input),
    ListEventBuses: (input: Json) => listEventBuses(api, input),
    ListRules: (input: Json) => listRules(api, input),
    ListTargetsByRule: (input: Json) => listTargetsByRule(api, input),
  };
  const unsupported = (operation: string | undefined) =>
    new EventBridgeError(
      'UnknownOperationException',
      `Operation ${operation ?? '(no X-Amz-Target)'} is not supported by the local EventBridge.`,
    );
  const service: AwsJsonService = {
    protocol: EVENTBRIDGE_PROTOCOL,
    operations,
    serialization: {
      invalidJson: 'Request body is not valid JSON.',
      notAnObject: 'Start of structure or map expected.',
      blankIsEmpty: true,
    },
    // Any method will do, but an operation it lacks is refused before the body is read.
    refuse: (_method, operation) =>
      operation === undefined || !Object.hasOwn(operations, operation)
        ? unsupported(operation)
        : undefined,
    unknownOperation: unsupported,
    internalError: (error) =>
      new EventBridgeError(
        'InternalException',
        error instanceof Error ? error.message : String(error),
        500,
      ),
  };
  return {
    signingNames: ['events'],
    handle: (request: AwsRequest): Promise<AwsResponse> => serveAwsJson(service, request),
  };
}
