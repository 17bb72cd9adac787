import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { EventBridgeDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EnvVar } from '../core/config';
import {
  EVENT_SOURCE,
  JOB_OUTCOME_EVENT_TYPES,
  LAMBDA_DESTINATION_SOURCE,
  LambdaDestinationType,
} from '../core/events';
import { JobsTable } from '../core/table';
import { JobEventStream } from './job-stream';
import { acknowledge, allow, createFunction, type EventJobsFunctionSpec } from './lambda-function';
import { type ResolvedProps, resolveProps } from './validate-async-jobs-props';

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

  /** The props with their defaults applied; the builders read their settings here. */
  readonly #config: ResolvedProps;

  constructor(scope: Construct, id: string, props: AsyncJobsProps) {
    super(scope, id);
    this.#config = resolveProps(props);

    // The builders run in the order their resources appear in the template, and
    // each reads what the ones before it created: reordering them changes the
    // template (resource and policy statement order) even where no ID changes.
    this.table = this.#createTable();
    const bus = this.#createBusAndDeadLetterQueues();
    this.eventBus = bus.eventBus;
    this.ruleDeadLetterQueue = bus.ruleDeadLetterQueue;
    this.completionDeadLetterQueue = bus.completionDeadLetterQueue;
    this.deadLetterQueues = [this.ruleDeadLetterQueue, this.completionDeadLetterQueue];

    this.workerFunction = this.#createWorker();
    const apiFunctions = this.#createApiFunctions();
    this.startJobFunction = apiFunctions.startJob;
    this.getJobFunction = apiFunctions.getJob;
    this.listJobsFunction = apiFunctions.listJobs;
    this.cancelJobFunction = apiFunctions.cancelJob;
    this.stream = this.#createStream();

    this.webhookSecret = this.#createWebhookSecret();
    this.completionFunction = this.#createCompletion();
    const completionRules = this.#createCompletionRules();
    this.outcomeRule = completionRules.outcomeRule;
    this.workerFailureRule = completionRules.workerFailureRule;

    const sweeper = this.#createSweeper();
    this.sweeperFunction = sweeper.sweeperFunction;
    this.sweepRule = sweeper.sweepRule;
    this.deadLetterAlarms = this.#createDeadLetterAlarms();

    const http = this.#createHttpApi();
    this.accessLogGroup = http.accessLogGroup;
    this.api = http.api;
    this.stage = http.stage;
    this.apiUrl = this.stage.url;
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

  /** Builds one of the construct's own functions alike (see `createFunction`). */
  #createFunction(spec: FunctionSpec): lambda.Function {
    return createFunction(this, this.#config, spec);
  }

  /** What every function that reads or writes the jobs table needs to find it. */
  get #tableEnvironment(): Record<string, string> {
    return { [EnvVar.TableName]: this.table.tableName };
  }

  #createTable(): dynamodb.Table {
    const table = new dynamodb.Table(this, 'JobsTable', {
      partitionKey: { name: JobsTable.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: JobsTable.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: JobsTable.ttlAttribute,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: this.#config.removalPolicy,
    });
    for (const index of [JobsTable.byOwner, JobsTable.byOwnerStatus]) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...JobsTable.projectedAttributes],
      });
    }
    // Sparse: only active records have its keys, so the sweeper reads running jobs only.
    table.addGlobalSecondaryIndex({
      indexName: JobsTable.byActive.indexName,
      partitionKey: { name: JobsTable.byActive.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: JobsTable.byActive.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...JobsTable.activeProjectedAttributes],
    });
    return table;
  }

  #createBusAndDeadLetterQueues(): Pick<
    AsyncJobs,
    'eventBus' | 'ruleDeadLetterQueue' | 'completionDeadLetterQueue'
  > {
    return {
      eventBus: new events.EventBus(this, 'EventBus', {
        description: 'eventjobs: job outcome events and worker failure records',
      }),
      ruleDeadLetterQueue: deadLetterQueue(this, 'RuleDeadLetterQueue'),
      completionDeadLetterQueue: deadLetterQueue(this, 'CompletionDeadLetterQueue'),
    };
  }

  #createWorker(): lambda.Function {
    const config = this.#config;
    const worker = this.#createFunction({
      id: 'Worker',
      dir: 'worker',
      jobTypesEntry: config.jobTypesEntry,
      description: 'eventjobs: runs one job and puts its outcome event on the bus',
      memorySize: config.workerMemorySize,
      timeout: config.workerTimeout,
      environment: {
        ...config.jobEnvironment,
        ...this.#tableEnvironment,
        [EnvVar.EventBusName]: this.eventBus.eventBusName,
        [EnvVar.MaxEventBytes]: String(config.maxEventBytes),
        // The worker sizes a job's result to what is left of the item next to its input.
        [EnvVar.MaxInputBytes]: String(config.maxInputBytes),
        // No run's deadline may be later than one invocation can last.
        [EnvVar.WorkerTimeoutSeconds]: String(config.workerTimeout.toSeconds()),
      },
      statements: [
        // GetItem: the worker checks that its run is still the active one before starting.
        allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [this.table.tableArn]),
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
      worker,
      'Serverless-LambdaDLQ',
      'The worker has an OnFailure destination (the event bus) instead of a DeadLetterConfig: ' +
        'its failure record carries the error and is routed to the completion function, which ' +
        'records the job as FAILED. A DLQ as well would only hold a second, unprocessed copy.',
    );
    return worker;
  }

  /** The four functions behind the HTTP API's routes. */
  #createApiFunctions(): Record<'startJob' | 'getJob' | 'listJobs' | 'cancelJob', lambda.Function> {
    const config = this.#config;
    const tableArn = this.table.tableArn;
    const indexArns = [JobsTable.byOwner, JobsTable.byOwnerStatus].map(
      (index) => `${tableArn}/index/${index.indexName}`,
    );
    const shared = {
      memorySize: config.apiFunctionMemorySize,
      timeout: config.apiFunctionTimeout,
      environment: this.#tableEnvironment,
    };
    const functions = {
      startJob: this.#createFunction({
        id: 'StartJob',
        dir: 'start-job',
        jobTypesEntry: config.jobTypesEntry,
        description: 'eventjobs: POST /jobs - records a job and invokes the worker asynchronously',
        ...shared,
        environment: {
          ...this.#tableEnvironment,
          [EnvVar.WorkerFunctionName]: this.workerFunction.functionName,
          [EnvVar.MaxInputBytes]: String(config.maxInputBytes),
          [EnvVar.WorkerTimeoutSeconds]: String(config.workerTimeout.toSeconds()),
        },
        statements: [
          allow(['dynamodb:PutItem', 'dynamodb:DeleteItem'], [tableArn]),
          allow(['lambda:InvokeFunction'], [this.workerFunction.functionArn]),
        ],
      }),
      getJob: this.#createFunction({
        id: 'GetJob',
        dir: 'get-job',
        description: 'eventjobs: GET /jobs/{name} - the active job, else its latest outcome',
        ...shared,
        statements: [allow(['dynamodb:GetItem', 'dynamodb:Query'], [tableArn])],
      }),
      listJobs: this.#createFunction({
        id: 'ListJobs',
        dir: 'list-jobs',
        description: "eventjobs: GET /jobs - lists the caller's jobs, optionally by status",
        ...shared,
        statements: [allow(['dynamodb:Query'], indexArns)],
      }),
      cancelJob: this.#createFunction({
        id: 'CancelJob',
        dir: 'cancel-job',
        description: 'eventjobs: DELETE /jobs/{name} - requests cancellation of a running job',
        ...shared,
        statements: [allow(['dynamodb:UpdateItem', 'dynamodb:Query'], [tableArn])],
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

  #createStream(): JobEventStream {
    return new JobEventStream(this, 'Stream', {
      table: this.table,
      eventBus: this.eventBus,
      eventRetention: Duration.seconds(this.#config.outcomeRetentionSeconds),
      runtime: this.#config.runtime,
      architecture: this.#config.architecture,
      logRetention: this.#config.logRetention,
    });
  }

  #createWebhookSecret(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'WebhookSecret', {
      description: 'eventjobs: signs webhook deliveries (HMAC-SHA256); share it with receivers',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: this.#config.removalPolicy,
    });
    acknowledge(
      secret,
      'AwsSolutions-SMG4',
      'Receivers hold a copy of the webhook signing secret to verify deliveries, so an ' +
        'automatic rotation would make every receiver reject them at once. It is rotated ' +
        'deliberately: put a new value and let receivers accept both during the change ' +
        '(verifyWebhook takes several secrets).',
    );
    return secret;
  }

  #createCompletion(): lambda.Function {
    const config = this.#config;
    return this.#createFunction({
      id: 'Completion',
      dir: 'completion',
      jobTypesEntry: config.jobTypesEntry,
      description: "eventjobs: records a job's outcome and deletes its active record",
      memorySize: config.completionMemorySize,
      timeout: config.completionTimeout,
      environment: {
        ...config.jobEnvironment,
        ...this.#tableEnvironment,
        [EnvVar.OutcomeRetentionSeconds]: String(config.outcomeRetentionSeconds),
        [EnvVar.EventBusName]: this.eventBus.eventBusName,
        [EnvVar.WebhookSecretArn]: this.webhookSecret.secretArn,
      },
      statements: [
        allow(
          ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
          [this.table.tableArn],
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
  }

  /** The two rules that hand a run's outcome to the completion function. */
  #createCompletionRules(): Pick<AsyncJobs, 'outcomeRule' | 'workerFailureRule'> {
    // EventBridge invokes Lambda asynchronously, so the function's errors are retried by
    // Lambda (and end in the completion DLQ); this retry policy only covers delivery
    // failures such as throttling. These are EventBridge's own defaults, made explicit.
    const completionTarget = new targets.LambdaFunction(this.completionFunction, {
      deadLetterQueue: this.ruleDeadLetterQueue,
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    });

    const outcomeRule = new events.Rule(this, 'OutcomeRule', {
      eventBus: this.eventBus,
      description: 'eventjobs: job outcome events from the worker to the completion function',
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: [...JOB_OUTCOME_EVENT_TYPES],
      },
      targets: [completionTarget],
    });

    const workerFailureRule = new events.Rule(this, 'WorkerFailureRule', {
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
    return { outcomeRule, workerFailureRule };
  }

  /** The sweeper and the schedule that runs it. */
  #createSweeper(): Pick<AsyncJobs, 'sweeperFunction' | 'sweepRule'> {
    const config = this.#config;
    // A run is silent for good once no attempt can be alive: one worker timeout, plus
    // Lambda's own retry backoff (about 1 then 2 minutes) for each retry, plus a minute.
    const silentAfterSeconds =
      config.workerTimeout.toSeconds() + config.workerRetryAttempts * 180 + 60;
    const sweeperFunction = this.#createFunction({
      id: 'Sweeper',
      dir: 'sweeper',
      description: 'eventjobs: ends runs past their deadline, silent, or never started',
      memorySize: 256,
      timeout: Duration.minutes(1),
      environment: {
        ...this.#tableEnvironment,
        [EnvVar.EventBusName]: this.eventBus.eventBusName,
        [EnvVar.SweepGraceSeconds]: String(SWEEP_GRACE_SECONDS),
        [EnvVar.SweepSilentAfterSeconds]: String(silentAfterSeconds),
        // By default Lambda itself has reported an invocation that never ran (EventAgeExceeded) by then.
        [EnvVar.SweepStartWindowSeconds]: String(config.sweeperStartWindow.toSeconds()),
      },
      statements: [
        allow(['dynamodb:Query'], [`${this.table.tableArn}/index/${JobsTable.byActive.indexName}`]),
        allow(['events:PutEvents'], [this.eventBus.eventBusArn]),
      ],
      // A failed sweep is repeated by the next one a minute later; retrying it is pointless.
      options: { retryAttempts: 0 },
    });
    acknowledge(
      sweeperFunction,
      'Serverless-LambdaDLQ',
      'The sweeper runs once a minute on a schedule and keeps no state: a failed sweep is ' +
        'simply repeated by the next one, so a dead-letter queue would hold nothing useful.',
    );
    acknowledge(
      sweeperFunction.node.findChild('EventInvokeConfig'),
      'Serverless-LambdaAsyncFailureDestination',
      'Only the schedule invokes the sweeper; a failed sweep is repeated a minute later and ' +
        'carries no payload worth keeping, so there is no failure destination.',
    );
    const sweepRule = new events.Rule(this, 'SweepRule', {
      description: 'eventjobs: runs the sweeper once a minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(sweeperFunction, { retryAttempts: 0 })],
    });
    acknowledge(
      sweepRule,
      'Serverless-EventBusDLQ',
      'A scheduled tick that cannot be delivered is replaced by the next one a minute later; ' +
        'a dead-letter queue would only collect empty schedule events.',
    );
    return { sweeperFunction, sweepRule };
  }

  /** One alarm per dead-letter queue (the stream's too), and the queues' acknowledgements. */
  #createDeadLetterAlarms(): cloudwatch.Alarm[] {
    const outcomeStuck =
      'eventjobs: a job outcome could not be recorded and is waiting in a dead-letter ' +
      'queue; inspect and redrive it';
    const alarms = [
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
    return alarms;
  }

  /** The HTTP API, its `$default` stage with access log and throttling, and its four routes. */
  #createHttpApi(): Pick<AsyncJobs, 'accessLogGroup' | 'api' | 'stage'> {
    const accessLogGroup = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: this.#config.logRetention,
    });

    const authorizer = new HttpIamAuthorizer();
    const api = new apigwv2.HttpApi(this, 'Api', {
      description: 'eventjobs: start, inspect, list and cancel named asynchronous jobs',
      defaultAuthorizer: authorizer,
      // The stage is created below so that it can have access logs and throttling.
      createDefaultStage: false,
    });
    const stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: this.#config.rateLimit, burstLimit: this.#config.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const routes: ReadonlyArray<[apigwv2.HttpMethod, string, lambda.IFunction]> = [
      [apigwv2.HttpMethod.POST, '/jobs', this.startJobFunction],
      [apigwv2.HttpMethod.GET, '/jobs', this.listJobsFunction],
      [apigwv2.HttpMethod.GET, '/jobs/{name}', this.getJobFunction],
      [apigwv2.HttpMethod.DELETE, '/jobs/{name}', this.cancelJobFunction],
    ];
    for (const [method, routePath, fn] of routes) {
      api.addRoutes({
        path: routePath,
        methods: [method],
        authorizer,
        integration: new HttpLambdaIntegration(`${fn.node.id}Integration`, fn, {
          payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
        }),
      });
    }
    return { accessLogGroup, api, stage };
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

function deadLetterQueue(scope: Construct, id: string): sqs.Queue {
  return new sqs.Queue(scope, id, {
    enforceSSL: true,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    retentionPeriod: Duration.days(14),
  });
}
