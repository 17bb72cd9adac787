/**
 * What an app gives {@link AsyncJobs}: the job types module and the settings
 * of its functions, API and table, each with its default. The defaults are
 * applied, and the values checked, in `validate-async-jobs-props.ts`.
 */

import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { OwnerModel } from '../core/limits';

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
   * Reserved concurrency of the worker, which is also the stack's limit of runs at
   * once: jobs beyond it are QUEUED by eventjobs (fairly between owners) rather than
   * left to Lambda's asynchronous queue, and the account keeps the rest of its
   * concurrency for the API, completion and the sweeper, so long jobs can never
   * throttle `POST /jobs`. The account must have this many executions to spare above
   * the 100 AWS keeps unreserved (`docs/limits.md` has the arithmetic).
   *
   * @default 100
   */
  readonly workerReservedConcurrency?: number;
  /**
   * Who owns a caller's jobs, and so whose jobs it may see and cancel and whose limits
   * its runs count against. `'principal'`: the IAM user, or the role for all sessions
   * of an assumed role (a Lambda's, a CI runner's or an instance's session names change
   * with each credential refresh, and their jobs must not be lost with them).
   * `'session'`: each assumed-role session on its own; choose it when people sign in
   * through IAM Identity Center, whose sessions of one role are named after each
   * person, so each gets a job space of their own.
   *
   * @default 'principal'
   */
  readonly ownerModel?: OwnerModel;
  /**
   * Runs at once per owner (IAM identity). Starts over it are accepted and QUEUED,
   * first in, first out, and start when one of the owner's runs ends.
   *
   * @default 10
   */
  readonly ownerConcurrency?: number;
  /**
   * Jobs one owner may have QUEUED; a start beyond it answers `429 QueueFull` with
   * `Retry-After`.
   *
   * @default 1000
   */
  readonly maxQueuedPerOwner?: number;
  /**
   * Runs at once per job type, across owners, by type name: sets or overrides a
   * type's own `concurrency`. Each name must be a type of `jobTypes.entry`.
   *
   * @default - each type's own `concurrency`, if it sets one
   */
  readonly typeConcurrency?: Readonly<Record<string, number>>;
  /**
   * How long a run may wait QUEUED; then the sweeper ends it TIMED_OUT.
   *
   * @default Duration.days(1)
   */
  readonly queueTimeout?: Duration;
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
   * @default Duration.seconds(29) - just under the HTTP API's 30 s integration timeout
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
