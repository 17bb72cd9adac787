/**
 * How every eventjobs function is built, whichever construct owns it: bundling,
 * JSON logs to a log group of its own, active tracing, and a role of its own
 * with no managed policy. Also the two helpers the constructs share for IAM
 * statements and cdk-nag acknowledgements.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AssetHashType, DockerImage, type Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct, IConstruct } from 'constructs';
import { buildSync } from 'esbuild';
import {
  BUNDLE_FILE,
  BUNDLE_METADATA_KEY,
  type BundleSpec,
  bundleOptions,
  handlerEntry,
} from './bundling';

/** What all functions of a stack share. */
export interface FunctionSettings {
  readonly runtime: lambda.Runtime;
  readonly architecture: lambda.Architecture;
  readonly logRetention: logs.RetentionDays;
}

/** One function: its id, its handler folder and what sets it apart. */
export interface EventJobsFunctionSpec extends BundleSpec {
  readonly id: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  readonly statements: readonly iam.PolicyStatement[];
  /** Failure handling and concurrency; everything else is alike for all functions. */
  readonly options?: Pick<
    lambda.FunctionProps,
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
): lambda.Function {
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

  const fn = new lambda.Function(scope, spec.id, {
    code: bundledCode(spec),
    handler: 'index.handler',
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
    ...spec.options,
  });
  (fn.node.defaultChild as lambda.CfnFunction).addMetadata(BUNDLE_METADATA_KEY, {
    dir: spec.dir,
    // Relative to the app's directory (where cdk runs it), so the template is the same on every machine.
    ...(spec.jobTypesEntry === undefined
      ? {}
      : {
          jobTypesEntry: path.relative(process.cwd(), spec.jobTypesEntry).split(path.sep).join('/'),
        }),
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

/**
 * The function's asset: its bundle, built by esbuild in this process with the
 * options `eventjobs dev` also uses (infra/bundling.ts). Docker is never used;
 * the image is only the placeholder `BundlingOptions` requires.
 */
function bundledCode(spec: BundleSpec): lambda.Code {
  return lambda.Code.fromAsset(path.dirname(handlerEntry(spec.dir)), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('placeholder-never-pulled'),
      local: {
        tryBundle(outputDir: string): boolean {
          const result = buildSync(bundleOptions(spec, outputDir));
          if (!result.outputFiles && !existsSync(path.join(outputDir, BUNDLE_FILE))) {
            throw new Error(`esbuild wrote no ${BUNDLE_FILE} for functions/${spec.dir}`);
          }
          return true;
        },
      },
    },
  });
}

export function allow(actions: string[], resources: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ effect: iam.Effect.ALLOW, actions, resources });
}

/**
 * `allow` on DynamoDB items whose partition key matches one of `patterns` only
 * (`dynamodb:LeadingKeys`, `*` a wildcard): IAM's way to narrow a function to
 * its own items of a shared table.
 */
export function allowOnKeys(
  actions: string[],
  resources: string[],
  patterns: string[],
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    effect: iam.Effect.ALLOW,
    actions,
    resources,
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': patterns } },
  });
}

/**
 * Acknowledges one cdk-nag finding on the narrowest construct: the CloudFormation
 * resource itself when `construct` is an L2 wrapper.
 */
export function acknowledge(construct: IConstruct, id: string, reason: string): void {
  Validations.of(construct.node.defaultChild ?? construct).acknowledge({ id, reason });
}
