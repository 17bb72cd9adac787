/**
 * The steps of starting the local cloud (cloud.ts), in the order they run:
 * the AWS endpoint and the API ports first (the template's URLs resolve to
 * them), then the stores, the functions and the bus, then the HTTP APIs.
 * Each step registers how to undo itself with `Closers`, so a failed start
 * stops what it had started.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { LocalHttpApi } from './apigw';
import { type LoadedStack, loadStack, type readAssembly } from './assembly/stack';
import { type Authenticate, AwsEndpoint } from './aws-endpoint';
import { type Chaos, ChaosSettingError, formatChaosRules } from './chaos';
import type { LocalCloudOptions } from './cloud';
import type { FunctionSpec, LocalEnv, LogSink } from './contracts';
import type { LocalCredentials } from './credentials';
import { LocalDynamoDb } from './dynamodb';
import { LocalEventBridge } from './eventbridge/bus';
import type { StartedExtensions } from './extensions';
import { chooseRunner, describeRunners, LocalLambda, type RunnerChoice } from './lambda';
import { LocalScheduler } from './scheduler';
import { templateScheduleNotes } from './scheduler/template';
import { LocalSecretsManager } from './secretsmanager';
import { verifyRequest } from './sigv4';
import { LocalSqs } from './sqs';

export interface LocalServices {
  readonly lambda: LocalLambda;
  readonly events: LocalEventBridge;
  readonly sqs: LocalSqs;
  readonly dynamodb: LocalDynamoDb;
  readonly secretsManager: LocalSecretsManager;
  readonly scheduler: LocalScheduler;
}

/** What was started, stopped in the reverse order; a failure to stop one does not keep the others running. */
export class Closers {
  readonly #closers: Array<() => Promise<void> | void> = [];
  readonly #log: LogSink;

  constructor(log: LogSink) {
    this.#log = log;
  }

  push(close: () => Promise<void> | void): void {
    this.#closers.push(close);
  }

  async closeAll(): Promise<void> {
    for (const close of this.#closers.reverse()) {
      try {
        await close();
      } catch (error) {
        this.#log.line('local', `error while stopping: ${String(error)}`);
      }
    }
    this.#closers.length = 0;
  }
}

/**
 * The AWS endpoint, listening: requests are refused as "starting" until
 * `authenticateWith` gives it the credentials to check signatures against.
 */
