import { type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Defaults, EnvVar } from '../core/config';
import { EVENT_SOURCE, JobEventType } from '../core/events';
import type { OwnerModel } from '../core/limits';
import { CONNECTION_PARTITION_PREFIX, JOB_PARTITION_PREFIX } from '../core/table';
import {
  acknowledge,
  allow,
  allowOnKeys,
  createFunction,
  type FunctionSettings,
} from './lambda-function';

/** Route key of the one client message (route selection on `$request.body.action`). */
export const SUBSCRIBE_ROUTE = 'subscribe';

/** Throttling of the WebSocket stage: connections and messages alike. */
export interface JobEventStreamThrottling {
  /**
   * Steady-state requests (connects and messages) per second.
   *
   * @default 50
   */
  readonly rateLimit?: number;
  /**
   * Requests accepted in a burst above the steady rate.
   *
   * @default 100
   */
  readonly burstLimit?: number;
}

/** Properties of {@link JobEventStream}. */
export interface JobEventStreamProps {
  /** The jobs table: the stream reads jobs from it and keeps its log and connections in it. */
  readonly table: dynamodb.ITable;
  /** The bus the lifecycle events (`source` `eventjobs`) are put on. */
  readonly eventBus: events.IEventBus;
  /**
   * Name of the WebSocket stage; the last segment of the stream URL.
   *
   * @default 'live'
   */
  readonly stageName?: string;
  /**
   * Throttling of the WebSocket stage.
   *
   * @default - 50 requests per second, bursts of 100
   */
  readonly throttling?: JobEventStreamThrottling;
  /**
   * How long a run's event log is kept (DynamoDB TTL). Keep it equal to the jobs'
   * outcome retention, so a retained outcome always has its events.
   *
   * @default Duration.days(7) - the default outcome retention
   */
  readonly eventRetention?: Duration;
  /**
   * Lambda runtime of the two functions.
   *
   * @default lambda.Runtime.NODEJS_24_X
   */
  readonly runtime?: lambda.Runtime;
  /**
   * Instruction set of the two functions.
   *
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
  /**
   * How long the functions' logs and the stage's access log are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Writes the stage's access log. API Gateway writes WebSocket access logs with the
   * account-wide API Gateway CloudWatch role (`AWS::ApiGateway::Account`), which a
   * stack should not set on its own: turn this on in accounts that have that role,
   * or the stage fails to deploy ("CloudWatch Logs role ARN must be set in account
   * settings to enable logging").
   *
   * @default false
   */
  readonly accessLogging?: boolean;
  /**
   * Who owns a caller's jobs: as the jobs API decides it (`AsyncJobsProps.ownerModel`),
   * so a stream finds the jobs its caller started.
   *
   * @default 'principal'
   */
  readonly ownerModel?: OwnerModel;
}

/**
 * The live job event stream in AWS: an IAM-authorized WebSocket API. A client
 * connects with a SigV4-presigned URL, sends `{"action":"subscribe","name"}`, and
 * gets `{"type":"event","seq","event"}` messages: the run's events so far, then
 * the live ones, until the terminal event closes the connection.
 *
 * A recorder function, target of a rule for the six lifecycle events, keeps each
 * run's event log in the jobs table and pushes every event to the run's
 * subscribers through the @connections management API.
 *
 * The stage's access log is off by default (see `accessLogging`): it needs the
 * account's API Gateway CloudWatch role, which not every account has.
 */
