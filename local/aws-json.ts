/**
 * The AWS JSON protocol (1.0 and 1.1), one layer for every local service that
 * speaks it (DynamoDB, SQS, EventBridge, Secrets Manager), in the manner of
 * LocalStack's protocol layer: a request is read as an operation (from
 * `X-Amz-Target: <Prefix>.<Operation>`) and a JSON object, routed to the
 * service's operation table, and the answer or the error is written back
 * with the protocol's content type and headers.
 *
 * What differs between the services is data, not code: the JSON version,
 * the target prefix, and how an error is spelled on the wire (`__type`
 * namespace, `message` or `Message`, which headers). The SDK reads each
 * service's spelling, so each keeps its own.
 */
import { randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { AwsRequest, AwsResponse } from './contracts';

export type Json = Readonly<Record<string, unknown>>;

/** An error a service answers a whole request with: its code (`__type`) and the status AWS uses. */
export class AwsJsonError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 400, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.status = status;
  }
}

/** How a service writes an error, beyond `{"__type", "message"}` and the content type. */
export interface AwsJsonErrorStyle {
  /** Put before the code in `__type`, e.g. `com.amazonaws.sqs#`. @default '' */
  readonly typePrefix?: string;
  /** The message member's name: Secrets Manager spells it `Message`. @default 'message' */
  readonly messageMember?: 'message' | 'Message';
  /** Whether errors carry `x-amzn-errortype: <code>`. @default false */
  readonly typeHeader?: boolean;
  /** Whether errors carry `x-amzn-requestid` as answers do. @default true */
  readonly requestId?: boolean;
  /** Further headers of one error (SQS's `x-amzn-query-error`). */
  readonly headers?: (error: AwsJsonError) => Readonly<Record<string, string>>;
}

/** One service's dialect of the protocol. */
export interface AwsJsonProtocol {
  /** `1.0` for DynamoDB and SQS, `1.1` for EventBridge and Secrets Manager. */
  readonly version: '1.0' | '1.1';
  /** The `X-Amz-Target` prefix with its dot, e.g. `AmazonSQS.`. */
  readonly targetPrefix: string;
  readonly errors: AwsJsonErrorStyle;
  /** `x-amzn-requestid` values. @default randomUUID */
  readonly requestId?: () => string;
  /** Whether answers carry `x-amz-crc32` of their body, as DynamoDB's do (the SDK checks it). @default false */
  readonly checksum?: boolean;
}

/** The errors of the local cloud's own AWS endpoint (no such service, bad signature): JSON 1.1, no request id. */
export const ENDPOINT_PROTOCOL: AwsJsonProtocol = {
  version: '1.1',
  targetPrefix: '',
  errors: { typeHeader: true, requestId: false },
};

/** A JSON-protocol error as the AWS endpoint itself puts it on the wire. */
export function awsJsonError(status: number, code: string, message: string): AwsResponse {
  return errorAnswer(ENDPOINT_PROTOCOL, new AwsJsonError(code, message, status));
}

export function contentType(protocol: Pick<AwsJsonProtocol, 'version'>): string {
  return `application/x-amz-json-${protocol.version}`;
}

/** The operation of `X-Amz-Target: <prefix><Operation>`; undefined for another prefix or none. */
export function targetOperation(target: string | undefined, prefix: string): string | undefined {
  if (!target?.startsWith(prefix)) return undefined;
  return target.slice(prefix.length) || undefined;
}

/** The operation the AWS endpoint routed the request with, else the one its target names. */
export function operationOf(request: AwsRequest, prefix: string): string | undefined {
  return request.operation ?? targetOperation(request.headers['x-amz-target'], prefix);
}

/** A successful answer (or, with a status, any JSON answer written as the protocol writes it). */
export function jsonAnswer(protocol: AwsJsonProtocol, body: unknown, status = 200): AwsResponse {
  return answer(protocol, status, JSON.stringify(body), {}, true);
}

