import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { EventBridgeDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EnvVar } from '../core/config';
import {
  EVENT_SOURCE,
  JOB_FINISHED_EVENT_TYPE,
  JOB_OUTCOME_EVENT_TYPES,
  LAMBDA_DESTINATION_SOURCE,
  LambdaDestinationType,
} from '../core/events';
import type { JobOutcomeStatus } from '../core/job-type';
import { JOB_PARTITION_PREFIX, JobsTable } from '../core/table';
import type { AsyncJobsProps } from './async-jobs-props';
import { createDeadLetterAlarms, deadLetterQueue } from './dead-letters';
import { JobEventStream } from './job-stream';
import { createApiFunctions, createHttpApi } from './jobs-api';
import {
  acknowledge,
  allow,
  allowOnKeys,
  createFunction,
  type EventJobsFunctionSpec,
} from './lambda-function';
import {
  type ScheduleOptions,
  Starters,
  type StartOnOptions,
  type StartOnPattern,
} from './starters';
import { createSweeper } from './sweeper';
import { createSleepTimers, grantSleepTimers } from './timers';
import { type ResolvedProps, resolveProps } from './validate-async-jobs-props';

export type { AsyncJobsJobTypes, AsyncJobsProps, AsyncJobsThrottling } from './async-jobs-props';
export type { ScheduleOptions, StartOnOptions, StartOnPattern } from './starters';
export { eventPath } from './starters';

/** The folders under `functions/` that hold one Lambda handler each. */
type FunctionDir =
  | 'start-job'
  | 'get-job'
  | 'list-jobs'
  | 'cancel-job'
  | 'signal-job'
  | 'start-from-event'
  | 'worker'
  | 'completion'
  | 'sweeper';

export interface AsyncJobsFunctionSpec extends EventJobsFunctionSpec {
  readonly dir: FunctionDir;
}

/**
 * What the builders in other files (the API, the sweeper) build from: the
 * construct as their scope, its settings and table, and its function builder.
 */
export interface AsyncJobsParts {
  readonly scope: Construct;
  readonly config: ResolvedProps;
  readonly table: dynamodb.ITable;
  /** Builds one of the construct's functions alike (see `createFunction`). */
  readonly createFunction: (spec: AsyncJobsFunctionSpec) => lambda.Function;
  /** What every function that reads or writes the jobs table needs to find it. */
  readonly tableEnvironment: () => Record<string, string>;
  /** The fair-share limits, for the functions that take, free or report slots. */
  readonly limitsEnvironment: () => Record<string, string>;
}

/** The terminal statuses a run's outcome has. */
const TERMINAL_STATUSES: readonly JobOutcomeStatus[] = [
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'TIMED_OUT',
];

/** What {@link AsyncJobs.onOutcome} routes. */
export interface OnOutcomeOptions {
  /**
   * Only outcomes of these job types.
   *
   * @default - every type
   */
  readonly types?: readonly string[];
  /**
   * Only these outcomes.
   *
   * @default - every status
   */
  readonly statuses?: readonly JobOutcomeStatus[];
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
  /** `POST /jobs/{name}/signals/{signal}`. */
  public readonly signalJobFunction: lambda.Function;
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
  /**
   * The dead-letter queues of outcomes: whatever lands here is a job whose outcome was not
   * recorded. (The starters' queue, once a trigger or schedule exists, is
   * `starters.deadLetterQueue`; `allDeadLetterAlarms` covers every queue.)
   */
  public readonly deadLetterQueues: readonly sqs.Queue[];
  /** The live event stream in AWS: a WebSocket API fed by a recorder of every lifecycle event. */
  public readonly stream: JobEventStream;
  /** Signs webhook deliveries; receivers verify with the same value. */
  public readonly webhookSecret: secretsmanager.Secret;
  /** Ends runs whose worker can no longer report (past deadline, silent, never started). */
  public readonly sweeperFunction: lambda.Function;
  /** Invokes the sweeper once a minute. */
  public readonly sweepRule: events.Rule;
  /** One alarm per dead-letter queue of outcomes and of the stream, in alarm while it holds any message. */
  public readonly deadLetterAlarms: readonly cloudwatch.Alarm[];

  /** The props with their defaults applied; the builders read their settings here. */
  readonly #config: ResolvedProps;
  readonly #parts: AsyncJobsParts;
  #outcomeRules = 0;
  #starters: Starters | undefined;