export class JobEventStream extends Construct {
  /** The WebSocket API; `$connect` requires SigV4 (IAM) authorization. */
  public readonly webSocketApi: apigwv2.WebSocketApi;
  /** The API's stage, with access logging and throttling. */
  public readonly stage: apigwv2.WebSocketStage;
  /** `wss://{apiId}.execute-api.{region}.amazonaws.com/{stage}`: what clients connect to. */
  public readonly url: string;
  /** The stage's access log (JSON lines), when `accessLogging` is on. */
  public readonly accessLogGroup: logs.LogGroup | undefined;
  /** Logs every lifecycle event and pushes it to the run's subscribers. */
  public readonly recorderFunction: lambda.Function;
  /** Serves `$connect`, `subscribe`, `$default` and `$disconnect`. */
  public readonly connectionFunction: lambda.Function;
  /** Routes the six lifecycle events on the bus to the recorder. */
  public readonly rule: events.Rule;
  /** Events the rule could not deliver, or the recorder failed on after Lambda's retries. */
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: JobEventStreamProps) {
    super(scope, id);
    const stageName = props.stageName ?? 'live';
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const settings: FunctionSettings = {
      runtime: props.runtime ?? lambda.Runtime.NODEJS_24_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      logRetention,
    };

    // The builders run in the order their resources appear in the template, and
    // each reads what the ones before it created.
    this.webSocketApi = new apigwv2.WebSocketApi(this, 'Api', {
      description: 'eventjobs: live lifecycle events of a job (subscribe by name)',
    });
    this.accessLogGroup = props.accessLogging
      ? new logs.LogGroup(this, 'AccessLogs', { retention: logRetention })
      : undefined;
    this.stage = this.#createStage(stageName, props.throttling);
    this.url = this.stage.url;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    const access = this.#functionAccess(props.table, stageName);
    this.recorderFunction = this.#createRecorder(
      settings,
      access,
      props.eventRetention ?? Duration.seconds(Defaults.outcomeRetentionSeconds),
    );
    this.connectionFunction = this.#createConnectionFunction(
      settings,
      access,
      props.ownerModel ?? 'principal',
    );
    this.#addRoutes();
    this.rule = this.#createRecorderRule(props.eventBus);
  }

  /** Lets `grantee` open stream connections (`execute-api:Invoke` on `$connect` of the stage). */
  public grantConnect(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.webSocketApi.arnForExecuteApiV2('$connect', this.stage.stageName)],
    });
  }

  /** The stage, with its access log when there is one, and throttling. */
  #createStage(
    stageName: string,
    throttling: JobEventStreamThrottling | undefined,
  ): apigwv2.WebSocketStage {
    const stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName,
      autoDeploy: true,
      throttle: {
        rateLimit: throttling?.rateLimit ?? 50,
        burstLimit: throttling?.burstLimit ?? 100,
      },
      ...(this.accessLogGroup
        ? {
            accessLogSettings: {
              destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
              format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
            },
          }
        : {}),
    });
    if (!this.accessLogGroup) {
      const reason =
        'WebSocket access logs need the account-wide API Gateway CloudWatch role, which a ' +
        'stack must not set for the whole account; without it the stage cannot deploy. ' +
        'The connection function logs every connect, subscribe and disconnect with the ' +
        'caller, and `accessLogging: true` turns the access log on where the role exists.';
      acknowledge(stage, 'AwsSolutions-APIG1', reason);
      acknowledge(stage, 'Serverless-APIGWAccessLogging', reason);
    }
    return stage;
  }

  /** What both functions share: the table, the callback URL, and pushing to connections. */
  #functionAccess(table: dynamodb.ITable, stageName: string): FunctionAccess {
    // Connection ids are only known at run time, so the resource ends in `*`; it
    // names this API, this stage and the two methods used.
    const apiArn = Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.webSocketApi.apiId,
    });
    return {
      table,
      environment: {
        [EnvVar.TableName]: table.tableName,
        [EnvVar.StreamCallbackUrl]: this.stage.callbackUrl,
      },
      manageConnections: allow(
        ['execute-api:ManageConnections'],
        ['POST', 'DELETE'].map((method) => `${apiArn}/${stageName}/${method}/@connections/*`),
      ),
      connectionsFindings: connectionsFindings(this.webSocketApi, stageName),
    };
  }

  #createRecorder(
    settings: FunctionSettings,
    access: FunctionAccess,
    retention: Duration,
  ): lambda.Function {
    const recorder = createFunction(this, settings, {
      id: 'Recorder',
      dir: 'stream/recorder',
      memorySize: 256,
      description: "eventjobs: logs a job's lifecycle events and pushes them to subscribers",
      timeout: Duration.seconds(30),
      environment: {
        ...access.environment,
        [EnvVar.OutcomeRetentionSeconds]: String(retention.toSeconds()),
      },
      statements: [
        // Only the runs' own partitions (their events and subscriptions live beside the
        // job records): never the queues' and counters' items of the same table.
        allowOnKeys(
          ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:DeleteItem'],
          [access.table.tableArn],
          [`${JOB_PARTITION_PREFIX}*`],
        ),
        access.manageConnections,
      ],
      // Lambda's default two retries apply; what still fails is kept for inspection.
      options: { deadLetterQueue: this.deadLetterQueue },
    });
    acknowledgeConnectionsFindings(recorder, access);
    return recorder;
  }

  #createConnectionFunction(
    settings: FunctionSettings,
    access: FunctionAccess,
    ownerModel: OwnerModel,
  ): lambda.Function {
    const connection = createFunction(this, settings, {
      id: 'Connection',
      dir: 'stream/connection',
      memorySize: 256,
      description: 'eventjobs: WebSocket connect, subscribe and disconnect of the job event stream',
      timeout: Duration.seconds(10),
      environment: { ...access.environment, [EnvVar.OwnerModel]: ownerModel },
      statements: [
        // The runs' partitions and the connections' own items, nothing else of the table.
        allowOnKeys(
          [
            'dynamodb:GetItem',
            'dynamodb:Query',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'dynamodb:DeleteItem',
          ],
          [access.table.tableArn],
          [`${JOB_PARTITION_PREFIX}*`, `${CONNECTION_PARTITION_PREFIX}*`],
        ),
        access.manageConnections,
      ],
    });
    acknowledgeConnectionsFindings(connection, access);
    acknowledge(
      connection,
      'Serverless-LambdaDLQ',
      'Only the WebSocket API invokes this function, synchronously; a DeadLetterConfig ' +
        'applies to asynchronous invocations only and would receive nothing.',
    );
    return connection;
  }

  /** `$connect` (IAM-authorized), `$disconnect`, `subscribe` and `$default`, all to one function. */
  #addRoutes(): void {
    const integration = new WebSocketLambdaIntegration(
      'ConnectionIntegration',
      this.connectionFunction,
    );
    this.webSocketApi.addRoute('$connect', {
      integration,
      authorizer: new WebSocketIamAuthorizer(),
    });
    for (const routeKey of ['$disconnect', SUBSCRIBE_ROUTE, '$default']) {
      const route = this.webSocketApi.addRoute(routeKey, { integration });
      acknowledge(
        route,
        'AwsSolutions-APIG4',
        'A WebSocket API authorizes only $connect (API Gateway allows no authorizer on other ' +
          'routes): every later message travels on a connection that passed SigV4 at ' +
          '$connect, and the function reads the owner recorded for that connection.',
      );
    }
  }

  /** The rule that feeds the recorder, and the acknowledgements of its dead-letter queue. */
  #createRecorderRule(eventBus: events.IEventBus): events.Rule {
    const rule = new events.Rule(this, 'RecorderRule', {
      eventBus,
      description: 'eventjobs: every job lifecycle event to the stream recorder',
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: Object.values(JobEventType),
      },
      targets: [
        new targets.LambdaFunction(this.recorderFunction, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the recorder rule target and function; ' +
        'the rule only recognises DLQs named in an SQS RedrivePolicy or a Lambda DeadLetterConfig.',
    );
    acknowledge(
      this.deadLetterQueue,
      'Serverless-SQSRedrivePolicy',
      'This queue is the last stop for lifecycle events the stream could not record; nothing ' +
        'consumes it automatically, so there is no further queue to redrive to.',
    );
    return rule;
  }
}

