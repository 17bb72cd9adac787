import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { EventBridgeDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Defaults, EnvVar } from '../functions/shared/config';
import {
  EVENT_SOURCE,
  JOB_OUTCOME_EVENT_TYPES,
  LAMBDA_DESTINATION_SOURCE,
  LambdaDestinationType,
} from '../functions/shared/events';
import { JobsTable } from '../functions/shared/table';
import { resolveEntry } from './bundling';
import { JobEventStream } from './job-stream';
import { checkJobTypesModule } from './job-types';
import { acknowledge, allow, createFunction, type EventJobsFunctionSpec } from './lambda-function';

/** The largest a DynamoDB item may be is 400 KB; keep 20 KB for keys, status and timestamps. */
const MAX_ITEM_PAYLOAD_BYTES = 380 * 1024;
/** EventBridge accepts entries up to 1 MB since 2026 (AWS-FACTS); never promise more. */
const MAX_EVENT_BYTES_LIMIT = 1024 * 1024;
/** An HTTP API waits at most 30 s for its integration; a longer Lambda timeout only costs money. */
const MAX_API_FUNCTION_TIMEOUT = Duration.seconds(30);
const MAX_LAMBDA_TIMEOUT = Duration.minutes(15);
/** How long past a run's deadline the sweeper waits for the worker to report it first. */
const SWEEP_GRACE_SECONDS = 30;

/** Throttling of the HTTP API's default stage. */
export interface AsyncJobsThrottling {
  /**
   * Steady-state requests per second across all routes.
   *
   * @default 50
   */
  readonly rateLimit?: number;
  /**
   * Requests the API accepts in a burst above the steady rate.
   *
   * @default 100
   */
  readonly burstLimit?: number;
}