  constructor(scope: Construct, id: string, props: AsyncJobsProps) {
    super(scope, id);
    this.#config = resolveProps(props);

    // The builders run in the order their resources appear in the template, and
    // each reads what the ones before it created: reordering them changes the
    // template (resource and policy statement order) even where no ID changes.
    this.table = this.#createTable();
    const parts: AsyncJobsParts = {
      scope: this,
      config: this.#config,
      table: this.table,
      createFunction: (spec) => this.#createFunction(spec),
      tableEnvironment: () => this.#tableEnvironment,
      limitsEnvironment: () => this.#limitsEnvironment,
    };
    this.#parts = parts;
    const bus = this.#createBusAndDeadLetterQueues();
    this.eventBus = bus.eventBus;
    this.ruleDeadLetterQueue = bus.ruleDeadLetterQueue;
    this.completionDeadLetterQueue = bus.completionDeadLetterQueue;
    this.deadLetterQueues = [this.ruleDeadLetterQueue, this.completionDeadLetterQueue];

    this.workerFunction = this.#createWorker();
    const apiFunctions = createApiFunctions(parts, this.workerFunction, this.eventBus);
    this.startJobFunction = apiFunctions.startJob;
    this.getJobFunction = apiFunctions.getJob;
    this.listJobsFunction = apiFunctions.listJobs;
    this.cancelJobFunction = apiFunctions.cancelJob;
    this.signalJobFunction = apiFunctions.signalJob;
    this.stream = this.#createStream();

    this.webhookSecret = this.#createWebhookSecret();
    this.completionFunction = this.#createCompletion();
    const completionRules = this.#createCompletionRules();
    this.outcomeRule = completionRules.outcomeRule;
    this.workerFailureRule = completionRules.workerFailureRule;

    const sweeper = createSweeper(parts, this.eventBus, this.workerFunction);
    this.sweeperFunction = sweeper.sweeperFunction;
    this.sweepRule = sweeper.sweepRule;
    this.deadLetterAlarms = createDeadLetterAlarms(this);

    const http = createHttpApi(parts, apiFunctions);
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

  /**
   * Routes the runs' outcomes to `target` (an SQS queue, a Lambda function, a
   * state machine, any EventBridge rule target): a rule on the construct's bus
   * for `Job Finished`, the outcome the completion function recorded, exactly
   * one per run (delivered at least once: dedupe on `detail.runId`). Its detail
   * is `jobFinishedDetailSchema` (docs/events). Filter by job type and status;
   * a name that is no job type of `jobTypes.entry` fails the synth.
   */
  public onOutcome(target: events.IRuleTarget, options: OnOutcomeOptions = {}): events.Rule {
    const { types, statuses } = options;
    for (const type of types ?? []) {
      if (!this.#config.jobTypeNames.includes(type)) {
        throw new Error(
          `AsyncJobs.onOutcome: types names "${type}", which is not a job type of jobTypes.entry ` +
            `(${this.#config.jobTypeNames.join(', ')})`,
        );
      }
    }
    for (const status of statuses ?? []) {
      if (!TERMINAL_STATUSES.includes(status)) {
        throw new Error(
          `AsyncJobs.onOutcome: statuses has "${status}"; outcomes are ${TERMINAL_STATUSES.join(', ')}`,
        );
      }
    }
    if (types?.length === 0 || statuses?.length === 0) {
      throw new Error('AsyncJobs.onOutcome: an empty types or statuses list matches nothing');
    }
    const detail: Record<string, string[]> = {};
    if (types) detail.type = [...types];
    if (statuses) detail.status = [...statuses];
    this.#outcomeRules += 1;
    return new events.Rule(this, `OnOutcome${this.#outcomeRules}`, {
      description: 'eventjobs: routes recorded job outcomes (Job Finished) to a target of the app',
      eventBus: this.eventBus,
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: [JOB_FINISHED_EVENT_TYPE],
        ...(Object.keys(detail).length > 0 ? { detail } : {}),
      },
      targets: [target],
    });
  }

  /**
   * Starts a job for each event `ruleOrPattern` matches: an `events.Rule` of
   * the app's (on any bus), or a pattern for a new rule (on the default bus
   * unless `eventBus` is given). Goes through the start path of `POST /jobs`
   * (the type's schema, the limits, the owner). A redelivered event starts no
   * second run, while the first runs or after it ended (for the outcome
   * retention); an event that cannot start a job (an unknown type, an invalid
   * input, name or owner) is not retried: it goes to `startDeadLetterQueue`
   * with its reason, and `Job Rejected` is published.
   */
  public startOn(
    ruleOrPattern: events.Rule | StartOnPattern,
    options: StartOnOptions,
  ): events.Rule {
    return this.#startersOrCreate().startOn(ruleOrPattern, options);
  }

  /**
   * Starts a job on a schedule of EventBridge Scheduler (`cron(...)`,
   * `rate(...)` or `at(...)`, in a time zone, flexible window off). Each job's
   * name is filled from the `name` template; `overlap: 'skip'` starts nothing
   * while the schedule's previous run still runs.
   */
  public schedule(id: string, options: ScheduleOptions): scheduler.Schedule {
    return this.#startersOrCreate().schedule(id, options);
  }

