/**
 * The jobs API of {@link AsyncJobs}: the five functions behind its routes, and
 * the IAM-authorized HTTP API with its `$default` stage, access log and
 * throttling. Everything is built in the AsyncJobs construct's own scope, so
 * the IDs (and the template) are the construct's.
 */
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { EnvVar } from '../core/config';
import { JOB_PARTITION_PREFIX, JobsTable } from '../core/table';
import type { AsyncJobs, AsyncJobsParts } from './async-jobs';
import { acknowledge, allow, allowOnKeys } from './lambda-function';

export type ApiFunctions = Record<
  'startJob' | 'getJob' | 'listJobs' | 'cancelJob' | 'signalJob',
  lambda.Function
>;

/** The five functions behind the HTTP API's routes. */
export function createApiFunctions(
  parts: AsyncJobsParts,
  workerFunction: lambda.IFunction,
  eventBus: events.IEventBus,
): ApiFunctions {
  const { config, createFunction, tableEnvironment, limitsEnvironment } = parts;
  const tableArn = parts.table.tableArn;
  const indexArns = [JobsTable.byOwner, JobsTable.byOwnerStatus].map(
    (index) => `${tableArn}/index/${index.indexName}`,
  );
  const ownerEnvironment = { [EnvVar.OwnerModel]: config.ownerModel };
  const shared = {
    memorySize: config.apiFunctionMemorySize,
    timeout: config.apiFunctionTimeout,
    environment: { ...tableEnvironment(), ...ownerEnvironment },
  };
  const functions = {
    startJob: createFunction({
      id: 'StartJob',
      dir: 'start-job',
      jobTypesEntry: config.jobTypesEntry,
      description:
        'eventjobs: POST /jobs, POST /jobs/batch and POST /jobs/{name}/replay - records jobs and invokes the worker asynchronously',
      ...shared,
      environment: {
        ...tableEnvironment(),
        ...ownerEnvironment,
        ...limitsEnvironment(),
        [EnvVar.WorkerFunctionName]: workerFunction.functionName,
        [EnvVar.MaxInputBytes]: String(config.maxInputBytes),
        [EnvVar.EventBusName]: eventBus.eventBusName,
      },
      statements: [
        // Put with the slots it takes (UpdateItem), or with its queue entries; the
        // queue's own reads (GetItem, BatchGetItem, Query) and promotions. A replay
        // reads the job's active record (GetItem) and its latest outcome (Query) too.
        allow(
          [
            'dynamodb:PutItem',
            'dynamodb:DeleteItem',
            'dynamodb:UpdateItem',
            'dynamodb:GetItem',
            'dynamodb:BatchGetItem',
            'dynamodb:Query',
          ],
          [tableArn],
        ),
        allow(['lambda:InvokeFunction'], [workerFunction.functionArn]),
        // `Job Queued`.
        allow(['events:PutEvents'], [eventBus.eventBusArn]),
      ],
    }),
    getJob: createFunction({
      id: 'GetJob',
      dir: 'get-job',
      description: 'eventjobs: GET /jobs/{name} - the active job, else its latest outcome',
      ...shared,
      // The limits, for a queued job's place in its queue.
      environment: { ...tableEnvironment(), ...ownerEnvironment, ...limitsEnvironment() },
      statements: [allow(['dynamodb:GetItem', 'dynamodb:Query'], [tableArn])],
    }),
    listJobs: createFunction({
      id: 'ListJobs',
      dir: 'list-jobs',
      description: "eventjobs: GET /jobs - lists the caller's jobs, optionally by status",
      ...shared,
      statements: [allow(['dynamodb:Query'], indexArns)],
    }),
    cancelJob: createFunction({
      id: 'CancelJob',
      dir: 'cancel-job',
      description: 'eventjobs: DELETE /jobs/{name} - requests cancellation of a running job',
      ...shared,
      environment: {
        ...tableEnvironment(),
        ...ownerEnvironment,
        ...limitsEnvironment(),
        [EnvVar.EventBusName]: eventBus.eventBusName,
      },
      statements: [
        allow(['dynamodb:UpdateItem', 'dynamodb:Query'], [tableArn]),
        // The `Job Cancelled` that ends a queued run.
        allow(['events:PutEvents'], [eventBus.eventBusArn]),
      ],
    }),
    signalJob: createFunction({
      id: 'SignalJob',
      dir: 'signal-job',
      description:
        'eventjobs: POST /jobs/{name}/signals/{signal} - stores a signal and resumes the run waiting for it',
      ...shared,
      environment: {
        ...tableEnvironment(),
        ...ownerEnvironment,
        [EnvVar.WorkerFunctionName]: workerFunction.functionName,
        // A signal is kept as long past its run's deadline as outcomes are.
        [EnvVar.OutcomeRetentionSeconds]: String(config.outcomeRetentionSeconds),
      },
      statements: [
        // GetItem: the active record (and a signal already sent); PutItem: the signal;
        // Query: the latest outcome of a finished job. All in the job's own partition.
        allowOnKeys(
          ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
          [tableArn],
          [`${JOB_PARTITION_PREFIX}*`],
        ),
        // The resume of a run that waits for the signal.
        allow(['lambda:InvokeFunction'], [workerFunction.functionArn]),
      ],
    }),
  };
  for (const fn of Object.values(functions)) {
    acknowledge(
      fn,
      'Serverless-LambdaDLQ',
      'Only API Gateway invokes this function, synchronously; a DeadLetterConfig applies to ' +
        'asynchronous invocations only and would receive nothing (the caller gets the error).',
    );
  }
  return functions;
}