/** The app's job types: where they are and what their code needs. */
export interface AsyncJobsJobTypes {
  /**
   * The module whose exports are the app's job types (each made with
   * `defineJobType`), relative to the app's directory (where `cdk` runs) or
   * absolute, e.g. `src/jobs.ts`. It is bundled into the three functions that
   * run job code: start-job (input validation), the worker (`run`) and
   * completion (`onComplete`). Synth fails if it is missing, does not load,
   * exports anything that is not a job type, or exports two types of one name.
   */
  readonly entry: string;
  /**
   * Environment variables the job code reads, set on the worker and completion
   * functions (e.g. a bucket name). Grant the permissions that code needs with
   * {@link AsyncJobs.grantToJobs} or on {@link AsyncJobs.jobRunners}.
   *
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
}

/** Properties of {@link AsyncJobs}. */
export interface AsyncJobsProps {
  /** The app's job types. */
  readonly jobTypes: AsyncJobsJobTypes;
  /**
   * How long one attempt of the worker may run. At most 15 minutes (the Lambda maximum).
   *
   * @default Duration.minutes(15)
   */
  readonly workerTimeout?: Duration;
  /**
   * Memory of the worker function, in MB (128 to 10240); CPU scales with it.
   *
   * @default 1024
   */
  readonly workerMemorySize?: number;
  /**
   * How many times Lambda retries a worker invocation that failed (0 to 2).
   *
   * @default 2
   */
  readonly workerRetryAttempts?: number;
  /**
   * How long Lambda keeps an unprocessed worker invocation queued before it gives up
   * and sends the failure to the event bus (60 seconds to 6 hours).
   *
   * @default Duration.hours(6)
   */
  readonly workerMaxEventAge?: Duration;
  /**
   * Reserved concurrency of the worker: at most this many jobs run at once, and the
   * account keeps the rest of its concurrency for the API and completion functions, so a
   * burst of long jobs cannot throttle `POST /jobs`. Jobs beyond it wait in Lambda's
   * asynchronous queue (up to `workerMaxEventAge`). The account must have this many
   * unreserved executions to spare (AWS keeps 100 unreserved).
   *
   * @default - none: the worker shares the account's unreserved concurrency
   */
  readonly workerReservedConcurrency?: number;
  /**
   * How long after its creation a run that no worker has begun is ended by the sweeper
   * (TIMED_OUT, "never started"). The default waits until Lambda has given up on the
   * queued invocation itself. A shorter window ends runs sooner after a lost invocation,
   * at the price of ending runs that were merely waiting in a long queue; a worker that
   * picks such a run up later finds it ended and does nothing.
   *
   * @default - workerMaxEventAge plus 60 seconds
   */
  readonly sweeperStartWindow?: Duration;
  /**
   * Memory of the four API functions (start, get, list, cancel), in MB (128 to 10240).
   *
   * @default 256
   */
  readonly apiFunctionMemorySize?: number;
  /**
   * Timeout of the four API functions. At most 30 seconds: the HTTP API stops waiting then.
   *
   * @default Duration.seconds(10)
   */
  readonly apiFunctionTimeout?: Duration;
  /**
   * Memory of the completion function, which runs the job type's `onComplete` hook, in MB.
   *
   * @default 512
   */
  readonly completionMemorySize?: number;
  /**
   * Timeout of the completion function. At most 15 minutes.
   *
   * @default Duration.minutes(1)
   */
  readonly completionTimeout?: Duration;
  /**
   * How long a finished job's outcome stays readable (DynamoDB TTL), in whole seconds.
   *
   * @default Duration.days(7)
   */
  readonly outcomeRetention?: Duration;
  /**
   * Largest job input accepted by `POST /jobs`, in bytes of JSON text.
   * Input and result share one DynamoDB item, so `maxInputBytes + maxEventBytes`
   * may be at most 380 KiB.
   *
   * @default 65536 (64 KiB)
   */
  readonly maxInputBytes?: number;
  /**
   * Largest outcome event the worker puts on the bus, in bytes as EventBridge counts
   * them. At most 1 MiB; raise above 256 KiB only where the account's PutEvents limit allows.
   *
   * @default 262144 (256 KiB, the PutEvents entry limit)
   */
  readonly maxEventBytes?: number;
  /**
   * Throttling of the HTTP API's default stage.
   *
   * @default - 50 requests per second, bursts of 100
   */
  readonly throttling?: AsyncJobsThrottling;
  /**
   * How long the functions' logs and the API access log are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the jobs table when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN - the table and its data outlive the stack
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Lambda runtime of every function. Bundles target Node 20 syntax, so any
   * `nodejs20.x` or later runtime runs them.
   *
   * @default lambda.Runtime.NODEJS_24_X
   */
  readonly runtime?: lambda.Runtime;
  /**
   * Instruction set of every function. The bundles are plain JavaScript and run on both.
   *
   * @default lambda.Architecture.ARM_64 - cheaper per GB-second than x86_64
   */
  readonly architecture?: lambda.Architecture;
}

/** The folders under `functions/` that hold one Lambda handler each. */
type FunctionDir =
  | 'start-job'
  | 'get-job'
  | 'list-jobs'
  | 'cancel-job'
  | 'worker'
  | 'completion'
  | 'sweeper';

interface FunctionSpec extends EventJobsFunctionSpec {
  readonly dir: FunctionDir;
}

/**
 * Event-based asynchronous jobs: an IAM-authorized HTTP API starts a named job,
 * a worker Lambda runs it asynchronously and announces its outcome on an
 * EventBridge bus, and a completion Lambda records the outcome and removes the job.
 *
 * Every function has its own role with only the actions it uses on the exact
 * resources it uses them on. Nothing here creates a custom resource.
 */
export class AsyncJobs extends Construct {
  /** Active jobs and retained outcomes. */
  public readonly table: dynamodb.Table;
  /** The bus the worker's outcome events and its Lambda failure records arrive on. */
  public readonly eventBus: events.EventBus;
  /** The HTTP API; every route requires SigV4 (IAM) authorization. */
  public readonly api: apigwv2.HttpApi;
  /** The API's `$default` stage, with access logging and throttling. */
  public readonly stage: apigwv2.HttpStage;
  /** Base URL of the API, ending in `/`. */
  public readonly apiUrl: string;
  /** The API's access log (JSON lines). */
  public readonly accessLogGroup: logs.LogGroup;
  /** `POST /jobs`. */
  public readonly startJobFunction: lambda.Function;
  /** `GET /jobs/{name}`. */
  public readonly getJobFunction: lambda.Function;
  /** `GET /jobs`. */
  public readonly listJobsFunction: lambda.Function;
  /** `DELETE /jobs/{name}`. */
  public readonly cancelJobFunction: lambda.Function;
  /** Runs a job; invoked asynchronously by the start-job function only. */
  public readonly workerFunction: lambda.Function;
  /** Records a job's outcome and deletes its active record. */
  public readonly completionFunction: lambda.Function;
  /** Routes the worker's `Job Completed` / `Job Failed` / `Job Cancelled` events to completion. */
  public readonly outcomeRule: events.Rule;
  /** Routes Lambda's failure record for a worker invocation (retries exhausted) to completion. */
  public readonly workerFailureRule: events.Rule;
  /** Events the two rules could not deliver to the completion function. */
  public readonly ruleDeadLetterQueue: sqs.Queue;
  /** Events the completion function failed to process after Lambda's retries. */
  public readonly completionDeadLetterQueue: sqs.Queue;
  /** Both dead-letter queues: whatever lands here is a job whose outcome was not recorded. */
  public readonly deadLetterQueues: readonly sqs.Queue[];
  /** The live event stream in AWS: a WebSocket API fed by a recorder of every lifecycle event. */
  public readonly stream: JobEventStream;
  /** Signs webhook deliveries; receivers verify with the same value. */
  public readonly webhookSecret: secretsmanager.Secret;
  /** Ends runs whose worker can no longer report (past deadline, silent, never started). */
  public readonly sweeperFunction: lambda.Function;
  /** Invokes the sweeper once a minute. */
  public readonly sweepRule: events.Rule;
  /** One alarm per dead-letter queue, in alarm while the queue holds any message. */
  public readonly deadLetterAlarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: AsyncJobsProps) {
    super(scope, id);
    const config = resolveProps(props);

    this.table = new dynamodb.Table(this, 'JobsTable', {
      partitionKey: { name: JobsTable.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: JobsTable.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: JobsTable.ttlAttribute,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: config.removalPolicy,
    });
    for (const index of [JobsTable.byOwner, JobsTable.byOwnerStatus]) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...JobsTable.projectedAttributes],
      });
    }
    // Sparse: only active records have its keys, so the sweeper reads running jobs only.
    this.table.addGlobalSecondaryIndex({
      indexName: JobsTable.byActive.indexName,
      partitionKey: { name: JobsTable.byActive.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: JobsTable.byActive.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...JobsTable.activeProjectedAttributes],
    });
    const tableArn = this.table.tableArn;
    const indexArns = [JobsTable.byOwner, JobsTable.byOwnerStatus].map(
      (index) => `${tableArn}/index/${index.indexName}`,
    );

    this.eventBus = new events.EventBus(this, 'EventBus', {
      description: 'eventjobs: job outcome events and worker failure records',
    });

    this.ruleDeadLetterQueue = deadLetterQueue(this, 'RuleDeadLetterQueue');
    this.completionDeadLetterQueue = deadLetterQueue(this, 'CompletionDeadLetterQueue');
    this.deadLetterQueues = [this.ruleDeadLetterQueue, this.completionDeadLetterQueue];

    const tableEnv = { [EnvVar.TableName]: this.table.tableName };
    const factory = new FunctionFactory(this, config);

    this.workerFunction = factory.create({
      id: 'Worker',
      dir: 'worker',
      jobTypesEntry: config.jobTypesEntry,
      description: 'eventjobs: runs one job and puts its outcome event on the bus',
      memorySize: config.workerMemorySize,
      timeout: config.workerTimeout,
      environment: {
        ...config.jobEnvironment,
        ...tableEnv,
        [EnvVar.EventBusName]: this.eventBus.eventBusName,
        [EnvVar.MaxEventBytes]: String(config.maxEventBytes),
        // The worker sizes a job's result to what is left of the item next to its input.
        [EnvVar.MaxInputBytes]: String(config.maxInputBytes),
        // No run's deadline may be later than one invocation can last.
        [EnvVar.WorkerTimeoutSeconds]: String(config.workerTimeout.toSeconds()),
      },
      statements: [
        // GetItem: the worker checks that its run is still the active one before starting.
        allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [tableArn]),
        allow(['events:PutEvents'], [this.eventBus.eventBusArn]),
      ],
      options: {
        retryAttempts: config.workerRetryAttempts,
        maxEventAge: config.workerMaxEventAge,
        ...(config.workerReservedConcurrency !== undefined
          ? { reservedConcurrentExecutions: config.workerReservedConcurrency }
          : {}),
        // When the retries are exhausted or the event is too old, Lambda puts a
        // "Lambda Function Invocation Result - Failure" record on the bus, and the
        // worker-failure rule hands it to the completion function as the job's outcome.
        onFailure: new EventBridgeDestination(this.eventBus),
      },
    });
    acknowledge(
      this.workerFunction,
      'Serverless-LambdaDLQ',
      'The worker has an OnFailure destination (the event bus) instead of a DeadLetterConfig: ' +
        'its failure record carries the error and is routed to the completion function, which ' +
        'records the job as FAILED. A DLQ as well would only hold a second, unprocessed copy.',
    );

    this.startJobFunction = factory.create({
      id: 'StartJob',
      dir: 'start-job',
      jobTypesEntry: config.jobTypesEntry,
      description: 'eventjobs: POST /jobs - records a job and invokes the worker asynchronously',
      memorySize: config.apiFunctionMemorySize,
      timeout: config.apiFunctionTimeout,
      environment: {
        ...tableEnv,
        [EnvVar.WorkerFunctionName]: this.workerFunction.functionName,
        [EnvVar.MaxInputBytes]: String(config.maxInputBytes),
        [EnvVar.WorkerTimeoutSeconds]: String(config.workerTimeout.toSeconds()),
      },
      statements: [
        allow(['dynamodb:PutItem', 'dynamodb:DeleteItem'], [tableArn]),
        allow(['lambda:InvokeFunction'], [this.workerFunction.functionArn]),
      ],
    });

    this.getJobFunction = factory.create({
      id: 'GetJob',
      dir: 'get-job',
      description: 'eventjobs: GET /jobs/{name} - the active job, else its latest outcome',
      memorySize: config.apiFunctionMemorySize,
      timeout: config.apiFunctionTimeout,
      environment: tableEnv,
      statements: [allow(['dynamodb:GetItem', 'dynamodb:Query'], [tableArn])],
    });

    this.listJobsFunction = factory.create({
      id: 'ListJobs',
      dir: 'list-jobs',
      description: "eventjobs: GET /jobs - lists the caller's jobs, optionally by status",
      memorySize: config.apiFunctionMemorySize,
      timeout: config.apiFunctionTimeout,
      environment: tableEnv,
      statements: [allow(['dynamodb:Query'], indexArns)],
    });

    this.cancelJobFunction = factory.create({
      id: 'CancelJob',
      dir: 'cancel-job',
      description: 'eventjobs: DELETE /jobs/{name} - requests cancellation of a running job',
      memorySize: config.apiFunctionMemorySize,
      timeout: config.apiFunctionTimeout,
      environment: tableEnv,
      statements: [allow(['dynamodb:UpdateItem', 'dynamodb:Query'], [tableArn])],
    });

    for (const fn of [
      this.startJobFunction,
      this.getJobFunction,
      this.listJobsFunction,
      this.cancelJobFunction,
    ]) {
      acknowledge(
        fn,
        'Serverless-LambdaDLQ',
        'Only API Gateway invokes this function, synchronously; a DeadLetterConfig applies to ' +
          'asynchronous invocations only and would receive nothing (the caller gets the error).',
      );
    }

    this.stream = new JobEventStream(this, 'Stream', {
      table: this.table,
      eventBus: this.eventBus,
      eventRetention: Duration.seconds(config.outcomeRetentionSeconds),
      runtime: config.runtime,
      architecture: config.architecture,
      logRetention: config.logRetention,
    });

    this.webhookSecret = new secretsmanager.Secret(this, 'WebhookSecret', {
      description: 'eventjobs: signs webhook deliveries (HMAC-SHA256); share it with receivers',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: config.removalPolicy,
    });
    acknowledge(
      this.webhookSecret,
      'AwsSolutions-SMG4',
      'Receivers hold a copy of the webhook signing secret to verify deliveries, so an ' +
        'automatic rotation would make every receiver reject them at once. It is rotated ' +
        'deliberately: put a new value and let receivers accept both during the change ' +
        '(verifyWebhook takes several secrets).',
    );

    this.completionFunction = factory.create({
      id: 'Completion',
      dir: 'completion',
      jobTypesEntry: config.jobTypesEntry,
      description: "eventjobs: records a job's outcome and deletes its active record",
      memorySize: config.completionMemorySize,
      timeout: config.completionTimeout,
      environment: {
        ...config.jobEnvironment,
        ...tableEnv,
        [EnvVar.OutcomeRetentionSeconds]: String(config.outcomeRetentionSeconds),
        [EnvVar.EventBusName]: this.eventBus.eventBusName,
        [EnvVar.WebhookSecretArn]: this.webhookSecret.secretArn,
      },
      statements: [
        allow(
          ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
          [tableArn],
        ),
        // The `Job Failed` of a run that Lambda's failure destination ended.
        allow(['events:PutEvents'], [this.eventBus.eventBusArn]),
        allow(['secretsmanager:GetSecretValue'], [this.webhookSecret.secretArn]),
      ],
      options: {
        // A DeadLetterConfig rather than an OnFailure destination: it satisfies both
        // cdk-nag Serverless rules at once (LambdaDLQ wants DeadLetterConfig on the
        // function; LambdaAsyncFailureDestination only inspects EventInvokeConfigs, and
        // none is created), and the message is the EventBridge event itself, so both
        // dead-letter queues hold the same shape. Lambda's default two retries apply.
        deadLetterQueue: this.completionDeadLetterQueue,
      },
    });

    // EventBridge invokes Lambda asynchronously, so the function's errors are retried by
    // Lambda (and end in the completion DLQ); this retry policy only covers delivery
    // failures such as throttling. These are EventBridge's own defaults, made explicit.
    const completionTarget = new targets.LambdaFunction(this.completionFunction, {
      deadLetterQueue: this.ruleDeadLetterQueue,
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    });

    this.outcomeRule = new events.Rule(this, 'OutcomeRule', {
      eventBus: this.eventBus,
      description: 'eventjobs: job outcome events from the worker to the completion function',
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: [...JOB_OUTCOME_EVENT_TYPES],
      },
      targets: [completionTarget],
    });

    this.workerFailureRule = new events.Rule(this, 'WorkerFailureRule', {
      eventBus: this.eventBus,
      description: 'eventjobs: failed worker invocations (retries exhausted) to completion',
      eventPattern: {
        source: [LAMBDA_DESTINATION_SOURCE],
        detailType: [LambdaDestinationType.Failure],
        // The record names the qualified function ARN (`...:function:name:$LATEST`);
        // the trailing colon keeps a function called e.g. `<worker>-2` from matching.
        resources: events.Match.prefix(`${this.workerFunction.functionArn}:`),
      },
      targets: [completionTarget],
    });

    // A run is silent for good once no attempt can be alive: one worker timeout, plus
    // Lambda's own retry backoff (about 1 then 2 minutes) for each retry, plus a minute.
    const silentAfterSeconds =
      config.workerTimeout.toSeconds() + config.workerRetryAttempts * 180 + 60;
    this.sweeperFunction = factory.create({
      id: 'Sweeper',
      dir: 'sweeper',
      description: 'eventjobs: ends runs past their deadline, silent, or never started',
      memorySize: 256,
      timeout: Duration.minutes(1),
      environment: {
        ...tableEnv,
        [EnvVar.EventBusName]: this.eventBus.eventBusName,
        [EnvVar.SweepGraceSeconds]: String(SWEEP_GRACE_SECONDS),
        [EnvVar.SweepSilentAfterSeconds]: String(silentAfterSeconds),
        // By default Lambda itself has reported an invocation that never ran (EventAgeExceeded) by then.
        [EnvVar.SweepStartWindowSeconds]: String(config.sweeperStartWindow.toSeconds()),
      },
      statements: [
        allow(['dynamodb:Query'], [`${tableArn}/index/${JobsTable.byActive.indexName}`]),
        allow(['events:PutEvents'], [this.eventBus.eventBusArn]),
      ],
      // A failed sweep is repeated by the next one a minute later; retrying it is pointless.
      options: { retryAttempts: 0 },
    });
    acknowledge(
      this.sweeperFunction,
      'Serverless-LambdaDLQ',
      'The sweeper runs once a minute on a schedule and keeps no state: a failed sweep is ' +
        'simply repeated by the next one, so a dead-letter queue would hold nothing useful.',
    );
    acknowledge(
      this.sweeperFunction.node.findChild('EventInvokeConfig'),
      'Serverless-LambdaAsyncFailureDestination',
      'Only the schedule invokes the sweeper; a failed sweep is repeated a minute later and ' +
        'carries no payload worth keeping, so there is no failure destination.',
    );
    this.sweepRule = new events.Rule(this, 'SweepRule', {
      description: 'eventjobs: runs the sweeper once a minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.sweeperFunction, { retryAttempts: 0 })],
    });
    acknowledge(
      this.sweepRule,
      'Serverless-EventBusDLQ',
      'A scheduled tick that cannot be delivered is replaced by the next one a minute later; ' +
        'a dead-letter queue would only collect empty schedule events.',
    );

    const outcomeStuck =
      'eventjobs: a job outcome could not be recorded and is waiting in a dead-letter ' +
      'queue; inspect and redrive it';
    this.deadLetterAlarms = [
      [this.ruleDeadLetterQueue, 'RuleDeadLetterAlarm', outcomeStuck] as const,
      [this.completionDeadLetterQueue, 'CompletionDeadLetterAlarm', outcomeStuck] as const,
      [
        this.stream.deadLetterQueue,
        'StreamDeadLetterAlarm',
        'eventjobs: a lifecycle event could not be logged or pushed to the live stream; ' +
          'the outcome itself is not affected. Inspect the dead-letter queue and redrive it.',
      ] as const,
    ].map(
      ([queue, id, description]) =>
        new cloudwatch.Alarm(this, id, {
          alarmDescription: description,
          metric: queue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(1),
            statistic: cloudwatch.Stats.MAXIMUM,
          }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
    );

    acknowledge(
      this.ruleDeadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is the dead-letter queue of the two EventBridge rule targets; the rule ' +
        'only recognises DLQs named in an SQS RedrivePolicy or a Lambda DeadLetterConfig.',
    );
    for (const queue of this.deadLetterQueues) {
      acknowledge(
        queue,
        'Serverless-SQSRedrivePolicy',
        'This queue is itself the last stop for failed events; nothing consumes it ' +
          'automatically, so there is no further queue to redrive to.',
      );
    }

    this.accessLogGroup = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: config.logRetention,
    });

    const authorizer = new HttpIamAuthorizer();
    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'eventjobs: start, inspect, list and cancel named asynchronous jobs',
      defaultAuthorizer: authorizer,
      // The stage is created below so that it can have access logs and throttling.
      createDefaultStage: false,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.rateLimit, burstLimit: config.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.apiUrl = this.stage.url;

    const routes: ReadonlyArray<[apigwv2.HttpMethod, string, lambda.IFunction]> = [
      [apigwv2.HttpMethod.POST, '/jobs', this.startJobFunction],
      [apigwv2.HttpMethod.GET, '/jobs', this.listJobsFunction],
      [apigwv2.HttpMethod.GET, '/jobs/{name}', this.getJobFunction],
      [apigwv2.HttpMethod.DELETE, '/jobs/{name}', this.cancelJobFunction],
    ];
    for (const [method, routePath, fn] of routes) {
      this.api.addRoutes({
        path: routePath,
        methods: [method],
        authorizer,
        integration: new HttpLambdaIntegration(`${fn.node.id}Integration`, fn, {
          payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
        }),
      });
    }
  }

  /** The functions that run the app's job code: the worker (`run`) and completion (`onComplete`). */
  public get jobRunners(): readonly lambda.Function[] {
    return [this.workerFunction, this.completionFunction];
  }

  /**
   * Gives the job code what it needs: calls `grant` with each function that
   * runs it, e.g. `jobs.grantToJobs((fn) => bucket.grantRead(fn))`.
   */
  public grantToJobs(grant: (grantee: iam.IGrantable) => unknown): void {
    for (const fn of this.jobRunners) grant(fn);
  }

  /** Adds a statement to the roles of the functions that run job code. */
  public addToJobPolicy(statement: iam.PolicyStatement): void {
    for (const fn of this.jobRunners) fn.addToRolePolicy(statement);
  }

  /**
   * Lets `grantee` call every route of the API (`execute-api:Invoke` on `/jobs` and `/jobs/*`).
   */
  public grantInvokeApi(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [
        this.api.arnForExecuteApi('*', '/jobs', this.stage.stageName),
        this.api.arnForExecuteApi('*', '/jobs/*', this.stage.stageName),
      ],
    });
  }
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

