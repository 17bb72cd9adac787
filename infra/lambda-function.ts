/**
 * How every eventjobs function is built, whichever construct owns it: bundling,
 * JSON logs to a log group of its own, active tracing, and a role of its own
 * with no managed policy. Also the two helpers the constructs share for IAM
 * statements and cdk-nag acknowledgements.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct, IConstruct } from 'constructs';

/** The repository root: where `functions/` and `package-lock.json` live. */
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The package the bundles replace, and what replaces it (relative to `PROJECT_ROOT`). */
const SDK_CREDENTIAL_CHAIN = '@aws-sdk/credential-provider-node';
const SDK_CREDENTIAL_CHAIN_SUBSTITUTE = './functions/shared/sdk-credentials.ts';

/** The Node built-ins the bundles import, each read through `functions/node-builtins/` (see its README). */
const NODE_BUILTINS = [
  'async_hooks',
  'crypto',
  'dns',
  'fs',
  'fs/promises',
  'http',
  'https',
  'net',
  'os',
  'path',
  'process',
  'stream',
  'zlib',
] as const;

/** esbuild `--alias` values: the substitutes, as paths from `PROJECT_ROOT` (where CDK runs esbuild). */
const BUNDLE_ALIASES = [
  `${SDK_CREDENTIAL_CHAIN}=${SDK_CREDENTIAL_CHAIN_SUBSTITUTE}`,
  ...NODE_BUILTINS.map(
    (name) => `node:${name}=./functions/node-builtins/${name.replace('/', '-')}.cjs`,
  ),
];

/** What all functions of a stack share. */
export interface FunctionSettings {
  readonly runtime: lambda.Runtime;
  readonly architecture: lambda.Architecture;
  readonly logRetention: logs.RetentionDays;
}

/** One function: its id, its handler folder and what sets it apart. */
export interface EventJobsFunctionSpec {
  readonly id: string;
  /** The folder under `functions/` that holds its `handler.ts`, e.g. `worker` or `stream/recorder`. */
  readonly dir: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  readonly statements: readonly iam.PolicyStatement[];
  /** Failure handling and concurrency; everything else is alike for all functions. */
  readonly options?: Pick<
    nodejs.NodejsFunctionProps,
    | 'retryAttempts'
    | 'maxEventAge'
    | 'onFailure'
    | 'deadLetterQueue'
    | 'reservedConcurrentExecutions'
  >;
}

export function createFunction(
  scope: Construct,
  settings: FunctionSettings,
  spec: EventJobsFunctionSpec,
): nodejs.NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${spec.id}Logs`, {
    retention: settings.logRetention,
  });
  // No managed policy (AWSLambdaBasicExecutionRole would allow writing to any log group):
  // the role may write to this function's log group and use what `spec.statements` name.
  const role = new iam.Role(scope, `${spec.id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `eventjobs ${spec.dir} function`,
  });
  logGroup.grantWrite(role);
  for (const statement of spec.statements) role.addToPolicy(statement);

  const fn = new nodejs.NodejsFunction(scope, spec.id, {
    entry: path.join(PROJECT_ROOT, 'functions', spec.dir, 'handler.ts'),
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    description: spec.description,
    runtime: settings.runtime,
    architecture: settings.architecture,
    memorySize: spec.memorySize,
    timeout: spec.timeout,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    tracing: lambda.Tracing.ACTIVE,
    environment: {
      ...spec.environment,
      // Stack traces point into the TypeScript sources through the bundled source map.
      NODE_OPTIONS: '--enable-source-maps',
    },
    // Each bundle is held to 350 KB and 100 ms of cold init (`npm run bench:bundles`). The
    // AWS SDK clients are most of both; hence no credential chain beyond the environment
    // and built-ins without ES module facades (both below), Lambda Invoke without
    // @aws-sdk/client-lambda (functions/shared/lambda-invoke.ts) and a small validator
    // instead of zod (functions/shared/schema.ts).
    bundling: {
      format: nodejs.OutputFormat.ESM,
      logLevel: nodejs.LogLevel.WARNING,
      // Node 20 syntax, so the same bundle runs on Lambda and on the local cloud.
      target: 'node20',
      mainFields: ['module', 'main'],
      minify: true,
      // Error class names are part of what callers see (`error.name`); minifying must keep them.
      keepNames: true,
      sourceMap: true,
      sourcesContent: false,
      // Bundle the AWS SDK too: the runtime's SDK version is not the one tested, and the
      // local cloud has none at all.
      externalModules: [],
      // No `require` banner (`createRequire` from node:module, a millisecond or two of every
      // cold start): no bundled dependency calls `require` for a Node built-in today. One that
      // did would make esbuild emit its "Dynamic require of ... is not supported" shim, which
      // test/infra/async-jobs.test.ts looks for; give such a bundle the banner back then.
      esbuildArgs: {
        // The SDK clients' default credential chain, cut to the one link Lambda and the
        // local cloud use (environment variables): see functions/shared/sdk-credentials.ts.
        // And Node built-ins read without an ES module facade: functions/node-builtins/.
        '--alias': BUNDLE_ALIASES,
      },
      forceDockerBundling: false,
    },
    ...spec.options,
  });

  // Tracing.ACTIVE adds xray:PutTraceSegments and xray:PutTelemetryRecords on "*".
  const defaultPolicy = role.node.tryFindChild('DefaultPolicy');
  if (defaultPolicy) {
    acknowledge(
      defaultPolicy,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level ' +
        'permissions, so active tracing needs Resource "*"; every other statement names ' +
        'exact ARNs.',
    );
  }
  return fn;
}

export function allow(actions: string[], resources: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ effect: iam.Effect.ALLOW, actions, resources });
}

/**
 * Acknowledges one cdk-nag finding on the narrowest construct: the CloudFormation
 * resource itself when `construct` is an L2 wrapper.
 */
export function acknowledge(construct: IConstruct, id: string, reason: string): void {
  Validations.of(construct.node.defaultChild ?? construct).acknowledge({ id, reason });
}
