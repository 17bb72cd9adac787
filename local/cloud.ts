/**
 * The local cloud: runs a synthesized cloud assembly on one machine. It reads
 * the template, starts DynamoDB, SQS, EventBridge, Scheduler, Lambda and the HTTP APIs
 * from it, and wires them together the way AWS does. Functions reach every AWS
 * API through one endpoint (`AWS_ENDPOINT_URL`) with their own credentials.
 */

import type { HttpApiUsage, LocalHttpApi } from './apigw/http-api';
import { readAssembly } from './assembly/stack';
import type { AwsEndpoint } from './aws-endpoint';
import { Chaos, type ChaosReport, type ChaosSettings } from './chaos';
import type { LocalCredential, LocalEnv, LogSink } from './contracts';
import { LocalCredentials } from './credentials';
import type { DynamoDbUsage } from './dynamodb/dynamodb';
import type { EventBridgeUsage } from './eventbridge/bus';
import { type LocalCloudExtension, startExtensions } from './extensions';
import { checkConcurrency, DEFAULT_ACCOUNT_CONCURRENCY } from './lambda/concurrency';
import type { FunctionUsage } from './lambda/local-lambda';
import { TerminalLogs } from './logs';
import {
  bindStack,
  Closers,
  checkChaosTargets,
  chooseRunners,
  deadLetterReport,
  type LocalServices,
  serveHttpApis,
  startAwsEndpoint,
  startServices,
  startupNotes,
  withLocalEnvironment,
} from './startup';

export type { LocalCloudExtension } from './extensions';

export interface LocalCloudOptions {
  /** The cloud assembly (`cdk.out`). */
  readonly assemblyDir: string;
  /** @default - the assembly's only stack */
  readonly stackName?: string;
  /** Port of the first HTTP API; later APIs take the next ports. 0 picks free ports. @default 3000 */
  readonly apiPort?: number;
  /** Port of the AWS endpoint. 0 picks a free port. @default 4566 */
  readonly awsPort?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Keep DynamoDB state on disk here. @default - in memory */
  readonly dataDir?: string;
  /** An external DynamoDB-compatible endpoint to use instead of the embedded server. */
  readonly dynamodbEndpoint?: string;
  /** One log file per function (and service) in this directory. */
  readonly logsDir?: string;
  /** Print no function logs to the terminal. @default false */
  readonly quiet?: boolean;
  /** Colour log prefixes. @default false */
  readonly color?: boolean;
  /** Where logs go instead of the terminal (tests). */
  readonly log?: LogSink;
  /** See `LocalEnv.timeScale`. @default 1 */
  readonly timeScale?: number;
  /** See `LocalEnv.scheduleScale`. @default timeScale */
  readonly scheduleScale?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /**
   * Lambda's concurrent executions across all functions; the template's
   * reservations must leave at least 100 of them unreserved, as on AWS.
   * @default 1000 (AWS's default per account and region)
   */
  readonly accountConcurrency?: number;
  /** The DynamoDB TTL sweep interval (0 turns it off). @default 60000 */
  readonly ttlSweepIntervalMs?: number;
  /** Faults to inject (local/chaos.ts, local/README.md). @default - none */
  readonly chaos?: ChaosSettings;
  /** Values of the template's secrets, by logical id or name (a local setting). @default - generated */
  readonly secretValues?: Readonly<Record<string, string>>;
  /**
   * Where generated secret values are kept, so they survive a restart.
   * @default - `secrets.json` in `dataDir`, or in memory only without one
   */
  readonly secretsFile?: string;
  /**
   * Where people find the keys to sign with, for the local-only hint an
   * unsigned API request gets (`localHint` in its 403 body, and a log line).
   * @default "the local cloud's users (RunningLocalCloud.users)"
   */
  readonly signingKeysAt?: string;
  /**
   * What an app adds to the local cloud (`extensions.ts`): requests answered
   * on the API ports before API Gateway routes them, observers of the buses,
   * notes; each is started with the cloud and closed when it stops.
   * @default - none
   */
  readonly extensions?: readonly LocalCloudExtension[];
}

/**
 * What the stack would have been billed for so far on AWS, cumulatively since
 * start, as plain JSON: two snapshots subtract to the usage between them.
 */
export interface LocalCloudUsage {
  /** When the snapshot was taken (ISO 8601). */
  readonly at: string;
  /** Calls and capacity units per operation: by functions, by other callers, and the local cloud's own (TTL). */
  readonly dynamodb: DynamoDbUsage;
  /** PutEvents calls, entries and billed 64 KB events. */
  readonly eventbridge: EventBridgeUsage;
  /** Per function name: invocations, cold starts, durations and memory. */
  readonly lambda: Readonly<Record<string, FunctionUsage>>;
  /** Per HTTP API name: requests, in all and per route key. */
  readonly httpApis: Readonly<Record<string, HttpApiUsage>>;
  /** Secrets Manager API calls per operation. */
  readonly secretsManager: { readonly calls: Readonly<Record<string, number>> };
  /** Calls to services the local cloud does not emulate (e.g. `execute-api` management), refused, per signing name. */
  readonly notEmulated: Readonly<Record<string, number>>;
}