/** Builds the stack's own functions alike (see `createFunction`). */
class FunctionFactory {
  constructor(
    private readonly scope: Construct,
    private readonly config: ResolvedProps,
  ) {}

  create(spec: FunctionSpec): lambda.Function {
    return createFunction(this.scope, this.config, spec);
  }
}

function deadLetterQueue(scope: Construct, id: string): sqs.Queue {
  return new sqs.Queue(scope, id, {
    enforceSSL: true,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    retentionPeriod: Duration.days(14),
  });
}

interface ResolvedProps {
  readonly jobTypesEntry: string;
  readonly jobEnvironment: Readonly<Record<string, string>>;
  readonly workerTimeout: Duration;
  readonly workerMemorySize: number;
  readonly workerRetryAttempts: number;
  readonly workerMaxEventAge: Duration;
  readonly workerReservedConcurrency: number | undefined;
  readonly sweeperStartWindow: Duration;
  readonly apiFunctionMemorySize: number;
  readonly apiFunctionTimeout: Duration;
  readonly completionMemorySize: number;
  readonly completionTimeout: Duration;
  readonly outcomeRetentionSeconds: number;
  readonly maxInputBytes: number;
  readonly maxEventBytes: number;
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly runtime: lambda.Runtime;
  readonly architecture: lambda.Architecture;
}

