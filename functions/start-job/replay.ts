/**
 * Replaying a job: a new run of the caller's finished job, with what its
 * newest retained outcome recorded (type, input, `timeoutSeconds`, callback),
 * started exactly as `POST /jobs` starts one (`startJob`): the same checks,
 * limits, queueing and idempotency by name. The new run records where it came
 * from (`startedBy: { kind: 'replay', jobName, runId }`).
 */
import * as z from 'zod/mini';
import { BadRequestError, ConflictError, NotFoundError } from '../../core/errors';
import { isJobName } from '../../core/events';
import { type ActiveJob, activeView, type JobOutcome } from '../../core/model';
import type { StartedBy } from '../../core/triggers';
import { log } from '../shared/log';
import { validate } from '../shared/validate';
import { issueDetails, type StartedJob, type StartJobDeps, startJob } from './service';

/** The largest `POST /jobs/{name}/replay` body: it holds a name at most. */
export const MAX_REPLAY_BODY_BYTES = 4 * 1024;

const replayRequestSchema = z.strictObject({ name: z.optional(z.string()) });

export interface ReplayRequest {
  /** The new run's name. @default - a generated one (a ULID), as `POST /jobs` names an unnamed job */
  readonly name?: string;
}

/** Validates a replay body: `{}` or `{ "name": "<job name>" }`, nothing else. */
export function parseReplayRequest(body: unknown): ReplayRequest {
  const parsed = validate(replayRequestSchema, body);
  if (!parsed.success) {
    throw new BadRequestError('InvalidBody', 'The request body is not a valid replay request', {
      cause: parsed.error,
      details: issueDetails(parsed.error),
    });
  }
  const { name } = parsed.data;
  if (name !== undefined && !isJobName(name)) {
    throw new BadRequestError(
      'InvalidJobName',
      'The job name must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not only dots',
    );
  }
  return name === undefined ? {} : { name };
}

/** The `POST /jobs` body that starts the outcome's run again. */
export function replayStartBody(outcome: JobOutcome, name: string | undefined) {
  return {
    type: outcome.type,
    ...(name !== undefined ? { name } : {}),
    input: outcome.input,
    ...(outcome.timeoutSeconds !== undefined ? { timeoutSeconds: outcome.timeoutSeconds } : {}),
    ...(outcome.callbackUrl !== undefined ? { callback: { url: outcome.callbackUrl } } : {}),
  };
}

/**
 * Starts a new run of `owner`'s finished job `jobName`. Another owner's job
 * is not seen at all (jobs are keyed by owner): it is `404`, as for GET.
 */
export async function replayJob(
  owner: string,
  jobName: string,
  body: unknown,
  deps: StartJobDeps,
): Promise<StartedJob> {
  const request = parseReplayRequest(body);
  const nowSeconds = Math.floor(deps.now().getTime() / 1000);
  const [active, outcome] = await Promise.all([
    deps.store.getActive(owner, jobName),
    deps.store.getLatestOutcome(owner, jobName, nowSeconds),
  ]);
  if (active && !isThisReplayAgain(active, outcome, jobName, request)) {
    throw new ConflictError(
      'JobStillRunning',
      `The job "${jobName}" is still ${active.status}; replay it once it has finished`,
      { extra: { job: activeView(active) } },
    );
  }
  if (!outcome) {
    throw new NotFoundError(
      `No finished job named "${jobName}" is retained (it never existed, or its outcome expired)`,
    );
  }
  const startedBy: StartedBy = { kind: 'replay', jobName, runId: outcome.runId };
  const started = await startJob(owner, replayStartBody(outcome, request.name), deps, startedBy);
  log.info('Job replayed', {
    replayOf: { jobName, runId: outcome.runId },
    jobName: started.jobName,
    runId: started.runId,
    created: started.created,
  });
  return started;
}

/**
 * The active run of the name is this very replay, started earlier under the
 * job's own name (a retried request whose answer was lost): `startJob` then
 * answers it as an idempotent repeat (200) instead of a conflict.
 */
function isThisReplayAgain(
  active: ActiveJob,
  outcome: JobOutcome | undefined,
  jobName: string,
  request: ReplayRequest,
): boolean {
  return (
    request.name === jobName &&
    outcome !== undefined &&
    active.startedBy?.kind === 'replay' &&
    active.startedBy.jobName === jobName &&
    active.startedBy.runId === outcome.runId
  );
}
