/**
 * The local cloud: runs a synthesized cloud assembly on one machine. It reads
 * the template, starts DynamoDB, SQS, EventBridge, Lambda and the HTTP APIs
 * from it, and wires them together the way AWS does. Functions reach every AWS
 * API through one endpoint (`AWS_ENDPOINT_URL`) with their own credentials.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { LocalHttpApi } from './apigw';
import type { HttpApiUsage } from './apigw/http-api';
import { type LoadedStack, loadStack, readAssembly } from './assembly/stack';
import { AwsEndpoint } from './aws-endpoint';
import {
  Chaos,
  type ChaosReport,
  ChaosSettingError,
  type ChaosSettings,
  formatChaosRules,
} from './chaos';
import type { FunctionSpec, LocalCredential, LocalEnv, LogSink } from './contracts';
import { LocalCredentials } from './credentials';
import { LocalDynamoDb } from './dynamodb';
import type { DynamoDbUsage } from './dynamodb/dynamodb';
import { type EventBridgeUsage, LocalEventBridge } from './eventbridge/bus';
import { type LocalCloudExtension, startExtensions } from './extensions';
import { chooseRunner, describeRunners, LocalLambda, type RunnerChoice } from './lambda';
import type { FunctionUsage } from './lambda/local-lambda';
import { TerminalLogs } from './logs';
import { LocalSecretsManager } from './secretsmanager';
import { verifyRequest } from './sigv4';
import { LocalSqs } from './sqs';

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
  /** Concurrent executions across all functions. @default 100 */
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
  readonly services: {
    readonly lambda: LocalLambda;
    readonly events: LocalEventBridge;
    readonly sqs: LocalSqs;
    readonly dynamodb: LocalDynamoDb;
    readonly secretsManager: LocalSecretsManager;
  };
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
  const env: LocalEnv = {
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    partition: 'aws',
    timeScale: options.timeScale ?? 1,
    ...(options.scheduleScale !== undefined ? { scheduleScale: options.scheduleScale } : {}),
  };
  const log =
    options.log ??
    new TerminalLogs({ dir: options.logsDir, quiet: options.quiet, color: options.color });

  const assembly = readAssembly(options.assemblyDir, options.stackName);
  const chaos = options.chaos ? new Chaos(options.chaos) : undefined;
  const closers: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        log.line('local', `error while stopping: ${String(error)}`);
      }
    }
    closers.length = 0;
  };

  try {
    // Ports first: the template's API endpoints and queue URLs resolve to them.
    const credentials = new LocalCredentials(env);
    let authenticateAws: ConstructorParameters<typeof AwsEndpoint>[0] = () => ({
      ok: false,
      status: 503,
      code: 'ServiceUnavailable',
      message: 'The local cloud is starting',
    });
    const endpoint = new AwsEndpoint((request) => authenticateAws(request), log);
    const awsEndpoint = await endpoint.listen(options.awsPort ?? 4566, host);
    closers.push(() => endpoint.close());

    const context = {
      region: env.region,
      accountId: env.accountId,
      partition: env.partition,
      sqsEndpoint: awsEndpoint,
    };
    const draft = loadStack(assembly, { ...context, apiEndpoint: () => '' });
    const apiServers = new Map<string, { server: Server; url: string }>();
    let nextPort = options.apiPort ?? 3000;
    for (const api of draft.apis) {
      const bound = await bindServer(nextPort, host);
      closers.push(() => closeServer(bound.server));
      apiServers.set(api.id, bound);
      if (nextPort !== 0) nextPort += 1;
    }
    const stack = loadStack(assembly, {
      ...context,
      apiEndpoint: (apiId) => apiServers.get(apiId)?.url ?? '',
    });

    if (chaos) {
      // A target that names no function is a typo: say so rather than inject nothing.
      for (const rule of chaos.settings.rules) {
        const { target } = rule;
        if (target === undefined) continue;
        if (stack.functions.some((fn) => fn.name.includes(target) || fn.logicalId.includes(target)))
          continue;
        throw new ChaosSettingError(
          `chaos ${rule.kind}:${target} matches no function; the stack has ${stack.functions.map((fn) => fn.logicalId).join(', ')}`,
        );
      }
    }
    const functions = stack.functions.map((fn) =>
      withLocalEnvironment(fn, env, awsEndpoint, credentials),
    );

    const dynamodb = await LocalDynamoDb.start({
      env,
      dataDir: options.dataDir,
      endpoint: options.dynamodbEndpoint,
      ttlSweepIntervalMs: options.ttlSweepIntervalMs,
      log,
    });
    closers.push(() => dynamodb.close());
    await dynamodb.ensureTables(stack.tables);

    const sqs = new LocalSqs({ env, queues: stack.queues, log });
    closers.push(() => sqs.close());

    // Each runtime on its own Node major when that binary is here (local/lambda/runner.ts).
    const runners = new Map<string, RunnerChoice>(
      stack.functions.map((fn) => [fn.runtime, chooseRunner(fn.runtime)]),
    );
    const lambda = new LocalLambda({
      env,
      functions,
      log,
      queues: sqs,
      accountConcurrency: options.accountConcurrency,
      chaos,
      runnerFor: (spec) => runners.get(spec.runtime)?.runner ?? chooseRunner(spec.runtime).runner,
    });
    closers.push(() => lambda.close());

    const events = new LocalEventBridge({
      env,
      buses: stack.buses,
      rules: stack.rules,
      lambda,
      queues: sqs,
      log,
      chaos,
    });
    closers.push(() => events.close());
    lambda.setDestinations({ queues: sqs, events });

    const secretsManager = new LocalSecretsManager({
      secrets: stack.secrets,
      values: options.secretValues,
      secretsFile:
        options.secretsFile ??
        (options.dataDir ? join(options.dataDir, 'secrets.json') : undefined),
    });

    for (const service of [dynamodb, sqs, events.service(), lambda.service(), secretsManager]) {
      endpoint.register(service);
    }
    authenticateAws = async (request) => {
      const result = await verifyRequest(
        {
          method: request.method,
          rawPath: request.rawPath,
          rawQuery: request.rawQuery,
          headers: request.headers,
          body: request.body,
        },
        credentials,
      );
      return result.ok
        ? { ok: true, caller: result.credential }
        : { ok: false, status: result.status, code: result.code, message: result.message };
    };

    const notes = describeDifferences(stack, events, runners);
    notes.unshift(
      options.dynamodbEndpoint
        ? `DynamoDB: the external endpoint ${options.dynamodbEndpoint}`
        : options.dataDir
          ? `DynamoDB: embedded (dynalite), kept on disk in ${options.dataDir}`
          : 'DynamoDB: embedded (dynalite), in memory',
      'DynamoDB TTL: expired items are deleted by a local sweep every minute (AWS: within about two days); reads filter on the TTL attribute either way.',
    );
    if (chaos) {
      notes.push(
        `Chaos: injecting faults ${formatChaosRules(chaos.settings.rules)} (seed ${chaos.seed}; --chaos-seed ${chaos.seed} replays the same draws)`,
      );
    }
    log.line('local', notes[0] ?? '');
    const extensions = await startExtensions(options.extensions ?? [], { env, events, log });
    closers.push(() => extensions.close());
    const apis: { name: string; id: string; url: string }[] = [];
    const httpApis = new Map<string, LocalHttpApi>();
    const unsignedHint = `The local cloud, like API Gateway with IAM auth, needs SigV4-signed requests; the keys are ${options.signingKeysAt ?? "the local cloud's users (RunningLocalCloud.users)"} (curl --aws-sigv4 "aws:amz:${env.region}:execute-api" --user KEY:SECRET ...)`;
    for (const spec of stack.apis) {
      const api = new LocalHttpApi({ spec, lambda, credentials, env, log, unsignedHint });
      httpApis.set(spec.name, api);
      const bound = apiServers.get(spec.id);
      if (!bound) continue;
      bound.server.on('request', (req, res) => extensions.serve(api, req, res));
      apis.push({ name: spec.name, id: spec.id, url: bound.url });
      for (const feature of [...api.unsupportedFeatures, ...api.warnings]) {
        notes.push(`API ${spec.name}: ${feature}`);
      }
    }
    notes.push(...extensions.notes);

    const firstApi = apis[0];
    return {
      stackName: stack.stackName,
      region: env.region,
      accountId: env.accountId,
      apiUrl: firstApi?.url ?? '',
      apis,
      awsEndpoint,
      users: credentials.users,
      outputs: stack.outputs(),
      notes,
      startupMs: performance.now() - startedAt,
      services: { lambda, events, sqs, dynamodb, secretsManager },
      chaosReport: () => chaos?.report(),
      updateFunctionCode: (functionNameOrArn, codeDir) =>
        lambda.updateFunctionCode(functionNameOrArn, codeDir),
      usage: () => ({
        at: new Date().toISOString(),
        dynamodb: dynamodb.usage(),
        eventbridge: events.usage(),
        lambda: lambda.usage(),
        httpApis: Object.fromEntries([...httpApis].map(([name, api]) => [name, api.usage()])),
        secretsManager: secretsManager.usage(),
        notEmulated: endpoint.notEmulated(),
      }),
      stop: async () => {
        const report = deadLetterReport(sqs);
        await closeAll();
        return report;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The function's own environment plus what Lambda and the local cloud add. */
function withLocalEnvironment(
  fn: FunctionSpec,
  env: LocalEnv,
  awsEndpoint: string,
  credentials: LocalCredentials,
): FunctionSpec {
  const credential = credentials.issueForFunction(fn);
  return {
    ...fn,
    environment: {
      ...fn.environment,
      AWS_ENDPOINT_URL: awsEndpoint,
      AWS_ACCESS_KEY_ID: credential.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credential.secretAccessKey,
      AWS_SESSION_TOKEN: credential.sessionToken ?? '',
      AWS_REGION: env.region,
      AWS_DEFAULT_REGION: env.region,
      // Like SAM's AWS_SAM_LOCAL: lets code relax what only makes sense on one machine
      // (eventjobs allows http callbacks to localhost with it).
      AWS_LOCAL_CLOUD: 'true',
    },
  };
}

/** Everything in the template that runs differently here, said once at startup. */
function describeDifferences(
  stack: LoadedStack,
  events: LocalEventBridge,
  runners: ReadonlyMap<string, RunnerChoice>,
): string[] {
  const notes: string[] = [];
  if (stack.notEmulated.size > 0) {
    const list = [...stack.notEmulated].map(([type, count]) => `${type} (${count})`).join(', ');
    notes.push(`Not emulated (present in the template, no local effect): ${list}`);
  }
  for (const [type, reason] of stack.noLocalEffect) notes.push(`${type}: ${reason}`);
  for (const target of events.unsupportedTargets()) {
    notes.push(
      `Rule ${target.ruleName} target ${target.targetId} (${target.targetArn}) is not emulated: ${target.reason}`,
    );
  }
  if (runners.size > 0) notes.push(describeRunners(runners));
  return notes;
}

function deadLetterReport(sqs: LocalSqs): string {
  const lines: string[] = [];
  for (const { queue, messages } of sqs.contents()) {
    if (messages.length === 0) continue;
    lines.push(`Queue ${queue.name} holds ${messages.length} message(s):`);
    for (const message of messages.slice(0, 20)) {
      const attributes = Object.entries(message.messageAttributes)
        .map(([name, value]) => `${name}=${value.StringValue ?? ''}`)
        .join(' ');
      lines.push(`  ${message.messageId} ${attributes} ${message.body.slice(0, 300)}`);
    }
    if (messages.length > 20) lines.push(`  ... and ${messages.length - 20} more`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

async function bindServer(port: number, host: string): Promise<{ server: Server; url: string }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${host}:${address.port}` };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