/** Applies the defaults and rejects values AWS would reject later, or that break the design. */
function resolveProps(props: AsyncJobsProps): ResolvedProps {
  const resolved: ResolvedProps = {
    ...resolveJobTypes(props.jobTypes),
    workerTimeout: props.workerTimeout ?? MAX_LAMBDA_TIMEOUT,
    workerMemorySize: props.workerMemorySize ?? 1024,
    workerRetryAttempts: props.workerRetryAttempts ?? 2,
    workerMaxEventAge: props.workerMaxEventAge ?? Duration.hours(6),
    workerReservedConcurrency: props.workerReservedConcurrency,
    sweeperStartWindow:
      props.sweeperStartWindow ??
      Duration.seconds((props.workerMaxEventAge ?? Duration.hours(6)).toSeconds() + 60),
    apiFunctionMemorySize: props.apiFunctionMemorySize ?? 256,
    apiFunctionTimeout: props.apiFunctionTimeout ?? Duration.seconds(10),
    completionMemorySize: props.completionMemorySize ?? 512,
    completionTimeout: props.completionTimeout ?? Duration.minutes(1),
    outcomeRetentionSeconds: wholeSeconds(
      'outcomeRetention',
      props.outcomeRetention ?? Duration.seconds(Defaults.outcomeRetentionSeconds),
    ),
    maxInputBytes: props.maxInputBytes ?? Defaults.maxInputBytes,
    maxEventBytes: props.maxEventBytes ?? Defaults.maxEventBytes,
    rateLimit: props.throttling?.rateLimit ?? 50,
    burstLimit: props.throttling?.burstLimit ?? 100,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    runtime: props.runtime ?? lambda.Runtime.NODEJS_24_X,
    architecture: props.architecture ?? lambda.Architecture.ARM_64,
  };

  checkDuration('workerTimeout', resolved.workerTimeout, Duration.seconds(1), MAX_LAMBDA_TIMEOUT);
  checkDuration(
    'workerMaxEventAge',
    resolved.workerMaxEventAge,
    Duration.seconds(60),
    Duration.hours(6),
  );
  checkDuration(
    'apiFunctionTimeout',
    resolved.apiFunctionTimeout,
    Duration.seconds(1),
    MAX_API_FUNCTION_TIMEOUT,
  );
  checkDuration(
    'completionTimeout',
    resolved.completionTimeout,
    Duration.seconds(1),
    MAX_LAMBDA_TIMEOUT,
  );
  checkInteger('workerRetryAttempts', resolved.workerRetryAttempts, 0, 2);
  if (resolved.workerReservedConcurrency !== undefined) {
    // 0 would send every job straight to the failure destination (AWS-FACTS).
    checkInteger('workerReservedConcurrency', resolved.workerReservedConcurrency, 1, undefined);
  }
  // Lambda's own timeout bounds how long start-job may take between the record and the invoke.
  checkDuration(
    'sweeperStartWindow',
    resolved.sweeperStartWindow,
    Duration.seconds(60),
    Duration.hours(7),
  );
  checkInteger('workerMemorySize', resolved.workerMemorySize, 128, 10240);
  checkInteger('apiFunctionMemorySize', resolved.apiFunctionMemorySize, 128, 10240);
  checkInteger('completionMemorySize', resolved.completionMemorySize, 128, 10240);
  checkInteger('outcomeRetention (seconds)', resolved.outcomeRetentionSeconds, 1, undefined);
  checkInteger('maxInputBytes', resolved.maxInputBytes, 1, undefined);
  checkInteger('maxEventBytes', resolved.maxEventBytes, 1, MAX_EVENT_BYTES_LIMIT);
  checkNumber('throttling.rateLimit', resolved.rateLimit, 0, undefined);
  checkInteger('throttling.burstLimit', resolved.burstLimit, 0, undefined);

  if (
    !Token.isUnresolved(resolved.maxInputBytes) &&
    !Token.isUnresolved(resolved.maxEventBytes) &&
    resolved.maxInputBytes + resolved.maxEventBytes > MAX_ITEM_PAYLOAD_BYTES
  ) {
    throw new Error(
      `AsyncJobs: maxInputBytes (${resolved.maxInputBytes}) + maxEventBytes ` +
        `(${resolved.maxEventBytes}) = ${resolved.maxInputBytes + resolved.maxEventBytes} bytes, ` +
        `more than ${MAX_ITEM_PAYLOAD_BYTES} (380 KiB): a job's input and its result are ` +
        'stored in the same DynamoDB item, which may be at most 400 KB including its keys ' +
        'and metadata. Lower one of them.',
    );
  }
  if (resolved.runtime.family !== lambda.RuntimeFamily.NODEJS) {
    throw new Error(`AsyncJobs: runtime must be a Node.js runtime, got ${resolved.runtime.name}`);
  }
  return resolved;
}