export async function startAwsEndpoint(
  port: number,
  host: string,
  log: LogSink,
  closers: Closers,
): Promise<{
  readonly endpoint: AwsEndpoint;
  readonly url: string;
  authenticateWith(credentials: LocalCredentials): void;
}> {
  let authenticate: Authenticate = () => ({
    ok: false,
    status: 503,
    code: 'ServiceUnavailable',
    message: 'The local cloud is starting',
  });
  const endpoint = new AwsEndpoint((request) => authenticate(request), log);
  const url = await endpoint.listen(port, host);
  closers.push(() => endpoint.close());
  return {
    endpoint,
    url,
    authenticateWith: (credentials) => {
      authenticate = async (request) => {
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
    },
  };
}

/**
 * The stack, with its API endpoints on ports bound here (one per API, from
 * `apiPort` on): the template is read once to count the APIs, and again with
 * their URLs.
 */
export async function bindStack(
  assembly: ReturnType<typeof readAssembly>,
  env: LocalEnv,
  awsEndpoint: string,
  apiPort: number,
  host: string,
  closers: Closers,
): Promise<{
  readonly stack: LoadedStack;
  readonly apiServers: ReadonlyMap<string, { server: Server; url: string }>;
}> {
  const context = {
    region: env.region,
    accountId: env.accountId,
    partition: env.partition,
    sqsEndpoint: awsEndpoint,
  };
  const draft = loadStack(assembly, { ...context, apiEndpoint: () => '' });
  const apiServers = new Map<string, { server: Server; url: string }>();
  let nextPort = apiPort;
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
  return { stack, apiServers };
}

/** A chaos target that names no function is a typo: say so rather than inject nothing. */
export function checkChaosTargets(chaos: Chaos, stack: LoadedStack): void {
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

/** DynamoDB (tables ready), SQS, Lambda, EventBridge, Secrets Manager and Scheduler, wired to each other. */
export async function startServices(
  setup: {
    readonly options: LocalCloudOptions;
    readonly env: LocalEnv;
    readonly log: LogSink;
    readonly chaos: Chaos | undefined;
    readonly stack: LoadedStack;
    readonly functions: readonly FunctionSpec[];
    readonly runners: ReadonlyMap<string, RunnerChoice>;
  },
  closers: Closers,
): Promise<LocalServices> {
  const { options, env, log, chaos, stack, runners } = setup;
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

  const lambda = new LocalLambda({
    env,
    functions: setup.functions,
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
      options.secretsFile ?? (options.dataDir ? join(options.dataDir, 'secrets.json') : undefined),
  });
  const scheduler = startScheduler({ options, env, log, stack, lambda }, closers);
  return { lambda, events, sqs, dynamodb, secretsManager, scheduler };
}

/**
 * EventBridge Scheduler, with the template's schedules and those read back
 * from the data directory; they fire once `start()` is called, when the cloud
 * is up.
 */
function startScheduler(
  setup: {
    readonly options: LocalCloudOptions;
    readonly env: LocalEnv;
    readonly log: LogSink;
    readonly stack: LoadedStack;
    readonly lambda: LocalLambda;
  },
  closers: Closers,
): LocalScheduler {
  const { options, env, log, stack, lambda } = setup;
  const scheduler = new LocalScheduler({
    env,
    lambda,
    log,
    groups: stack.scheduleGroups,
    schedules: stack.schedules,
    stateFile: options.dataDir ? join(options.dataDir, 'scheduler.json') : undefined,
  });
  closers.push(() => scheduler.close());
  return scheduler;
}

/** Each runtime on its own Node major when that binary is here (local/lambda/runner.ts). */
export function chooseRunners(stack: LoadedStack): Map<string, RunnerChoice> {
  return new Map(stack.functions.map((fn) => [fn.runtime, chooseRunner(fn.runtime)]));
}

/** The function's own environment plus what Lambda and the local cloud add. */
export function withLocalEnvironment(
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

/** What runs differently here, said once at startup: the stores first, chaos last. */
export function startupNotes(
  options: LocalCloudOptions,
  stack: LoadedStack,
  events: LocalEventBridge,
  runners: ReadonlyMap<string, RunnerChoice>,
  chaos: Chaos | undefined,
): string[] {
  const notes = describeDifferences(stack, events, runners);
  notes.unshift(
    options.dynamodbEndpoint
      ? `DynamoDB: the external endpoint ${options.dynamodbEndpoint}`
      : options.dataDir
        ? `DynamoDB: embedded (dynalite), kept on disk in ${options.dataDir}`
        : 'DynamoDB: embedded (dynalite), in memory',
    'DynamoDB TTL: expired items are deleted by a local sweep every minute (AWS: within about two days); reads filter on the TTL attribute either way.',
  );
  const scheduleScale = options.scheduleScale ?? options.timeScale ?? 1;
  if (stack.schedules.length > 0 && scheduleScale !== 1) {
    notes.push(
      `Scheduler: the template's schedules run on a virtual clock, ${Number((1 / scheduleScale).toFixed(2))} times as fast as real time from the start (schedule scale ${scheduleScale}); schedules created through the API run in real time`,
    );
  }
  if (chaos) {
    notes.push(
      `Chaos: injecting faults ${formatChaosRules(chaos.settings.rules)} (seed ${chaos.seed}; --chaos-seed ${chaos.seed} replays the same draws)`,
    );
  }
  return notes;
}

/** Everything in the template that runs differently here. */
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
  const isTemplateFunction = (arn: string) =>
    stack.functions.some((fn) => arn === fn.arn || arn.startsWith(`${fn.arn}:`));
  notes.push(...templateScheduleNotes(stack.schedules, isTemplateFunction));
  if (runners.size > 0) notes.push(describeRunners(runners));
  return notes;
}

/**
 * An HTTP API on each bound port, behind the extensions; adds to `notes`
 * what each API does not support.
 */
export function serveHttpApis(
  setup: {
    readonly stack: LoadedStack;
    readonly apiServers: ReadonlyMap<string, { server: Server; url: string }>;
    readonly lambda: LocalLambda;
    readonly credentials: LocalCredentials;
    readonly env: LocalEnv;
    readonly log: LogSink;
    readonly signingKeysAt: string | undefined;
    readonly extensions: Pick<StartedExtensions, 'serve'>;
  },
  notes: string[],
): {
  readonly apis: { name: string; id: string; url: string }[];
  readonly httpApis: Map<string, LocalHttpApi>;
} {
  const { stack, apiServers, lambda, credentials, env, log, extensions } = setup;
  const apis: { name: string; id: string; url: string }[] = [];
  const httpApis = new Map<string, LocalHttpApi>();
  const unsignedHint = `The local cloud, like API Gateway with IAM auth, needs SigV4-signed requests; the keys are ${setup.signingKeysAt ?? "the local cloud's users (RunningLocalCloud.users)"} (curl --aws-sigv4 "aws:amz:${env.region}:execute-api" --user KEY:SECRET ...)`;
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
  return { apis, httpApis };
}

export function deadLetterReport(sqs: LocalSqs): string {
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
