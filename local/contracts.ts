/**
 * The seams between the local cloud's parts. The assembly reader turns the
 * synthesized template into the `*Spec` objects below; each service is built
 * from its specs and talks to the others only through these interfaces, so
 * each can be tested alone.
 */

/** Account-wide settings of one local cloud. */
export interface LocalEnv {
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
  /**
   * Multiplies every wait that AWS imposes on its own schedule: async-invoke
   * retry backoff, event-age limits, EventBridge target retries, schedule
   * rates. 1 is real time; tests use e.g. 0.01. Never applied to a function's
   * own timeout or to the time a function measures.
   */
  readonly timeScale: number;
  /**
   * Multiplies schedule rates only (`rate(...)`), in place of `timeScale`. A test
   * that shortens retry backoffs a hundredfold may not want a once-a-minute
   * schedule to fire every 0.6 s. @default timeScale
   */
  readonly scheduleScale?: number;
}

/** Where the parts write what they log. `source` is a function name, or a service such as `eventbridge`. */
export interface LogSink {
  line(source: string, text: string): void;
}

/** A caller authenticated by SigV4 (a local identity or a function's role session). */
export interface Caller {
  readonly accessKeyId: string;
  readonly accountId: string;
  /** e.g. `arn:aws:iam::000000000000:user/alice` or `arn:aws:sts::000000000000:assumed-role/Role/fn`. */
  readonly arn: string;
  /** e.g. `AIDA...` for a user, `AROA...:session` for a role session. */
  readonly userId: string;
}

/** A credential the local cloud accepts, with the identity it stands for. */
export interface LocalCredential extends Caller {
  readonly name: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface CredentialStore {
  /** The credential of an access key id, if the local cloud issued it. */
  lookup(accessKeyId: string): LocalCredential | undefined;
}

// ---------------------------------------------------------------- AWS wire

/** One request to the AWS endpoint, already read and routed to a service. */
export interface AwsRequest {
  readonly method: string;
  /** Path without the query string, still percent-encoded as received. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Header names lower-cased; repeated headers joined with `,`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The `x-amz-target` header's operation, e.g. `PutEvents` for `AWSEvents.PutEvents`. */
  readonly operation?: string;
  /** Who signed the request, if it was signed with a known credential. */
  readonly caller?: Caller;
}

export interface AwsResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** A service behind the AWS endpoint (DynamoDB, EventBridge, Lambda, SQS). */
export interface AwsService {
  /** The SigV4 signing name(s) it answers to, e.g. `dynamodb`, `events`, `lambda`, `sqs`. */
  readonly signingNames: readonly string[];
  handle(request: AwsRequest): Promise<AwsResponse>;
}

// ---------------------------------------------------------------- Lambda

export interface FunctionSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** `file.export`, e.g. `index.handler`. */
  readonly handler: string;
  /** Absolute path of the bundled asset directory. */
  readonly codeDir: string;
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** The template's variables with intrinsics resolved. */
  readonly environment: Readonly<Record<string, string>>;
  /** `ReservedConcurrentExecutions`, if set. 0 sends async events straight to OnFailure. */
  readonly reservedConcurrency?: number;
  readonly roleArn?: string;
  /** `DeadLetterConfig.TargetArn` (an SQS queue or SNS topic ARN), if set. */
  readonly deadLetterTargetArn?: string;
  readonly logGroupName: string;
  /** From `AWS::Lambda::EventInvokeConfig` for `$LATEST`; AWS defaults when absent. */
  readonly asyncConfig: AsyncInvokeConfig;
}

export interface AsyncInvokeConfig {
  /** 0 to 2; AWS default 2. */
  readonly maximumRetryAttempts: number;
  /** 60 to 21600; AWS default 21600. */
  readonly maximumEventAgeSeconds: number;
  readonly onSuccessArn?: string;
  readonly onFailureArn?: string;
}

export type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

export interface InvokeResult {
  /** 200 (RequestResponse), 202 (Event), 204 (DryRun). */
  readonly statusCode: number;
  /** The function's response (or error object) as JSON text; empty for Event and DryRun. */
  readonly payload: string;
  /** `Unhandled` when the function failed (threw, timed out, crashed). */
  readonly functionError?: 'Unhandled' | 'Handled';
  readonly executedVersion: string;
}

/** Thrown by invoke for what the Invoke API answers with an error status (not a function error). */
export class LambdaServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

export interface LambdaInvoker {
  /** Resolves a function name, ARN (qualified with `$LATEST` or not) or partial ARN. */
  find(functionRef: string): FunctionSpec | undefined;
  /**
   * Invokes a function. `RequestResponse` waits for the result; `Event` queues
   * it and resolves at once with 202. Throws `LambdaServiceError` for
   * ResourceNotFoundException, RequestEntityTooLargeException,
   * TooManyRequestsException and the like.
   */
  invoke(
    functionRef: string,
    payload: string,
    type: InvocationType,
    options?: { readonly clientContext?: string },
  ): Promise<InvokeResult>;
}

// ---------------------------------------------------------------- SQS

export interface QueueSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly url: string;
  readonly fifo: boolean;
  readonly visibilityTimeoutSeconds: number;
  readonly messageRetentionSeconds: number;
  /** `RedrivePolicy`, if set. */
  readonly redrive?: { readonly deadLetterTargetArn: string; readonly maxReceiveCount: number };
}

export interface QueueMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly messageAttributes: Readonly<
    Record<string, { readonly DataType: string; readonly StringValue?: string }>
  >;
  readonly sentAt: number;
}

export interface QueueSender {
  /** Sends a message to a queue by ARN. Throws if there is no such queue. */
  send(
    queueArn: string,
    body: string,
    messageAttributes?: QueueMessage['messageAttributes'],
  ): Promise<string>;
  /** Messages currently in a queue (visible or in flight), oldest first, for listing DLQs. */
  peek(queueArn: string): readonly QueueMessage[];
}