/** Lambda sets these itself; a function may not (AWS's reserved environment variables). */
const RESERVED_ENV = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);

function resolveJobTypes(
  jobTypes: AsyncJobsJobTypes | undefined,
): Pick<ResolvedProps, 'jobTypesEntry' | 'jobEnvironment'> {
  if (typeof jobTypes?.entry !== 'string' || jobTypes.entry === '') {
    throw new Error(
      "AsyncJobs: jobTypes.entry is required: the module of your app whose exports are its job types, e.g. { jobTypes: { entry: 'src/jobs.ts' } }",
    );
  }
  const entry = resolveEntry(jobTypes.entry);
  try {
    checkJobTypesModule(entry);
  } catch (error) {
    throw new Error(`AsyncJobs: jobTypes.entry: ${(error as Error).message}`);
  }
  const ownVariables = new Set<string>(Object.values(EnvVar));
  const environment = jobTypes.environment ?? {};
  for (const [key, value] of Object.entries(environment)) {
    // Lambda's rule: a letter, then at least one letter, digit or underscore.
    if (!/^[A-Za-z][A-Za-z0-9_]+$/.test(key)) {
      throw new Error(`AsyncJobs: jobTypes.environment: "${key}" is not a valid variable name`);
    }
    if (RESERVED_ENV.has(key) || ownVariables.has(key) || key === 'NODE_OPTIONS') {
      throw new Error(
        `AsyncJobs: jobTypes.environment: ${key} is set by Lambda or by eventjobs itself; choose another name`,
      );
    }
    if (typeof value !== 'string') {
      throw new Error(`AsyncJobs: jobTypes.environment.${key} must be a string`);
    }
  }
  return { jobTypesEntry: entry, jobEnvironment: environment };
}

