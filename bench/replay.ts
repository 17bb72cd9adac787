/**
 * The embedded DynamoDB's own ceiling for the operations a job makes: the
 * requests captured from real jobs are replayed, with fresh job names and run
 * ids, straight into the local DynamoDB service (no HTTP, no signing, no
 * functions), each job's requests in their original order, many jobs at once.
 */
import type { AwsRequest, AwsResponse } from '../local/contracts';
import type { CaptureSummary, CeilingFigures } from './protocol';

export interface CapturedRequest {
  readonly operation: string;
  /** The `x-amz-target` header, e.g. `DynamoDB_20120810.PutItem`. */
  readonly target: string;
  readonly body: string;
}

export interface CapturedJob {
  readonly jobName: string;
  readonly runId: string;
  readonly requests: CapturedRequest[];
}

type Handle = (request: AwsRequest) => Promise<AwsResponse>;

export function summarizeCapture(jobs: readonly CapturedJob[]): CaptureSummary {
  const totals: Record<string, number> = {};
  for (const job of jobs) {
    for (const request of job.requests) {
      totals[request.operation] = (totals[request.operation] ?? 0) + 1;
    }
  }
  const perJob: Record<string, number> = {};
  for (const [operation, count] of Object.entries(totals)) {
    perJob[operation] = jobs.length ? count / jobs.length : 0;
  }
  return { jobs: jobs.length, perJob };
}

function renamed(body: string, from: CapturedJob, jobName: string, runId: string): string {
  return body.split(from.jobName).join(jobName).split(from.runId).join(runId);
}

export async function replayCeiling(
  handle: Handle,
  templates: readonly CapturedJob[],
  options: { readonly jobs: number; readonly concurrency: number },
): Promise<CeilingFigures> {
  if (templates.length === 0) throw new Error('nothing was captured to replay');
  const tag = Date.now().toString(36);
  let next = 0;
  let requests = 0;
  let refused = 0;
  const runJob = async (n: number) => {
    const template = templates[n % templates.length] as CapturedJob;
    const jobName = `bench-ceil-${tag}-${n}`;
    const runId = `${template.runId.slice(0, -8)}${String(n).padStart(8, '0')}`;
    for (const request of template.requests) {
      const response = await handle({
        method: 'POST',
        path: '/',
        query: new URLSearchParams(),
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': request.target,
        },
        body: Buffer.from(renamed(request.body, template, jobName, runId)),
        operation: request.operation,
      });
      requests += 1;
      if (response.status !== 200) refused += 1;
    }
  };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.max(1, options.concurrency) }, async () => {
      for (let n = next++; n < options.jobs; n = next++) await runJob(n);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    jobs: options.jobs,
    concurrency: options.concurrency,
    requests,
    refused,
    seconds,
    requestsPerSecond: requests / seconds,
    jobsPerSecond: options.jobs / seconds,
  };
}