export interface RunningLocalCloud {
  readonly stackName: string;
  readonly region: string;
  readonly accountId: string;
  /** The first HTTP API's base URL, without a trailing slash. */
  readonly apiUrl: string;
  readonly apis: readonly { readonly name: string; readonly id: string; readonly url: string }[];
  /** What functions get as `AWS_ENDPOINT_URL`. */
  readonly awsEndpoint: string;
  /** The local IAM users people and tests sign with. */
  readonly users: readonly LocalCredential[];
  /** The stack's outputs, resolved with local names and ARNs (an output built from `AWS::URLSuffix` still reads like AWS's: use `apiUrl`). */
  readonly outputs: Readonly<Record<string, string>>;
  /** What the local cloud does differently from AWS for this stack; printed once at start. */
  readonly notes: readonly string[];
  readonly startupMs: number;
  readonly services: LocalServices;
  /** The faults chaos injected so far; undefined when chaos is off. */
  chaosReport(): ChaosReport | undefined;
  /** What AWS would have billed so far (see {@link LocalCloudUsage}); a fresh snapshot on each call. */
  usage(): LocalCloudUsage;
  /**
   * UpdateFunctionCode for `$LATEST` (see `LocalLambda.updateFunctionCode`):
   * invocations that start from now on run the code in `codeDir`.
   */
  updateFunctionCode(functionNameOrArn: string, codeDir: string): void;
  /** Stops everything; resolves with a report of what is left in dead-letter queues, if anything. */
  stop(): Promise<string>;
}

export async function startLocalCloud(options: LocalCloudOptions): Promise<RunningLocalCloud> {
  const startedAt = performance.now();
  const host = options.host ?? '127.0.0.1';
  const env = localEnv(options);
  const log =
    options.log ??
    new TerminalLogs({ dir: options.logsDir, quiet: options.quiet, color: options.color });

  const assembly = readAssembly(options.assemblyDir, options.stackName);
  const chaos = options.chaos ? new Chaos(options.chaos) : undefined;
  const closers = new Closers(log);

  try {
    // Ports first: the template's API endpoints and queue URLs resolve to them.
    const credentials = new LocalCredentials(env);
    const aws = await startAwsEndpoint(options.awsPort ?? 4566, host, log, closers);
    const { stack, apiServers } = await bindStack(
      assembly,
      env,
      aws.url,
      options.apiPort ?? 3000,
      host,
      closers,
    );
    if (chaos) checkChaosTargets(chaos, stack);
    // Before any service starts: AWS would not have deployed these reservations.
    checkConcurrency(options.accountConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY, stack.functions);
    const functions = stack.functions.map((fn) =>
      withLocalEnvironment(fn, env, aws.url, credentials),
    );
    const runners = chooseRunners(stack);
    const services = await startServices(
      { options, env, log, chaos, stack, functions, runners },
      closers,
    );
    const { dynamodb, sqs, events, lambda, secretsManager, scheduler } = services;
    for (const service of [
      dynamodb,
      sqs,
      events.service(),
      lambda.service(),
      secretsManager,
      scheduler,
    ]) {
      aws.endpoint.register(service);
    }
    aws.authenticateWith(credentials);

    const notes = startupNotes(options, stack, events, runners, chaos);
    log.line('local', notes[0] ?? '');
    const extensions = await startExtensions(options.extensions ?? [], { env, events, log });
    closers.push(() => extensions.close());
    const { apis, httpApis } = serveHttpApis(
      {
        stack,
        apiServers,
        lambda,
        credentials,
        env,
        log,
        signingKeysAt: options.signingKeysAt,
        extensions,
      },
      notes,
    );
    notes.push(...extensions.notes);
    // Last: a schedule that is overdue fires now, and the extensions must see what it starts.
    scheduler.start();

    return {
      stackName: stack.stackName,
      region: env.region,
      accountId: env.accountId,
      apiUrl: apis[0]?.url ?? '',
      apis,
      awsEndpoint: aws.url,
      users: credentials.users,
      outputs: stack.outputs(),
      notes,
      startupMs: performance.now() - startedAt,
      services,
      chaosReport: () => chaos?.report(),
      updateFunctionCode: (functionNameOrArn, codeDir) =>
        lambda.updateFunctionCode(functionNameOrArn, codeDir),
      usage: () => usageOf(services, httpApis, aws.endpoint),
      stop: async () => {
        const report = deadLetterReport(sqs);
        await closers.closeAll();
        return report;
      },
    };
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}

function usageOf(
  services: LocalServices,
  httpApis: ReadonlyMap<string, LocalHttpApi>,
  endpoint: AwsEndpoint,
): LocalCloudUsage {
  return {
    at: new Date().toISOString(),
    dynamodb: services.dynamodb.usage(),
    eventbridge: services.events.usage(),
    lambda: services.lambda.usage(),
    httpApis: Object.fromEntries([...httpApis].map(([name, api]) => [name, api.usage()])),
    secretsManager: services.secretsManager.usage(),
    notEmulated: endpoint.notEmulated(),
  };
}

function localEnv(options: LocalCloudOptions): LocalEnv {
  return {
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    partition: 'aws',
    timeScale: options.timeScale ?? 1,
    ...(options.scheduleScale !== undefined ? { scheduleScale: options.scheduleScale } : {}),
  };
}