function checkDuration(name: string, value: Duration, min: Duration, max: Duration): void {
  if (value.isUnresolved()) return;
  const ms = value.toMilliseconds();
  if (ms < min.toMilliseconds() || ms > max.toMilliseconds()) {
    throw new Error(
      `AsyncJobs: ${name} must be between ${min.toHumanString()} and ${max.toHumanString()}, ` +
        `got ${value.toHumanString()}`,
    );
  }
}

function checkInteger(name: string, value: number, min: number, max: number | undefined): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value)) {
    throw new Error(`AsyncJobs: ${name} must be a whole number, got ${value}`);
  }
  checkNumber(name, value, min, max);
}

function checkNumber(name: string, value: number, min: number, max: number | undefined): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isFinite(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `at least ${min}` : `between ${min} and ${max}`;
    throw new Error(`AsyncJobs: ${name} must be ${range}, got ${value}`);
  }
}

function wholeSeconds(name: string, value: Duration): number {
  if (value.isUnresolved()) {
    throw new Error(`AsyncJobs: ${name} must be a concrete duration, not a token`);
  }
  const ms = value.toMilliseconds();
  if (ms % 1000 !== 0) {
    throw new Error(`AsyncJobs: ${name} must be a whole number of seconds, got ${ms} ms`);
  }
  return ms / 1000;
}