export function errorAnswer(protocol: AwsJsonProtocol, error: AwsJsonError): AwsResponse {
  const style = protocol.errors;
  const body = JSON.stringify({
    __type: `${style.typePrefix ?? ''}${error.code}`,
    [style.messageMember ?? 'message']: error.message,
  });
  const headers = {
    ...(style.typeHeader ? { 'x-amzn-errortype': error.code } : {}),
    ...style.headers?.(error),
  };
  return answer(protocol, error.status, body, headers, style.requestId !== false);
}

function answer(
  protocol: AwsJsonProtocol,
  status: number,
  body: string,
  headers: Readonly<Record<string, string>>,
  requestId: boolean,
): AwsResponse {
  return {
    status,
    headers: {
      'content-type': contentType(protocol),
      ...(requestId ? { 'x-amzn-requestid': (protocol.requestId ?? randomUUID)() } : {}),
      // The SDK checks the body against this CRC when the header is present.
      ...(protocol.checksum ? { 'x-amz-crc32': String(crc32(body)) } : {}),
      ...headers,
    },
    body,
  };
}

/** What `parseJsonObject` answers a body that is not a JSON object with (`SerializationException`). */
export interface SerializationMessages {
  readonly invalidJson: string;
  readonly notAnObject: string;
  /** Whether a body of only whitespace counts as empty, as EventBridge takes it. @default false */
  readonly blankIsEmpty?: boolean;
}

/** The request body as a JSON object; an empty body is `{}`. */
export function parseJsonObject(body: Buffer, messages: SerializationMessages): Json {
  const text = body.toString('utf8');
  if (text.length === 0 || (messages.blankIsEmpty && text.trim() === '')) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AwsJsonError('SerializationException', messages.invalidJson);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AwsJsonError('SerializationException', messages.notAnObject);
  }
  return value as Json;
}

/** One operation: its input, and the request for who sent it; resolves to the output object. */
export type JsonOperation = (input: Json, request: AwsRequest) => unknown;

/** A service behind the protocol: its dialect, its operations and its answers to what it cannot serve. */
export interface AwsJsonService {
  readonly protocol: AwsJsonProtocol;
  readonly operations: Readonly<Record<string, JsonOperation>>;
  readonly serialization: SerializationMessages;
  /**
   * What the service refuses before reading the body: a request with no
   * operation always; some also refuse a method other than POST, or an
   * operation they lack.
   */
  refuse(method: string, operation: string | undefined): AwsJsonError | undefined;
  unknownOperation(operation: string): AwsJsonError;
  /** The 500 for anything else that went wrong (and the place to log it). */
  internalError(error: unknown, operation: string | undefined): AwsJsonError;
  /** Called for each request that names an operation the service accepts, before its body is read. */
  received?(operation: string): void;
}

/** The usual `refuse`: anything but a POST that names an operation gets `refusal()`. */
export function refuseUnlessPost(refusal: () => AwsJsonError): AwsJsonService['refuse'] {
  return (method, operation) => (method !== 'POST' || !operation ? refusal() : undefined);
}

/** Reads, routes and answers one request as `service`. */
export async function serveAwsJson(
  service: AwsJsonService,
  request: AwsRequest,
): Promise<AwsResponse> {
  const operation = operationOf(request, service.protocol.targetPrefix);
  try {
    const refused = service.refuse(request.method, operation);
    if (refused !== undefined || operation === undefined) {
      throw refused ?? service.unknownOperation('');
    }
    service.received?.(operation);
    const input = parseJsonObject(request.body, service.serialization);
    const run = Object.hasOwn(service.operations, operation)
      ? service.operations[operation]
      : undefined;
    if (run === undefined) throw service.unknownOperation(operation);
    return jsonAnswer(service.protocol, await run(input, request));
  } catch (error) {
    const known = error instanceof AwsJsonError ? error : service.internalError(error, operation);
    return errorAnswer(service.protocol, known);
  }
}