  /**
   * Every dead-letter alarm of the construct: `deadLetterAlarms` and, once a
   * trigger or schedule exists, the starters' (give them all an alarm action).
   */
  public get allDeadLetterAlarms(): readonly cloudwatch.Alarm[] {
    return [...this.deadLetterAlarms, ...(this.#starters ? [this.#starters.deadLetterAlarm] : [])];
  }

  /** The starter function, its dead-letter queue and schedule group; undefined until a trigger or schedule is added. */
  public get starters(): Starters | undefined {
    return this.#starters;
  }

  #startersOrCreate(): Starters {
    this.#starters ??= new Starters(
      this.#parts,
      this.eventBus,
      this.workerFunction,
      this.ruleDeadLetterQueue,
    );
    return this.#starters;
  }

  /** Builds one of the construct's own functions alike (see `createFunction`). */
  #createFunction(spec: AsyncJobsFunctionSpec): lambda.Function {
    return createFunction(this, this.#config, spec);
  }

  /** What every function that reads or writes the jobs table needs to find it. */
  get #tableEnvironment(): Record<string, string> {
    return { [EnvVar.TableName]: this.table.tableName };
  }

  /**
   * The fair-share limits (`core/limits.ts`): the stack-wide one is the worker's
   * reserved concurrency, so eventjobs queues what Lambda would otherwise throttle.
   */
  get #limitsEnvironment(): Record<string, string> {
    const config = this.#config;
    return {
      [EnvVar.OwnerConcurrency]: String(config.ownerConcurrency),
      [EnvVar.MaxQueuedPerOwner]: String(config.maxQueuedPerOwner),
      [EnvVar.TotalConcurrency]: String(config.workerReservedConcurrency),
      [EnvVar.TypeConcurrency]: JSON.stringify(config.typeConcurrency),
      [EnvVar.QueueTimeoutSeconds]: String(config.queueTimeout.toSeconds()),
    };
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
    const timers = createSleepTimers(this);
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
        // The default timeout of a run whose type sets none.
        [EnvVar.WorkerTimeoutSeconds]: String(config.workerTimeout.toSeconds()),
        // Step checkpoints are kept as long past the run's deadline as outcomes are.
        [EnvVar.OutcomeRetentionSeconds]: String(config.outcomeRetentionSeconds),
        ...timers.environment,
      },
      statements: [
        // GetItem: the worker checks that its run is still the active one before starting.
        // PutItem and Query: the run's step checkpoints, in its job's partition.
        allowOnKeys(
          ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:Query'],
          [this.table.tableArn],
          [`${JOB_PARTITION_PREFIX}*`],
        ),
        allow(['events:PutEvents'], [this.eventBus.eventBusArn]),
      ],
      options: {
        retryAttempts: config.workerRetryAttempts,
        maxEventAge: config.workerMaxEventAge,
        reservedConcurrentExecutions: config.workerReservedConcurrency,
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
    grantSleepTimers(this, timers, worker);
    return worker;
  }

  #createStream(): JobEventStream {
    return new JobEventStream(this, 'Stream', {
      table: this.table,
      eventBus: this.eventBus,
      eventRetention: Duration.seconds(this.#config.outcomeRetentionSeconds),
      runtime: this.#config.runtime,
      architecture: this.#config.architecture,
      logRetention: this.#config.logRetention,
      ownerModel: this.#config.ownerModel,
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
        ...this.#limitsEnvironment,
        // An end frees slots: completion starts the queued runs that fit.
        [EnvVar.WorkerFunctionName]: this.workerFunction.functionName,
      },
      statements: [
        allow(
          [
            'dynamodb:GetItem',
            'dynamodb:BatchGetItem',
            'dynamodb:PutItem',
            'dynamodb:DeleteItem',
            'dynamodb:UpdateItem',
            'dynamodb:Query',
          ],
          [this.table.tableArn],
        ),
        // The `Job Failed` of a run that Lambda's failure destination ended.
        allow(['events:PutEvents'], [this.eventBus.eventBusArn]),
        allow(['lambda:InvokeFunction'], [this.workerFunction.functionArn]),
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
        // The field AWS documents for the invoked function (`resources` is not documented):
        // the qualified ARN (`...:function:name:$LATEST`), so the trailing colon keeps a
        // function called e.g. `<worker>-2` from matching.
        detail: {
          requestContext: {
            functionArn: events.Match.prefix(`${this.workerFunction.functionArn}:`),
          },
        },
      },
      targets: [completionTarget],
    });
    return { outcomeRule, workerFailureRule };
  }
}