// ---------------------------------------------------------------- EventBridge

export interface BusSpec {
  readonly logicalId?: string;
  readonly name: string;
  readonly arn: string;
}

export interface RuleTargetSpec {
  readonly id: string;
  readonly arn: string;
  readonly input?: string;
  readonly inputPath?: string;
  readonly inputTransformer?: {
    readonly inputPathsMap?: Readonly<Record<string, string>>;
    readonly inputTemplate: string;
  };
  readonly deadLetterArn?: string;
  /** AWS defaults: 185 attempts, 86400 s. */
  readonly retryPolicy: {
    readonly maximumRetryAttempts: number;
    readonly maximumEventAgeSeconds: number;
  };
}

export interface RuleSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly busName: string;
  readonly enabled: boolean;
  readonly eventPattern?: unknown;
  /** `rate(...)` or `cron(...)`. */
  readonly scheduleExpression?: string;
  readonly targets: readonly RuleTargetSpec[];
}

/** One entry of PutEvents, as the wire API takes it. */
export interface PutEventsEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Resources?: readonly string[];
  readonly EventBusName?: string;
  readonly Time?: string | number | Date;
  readonly TraceHeader?: string;
}

export interface PutEventsResultEntry {
  readonly EventId?: string;
  readonly ErrorCode?: string;
  readonly ErrorMessage?: string;
}

export interface EventPublisher {
  /** PutEvents, with AWS's validation and per-entry results; used by Lambda destinations. */
  putEvents(
    entries: readonly PutEventsEntry[],
  ): Promise<{ readonly FailedEntryCount: number; readonly Entries: PutEventsResultEntry[] }>;
}

// ---------------------------------------------------------------- DynamoDB

export interface TableSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** The CreateTable input taken from the template (key schema, attributes, indexes, billing). */
  readonly createTableInput: Readonly<Record<string, unknown>>;
  readonly ttlAttribute?: string;
}

// ---------------------------------------------------------------- API Gateway

export interface HttpIntegrationSpec {
  readonly id: string;
  readonly type: 'AWS_PROXY';
  readonly functionArn: string;
  readonly payloadFormatVersion: '1.0' | '2.0';
  /** 50 to 30000; default 30000. */
  readonly timeoutMs: number;
}

export interface HttpRouteSpec {
  readonly id: string;
  /** `METHOD /path/{param}`, `ANY /path/{proxy+}` or `$default`. */
  readonly routeKey: string;
  readonly authorizationType: 'NONE' | 'AWS_IAM' | 'JWT' | 'CUSTOM';
  readonly integration?: HttpIntegrationSpec;
}

export interface HttpStageSpec {
  readonly name: string;
  readonly throttling?: { readonly rateLimit: number; readonly burstLimit: number };
  /** The access log format (`$context.*` variables), if access logging is on. */
  readonly accessLogFormat?: string;
}

export interface HttpApiSpec {
  readonly logicalId: string;
  readonly id: string;
  readonly name: string;
  readonly routes: readonly HttpRouteSpec[];
  readonly stage: HttpStageSpec;
  /** Functions that `AWS::Lambda::Permission` lets this API invoke (by function ARN). */
  readonly invokableFunctionArns: readonly string[];
}

// ---------------------------------------------------------------- Secrets Manager

/** An `AWS::SecretsManager::Secret` of the template. */
export interface SecretSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** `SecretString` of the template, if it sets one. */
  readonly secretString?: string;
  /** `GenerateSecretString` of the template, if it has one. */
  readonly generate?: {
    readonly passwordLength?: number;
    readonly excludePunctuation?: boolean;
    readonly excludeCharacters?: string;
  };
}

// ---------------------------------------------------------------- EventBridge Scheduler

/** An `AWS::Scheduler::ScheduleGroup` of the template (the `default` group always exists besides). */
export interface ScheduleGroupSpec {
  readonly logicalId?: string;
  readonly name: string;
  readonly arn: string;
}

/**
 * An `AWS::Scheduler::Schedule` of the template, its intrinsics resolved.
 * Times are epoch milliseconds.
 */
export interface ScheduleSpec {
  readonly logicalId: string;
  /** `Name`, or the name CloudFormation would generate (`<stack>-<logicalId>-<suffix>`). */
  readonly name: string;
  /** `GroupName`; `default` when the template gives none. */
  readonly groupName: string;
  readonly arn: string;
  /** `at(...)`, `rate(...)` or `cron(...)`. */
  readonly expression: string;
  /** `ScheduleExpressionTimezone`, IANA; `UTC` when the template gives none. */
  readonly timezone: string;
  readonly flexibleTimeWindow: {
    readonly mode: 'OFF' | 'FLEXIBLE';
    readonly maximumWindowInMinutes?: number;
  };
  readonly state: 'ENABLED' | 'DISABLED';
  readonly startDate?: number;
  readonly endDate?: number;
  readonly description?: string;
  readonly kmsKeyArn?: string;
  readonly target: ScheduleTargetSpec;
}

export interface ScheduleTargetSpec {
  /** A function's ARN for a Lambda target (resolved from `Fn::GetAtt`), else whatever ARN it names. */
  readonly arn: string;
  readonly roleArn: string;
  /** `Input` as the JSON text the target gets, before context attributes are replaced. */
  readonly input?: string;
  /** Without one in the template, 185 retries within 86400 s (what CDK's `Schedule` writes). */
  readonly retryPolicy: {
    readonly maximumRetryAttempts: number;
    readonly maximumEventAgeSeconds: number;
  };
  readonly deadLetterArn?: string;
}