/** The HTTP API, its `$default` stage with access log and throttling, and its seven routes. */
export function createHttpApi(
  { scope, config }: AsyncJobsParts,
  functions: ApiFunctions,
): Pick<AsyncJobs, 'accessLogGroup' | 'api' | 'stage'> {
  const accessLogGroup = new logs.LogGroup(scope, 'ApiAccessLogs', {
    retention: config.logRetention,
  });

  const authorizer = new HttpIamAuthorizer();
  const api = new apigwv2.HttpApi(scope, 'Api', {
    description:
      'eventjobs: start, inspect, list, cancel, signal and replay named asynchronous jobs',
    defaultAuthorizer: authorizer,
    // The stage is created below so that it can have access logs and throttling.
    createDefaultStage: false,
  });
  const stage = new apigwv2.HttpStage(scope, 'DefaultStage', {
    httpApi: api,
    stageName: '$default',
    autoDeploy: true,
    throttle: { rateLimit: config.rateLimit, burstLimit: config.burstLimit },
    accessLogSettings: {
      destination: new apigwv2.LogGroupLogDestination(accessLogGroup),
      format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
    },
  });

  const routes: ReadonlyArray<[apigwv2.HttpMethod, string, lambda.IFunction]> = [
    [apigwv2.HttpMethod.POST, '/jobs', functions.startJob],
    // A literal segment beside `{name}`: API Gateway picks the most specific match, so
    // `POST /jobs/batch` is this route, and `GET /jobs/batch` is still the job named batch.
    [apigwv2.HttpMethod.POST, '/jobs/batch', functions.startJob],
    [apigwv2.HttpMethod.GET, '/jobs', functions.listJobs],
    [apigwv2.HttpMethod.GET, '/jobs/{name}', functions.getJob],
    [apigwv2.HttpMethod.DELETE, '/jobs/{name}', functions.cancelJob],
    [apigwv2.HttpMethod.POST, '/jobs/{name}/signals/{signal}', functions.signalJob],
    // A start like POST /jobs, so the function that starts jobs serves it (and its grants suffice).
    [apigwv2.HttpMethod.POST, '/jobs/{name}/replay', functions.startJob],
  ];
  // One integration per function, made with its first route; each route adds its own permission.
  const integrations = new Map<lambda.IFunction, HttpLambdaIntegration>();
  for (const [method, routePath, fn] of routes) {
    let integration = integrations.get(fn);
    if (integration === undefined) {
      integration = new HttpLambdaIntegration(`${fn.node.id}Integration`, fn, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      });
      integrations.set(fn, integration);
    }
    api.addRoutes({ path: routePath, methods: [method], authorizer, integration });
  }
  return { accessLogGroup, api, stage };
}

/** HTTP API access log fields, one JSON object per request. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  userArn: '$context.identity.userArn',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
} as const;