/** What the two functions share (see `JobEventStream#functionAccess`). */
interface FunctionAccess {
  readonly table: dynamodb.ITable;
  readonly environment: Record<string, string>;
  /** One statement, added to both roles. */
  readonly manageConnections: iam.PolicyStatement;
  /** The cdk-nag findings `manageConnections` raises on each role's policy. */
  readonly connectionsFindings: readonly string[];
}

function acknowledgeConnectionsFindings(fn: lambda.Function, access: FunctionAccess): void {
  const policy = fn.role?.node.tryFindChild('DefaultPolicy');
  if (!policy) return;
  for (const finding of access.connectionsFindings) {
    acknowledge(
      policy,
      finding,
      'PostToConnection and DeleteConnection address a connection by an id API Gateway ' +
        'assigns at run time, so the resource ends in @connections/*; it is limited to ' +
        'this API, this stage and these two methods.',
    );
  }
}

/** WebSocket access log fields, one JSON object per request. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  connectionId: '$context.connectionId',
  status: '$context.status',
  sourceIp: '$context.identity.sourceIp',
  userArn: '$context.identity.userArn',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integration.error',
  authorizeError: '$context.authorize.error',
} as const;

/**
 * The cdk-nag IAM5 findings of the ManageConnections statement, as cdk-nag spells
 * them: with the API's logical ID, so the acknowledgement covers these ARNs only.
 */
function connectionsFindings(api: apigwv2.WebSocketApi, stageName: string): string[] {
  const stack = Stack.of(api);
  const apiId: unknown = stack.resolve(stack.getLogicalId(api.node.defaultChild as CfnElement));
  return ['POST', 'DELETE'].map(
    (method) =>
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:' +
      `<AWS::AccountId>:<${String(apiId)}>/${stageName}/${method}/@connections/*]`,
  );
}
