/**
 * The Lambda REST-JSON wire API, as the AWS SDK v3 `LambdaClient` speaks it:
 *
 * - `POST /2015-03-31/functions/{FunctionName}/invocations` (Invoke), with
 *   `X-Amz-Invocation-Type`, `X-Amz-Client-Context`, `X-Amz-Log-Type` and
 *   `?Qualifier=`;
 * - `GET /2015-03-31/functions/{FunctionName}` (GetFunction) and
 *   `.../configuration` (GetFunctionConfiguration), minimal.
 *
 * Errors go out as AWS's REST-JSON errors: the status, an `x-amzn-errortype`
 * header (which the SDK reads first) and `{"Type":"User","message":"..."}`.
 */
import {
  type AwsRequest,
  type AwsResponse,
  type AwsService,
  type FunctionSpec,
  type InvocationType,
  LambdaServiceError,
} from '../contracts';
import { TooManyRequestsError } from './errors';
import { LATEST } from './function-ref';
import type { InvokeOptions, LocalLambda } from './local-lambda';

const INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;
const GET_FUNCTION = /^\/2015-03-31\/functions\/([^/]+)\/?$/;
const GET_CONFIGURATION = /^\/2015-03-31\/functions\/([^/]+)\/configuration\/?$/;

/** Variables GetFunction leaves out: the credentials the local cloud gives each function. */
const SECRET_VARIABLES = new Set([
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
]);

export function lambdaService(lambda: LocalLambda): AwsService {
  return {
    signingNames: ['lambda'],
    handle: async (request) => {
      try {
        return await route(lambda, request);
      } catch (error) {
        if (error instanceof LambdaServiceError) return serviceError(error);
        const message = error instanceof Error ? error.message : String(error);
        return restJsonError(500, 'ServiceException', message, 'Service');
      }
    },
  };
}

async function route(lambda: LocalLambda, request: AwsRequest): Promise<AwsResponse> {
  const invoke = INVOKE.exec(request.path);
  if (invoke && request.method === 'POST') {
    return handleInvoke(lambda, request, decodeName(invoke[1]));
  }
  const configuration = GET_CONFIGURATION.exec(request.path);
  if (configuration && request.method === 'GET') {
    const { spec } = lambda.resolve(decodeName(configuration[1]), qualifierOf(request));
    return json(200, functionConfiguration(spec));
  }
  const getFunction = GET_FUNCTION.exec(request.path);
  if (getFunction && request.method === 'GET') {
    const { spec } = lambda.resolve(decodeName(getFunction[1]), qualifierOf(request));
    return json(200, {
      Configuration: functionConfiguration(spec),
      Code: { RepositoryType: 'S3', Location: `file://${spec.codeDir}` },
      ...(spec.reservedConcurrency !== undefined
        ? { Concurrency: { ReservedConcurrentExecutions: spec.reservedConcurrency } }
        : {}),
    });
  }
  return restJsonError(
    404,
    'UnknownOperationException',
    `Unknown operation: ${request.method} ${request.path}`,
  );
}

async function handleInvoke(
  lambda: LocalLambda,
  request: AwsRequest,
  functionName: string,
): Promise<AwsResponse> {
  const type = request.headers['x-amz-invocation-type'] ?? 'RequestResponse';
  if (!isInvocationType(type)) {
    throw new LambdaServiceError(
      400,
      'InvalidParameterValueException',
      `1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
    );
  }
  const logType = request.headers['x-amz-log-type'];
  if (logType !== undefined && logType !== 'None' && logType !== 'Tail') {
    throw new LambdaServiceError(
      400,
      'InvalidParameterValueException',
      `1 validation error detected: Value '${logType}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]`,
    );
  }
  const options: InvokeOptions = {
    clientContext: request.headers['x-amz-client-context'],
    qualifier: qualifierOf(request),
    logType,
  };
  const { result, requestId, logResult } = await lambda.invokeWithDetails(
    functionName,
    request.body.toString('utf8'),
    type,
    options,
  );
  if (result.statusCode !== 200) {
    return { status: result.statusCode, headers: { 'x-amzn-requestid': requestId }, body: '' };
  }
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-amzn-requestid': requestId,
    'x-amz-executed-version': result.executedVersion,
  };
  if (result.functionError) headers['x-amz-function-error'] = result.functionError;
  if (logResult !== undefined) headers['x-amz-log-result'] = logResult;
  return { status: 200, headers, body: result.payload };
}

function functionConfiguration(spec: FunctionSpec): Record<string, unknown> {
  const variables = Object.fromEntries(
    Object.entries(spec.environment).filter(([name]) => !SECRET_VARIABLES.has(name)),
  );
  return {
    FunctionName: spec.name,
    FunctionArn: spec.arn,
    Runtime: spec.runtime,
    ...(spec.roleArn ? { Role: spec.roleArn } : {}),
    Handler: spec.handler,
    Timeout: spec.timeoutSeconds,
    MemorySize: spec.memoryMb,
    Version: LATEST,
    Environment: { Variables: variables },
    ...(spec.deadLetterTargetArn
      ? { DeadLetterConfig: { TargetArn: spec.deadLetterTargetArn } }
      : {}),
    LoggingConfig: { LogGroup: spec.logGroupName },
    State: 'Active',
    LastUpdateStatus: 'Successful',
    PackageType: 'Zip',
  };
}

function isInvocationType(value: string): value is InvocationType {
  return value === 'RequestResponse' || value === 'Event' || value === 'DryRun';
}

function qualifierOf(request: AwsRequest): string | undefined {
  return request.query.get('Qualifier') ?? undefined;
}

function decodeName(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? '');
  } catch {
    throw new LambdaServiceError(400, 'ValidationException', 'The function name is not valid.');
  }
}

function json(status: number, body: unknown): AwsResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function serviceError(error: LambdaServiceError): AwsResponse {
  const extra: Record<string, string> =
    error instanceof TooManyRequestsError ? { Reason: error.reason } : {};
  return restJsonError(error.status, error.code, error.message, 'User', extra);
}

/** A REST-JSON error as Lambda writes it. */
export function restJsonError(
  status: number,
  code: string,
  message: string,
  type: 'User' | 'Service' = 'User',
  extra: Readonly<Record<string, string>> = {},
): AwsResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': code },
    body: JSON.stringify({ ...extra, Type: type, message }),
  };
}
