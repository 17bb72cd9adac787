/** DynamoDB's JSON 1.0 wire format for the answers the local cloud writes itself. */
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { type AwsJsonProtocol, jsonAnswer } from '../aws-json';
import type { AwsResponse } from '../contracts';
import type { BackendResponse } from './backend';

/**
 * DynamoDB's dialect: JSON 1.0, DynamoDB's request ids and a CRC32 of every
 * body. Its errors carry their namespace in `__type` (see `errorResponse`).
 */
export const DYNAMODB_PROTOCOL: AwsJsonProtocol = {
  version: '1.0',
  targetPrefix: 'DynamoDB_20120810.',
  errors: {},
  requestId: dynamoDbRequestId,
  checksum: true,
};

/** Error `__type` namespaces as DynamoDB sends them. */
export const DYNAMODB_NS = 'com.amazonaws.dynamodb.v20120810#';
export const VALIDATE_NS = 'com.amazon.coral.validate#';

export function jsonResponse(body: object, status = 200): AwsResponse {
  return jsonAnswer(DYNAMODB_PROTOCOL, body, status);
}

/** An error as DynamoDB writes it; `type` includes the namespace. */
export function errorResponse(
  status: number,
  type: string,
  message: string,
  extra: Readonly<Record<string, unknown>> = {},
): AwsResponse {
  return jsonResponse({ __type: type, ...extra, message }, status);
}

export function validationError(message: string): AwsResponse {
  return errorResponse(400, `${VALIDATE_NS}ValidationException`, message);
}

export function internalError(message: string): AwsResponse {
  return errorResponse(500, `${DYNAMODB_NS}InternalServerError`, message);
}

export function fromBackend(response: BackendResponse): AwsResponse {
  // An in-process answer may have been changed since it was made: write it out now.
  if (response.json) return jsonResponse(response.json, response.status);
  return { status: response.status, headers: response.headers, body: response.body };
}

/** A backend answer with another JSON body, keeping its request id. */
export function withBody(response: BackendResponse, body: object): AwsResponse {
  const text = JSON.stringify(body);
  return {
    status: response.status,
    headers: { ...response.headers, 'x-amz-crc32': String(crc32(text)) },
    body: text,
  };
}

/** 52 upper-case alphanumerics, like DynamoDB's (and dynalite's) request ids. */
export function dynamoDbRequestId(): string {
  return randomBytes(39).toString('base64').toUpperCase().replace(/[+/=]/g, '0');
}
