/**
 * The demo's story, against a running local cloud: start a handful of jobs
 * over the signed HTTP API, follow each one's event stream to its end,
 * cancel one mid-run, and let a webhook receiver verify every outcome's
 * signature. Answers what happened to each job, for the summary.
 */

import { paint, type Style, type Writer } from '../cli/render';
import { watchJob } from '../cli/watch';
import type { JobEvent } from '../client/events';
import { SignedHttp as ApiClient, type FetchFn, jobPath } from '../client/http';
import { sseSource } from '../client/sse';
import type { Target } from '../client/target';
import { Board, type Outcome, type Phase } from './board';
import { startWebhookReceiver, type WebhookDelivery } from './webhook-receiver';

export interface DemoJob {
  readonly name: string;
  readonly type: 'sleep' | 'hash' | 'echo' | 'fail';
  readonly input: unknown;
  /** How the job must end; any other ending fails the demo. */
  readonly expect: Outcome;
  /** Cancel it (`DELETE /jobs/{name}`) once its first progress report arrives. */
  readonly cancelMidRun?: boolean;
}

export const DEMO_JOBS: readonly DemoJob[] = [
  { name: 'sleep-2s', type: 'sleep', input: { seconds: 2 }, expect: 'SUCCEEDED' },
  { name: 'sleep-3s', type: 'sleep', input: { seconds: 3 }, expect: 'SUCCEEDED' },
  { name: 'sleep-4s', type: 'sleep', input: { seconds: 4 }, expect: 'SUCCEEDED' },
  { name: 'hash-256mib', type: 'hash', input: { megabytes: 256 }, expect: 'SUCCEEDED' },
  {
    name: 'fail-on-purpose',
    type: 'fail',
    input: { message: 'the disk is full (on purpose)' },
    expect: 'FAILED',
  },
  {
    name: 'cancel-me',
    type: 'sleep',
    input: { seconds: 20 },
    expect: 'CANCELLED',
    cancelMidRun: true,
  },
];

export interface ScenarioResult {
  readonly name: string;
  readonly type: string;
  readonly expected: Outcome;
  /** The terminal status, or ERROR when the stream failed, or RUNNING/QUEUED when interrupted. */
  readonly outcome: Phase;
  readonly durationMs?: number;
  /** The error, cancel reason or a short result. */
  readonly detail?: string;
  /** Whether its webhook arrived with a valid signature. */
  readonly webhook: 'verified' | 'refused' | 'missing' | 'none';
}

export interface ScenarioParams {
  readonly apiUrl: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The stack's webhook signing secret; without one no callbacks are asked for. */
  readonly webhookSecret?: string;
  readonly stdout: Writer;
  readonly style: Style;
  /** Redraw the rows in place (a terminal). */
  readonly live: boolean;
  readonly signal: AbortSignal;
  /** @default - the global fetch */
  readonly fetch?: FetchFn;
  /** The longest the jobs may take before the demo gives up on them. @default 45000 */
  readonly timeoutMs?: number;
}

const WEBHOOK_WAIT_MS = 15_000;

export async function runScenario(params: ScenarioParams): Promise<ScenarioResult[]> {
  const { stdout, style, signal } = params;
  const target: Target = {
    kind: 'local',
    apiUrl: params.apiUrl,
    region: params.region,
    credentials: async () => params.credentials,
    description: `the demo's local cloud at ${params.apiUrl}`,
  };
  const client = new ApiClient(target, params.fetch ?? ((input, init) => fetch(input, init)));
  const board = new Board(stdout, style, params.live);
  const dim = (text: string) => paint(style, 'dim', text);

  const receiver = params.webhookSecret
    ? await startWebhookReceiver(params.webhookSecret, (delivery) =>
        board.noteFor(delivery.jobName, describeDelivery(style, delivery)),
      )
    : undefined;

  stdout.write(
    `${paint(style, 'bold', `Starting ${DEMO_JOBS.length} jobs`)} ${dim(`(POST ${params.apiUrl}/jobs, SigV4-signed as alice; each answers 202 at once)`)}\n`,
  );
  const runIds = new Map<string, string>();
  for (const job of DEMO_JOBS) {
    const { status, body } = await client.call<{ runId: string }>({
      method: 'POST',
      path: '/jobs',
      body: {
        type: job.type,
        name: job.name,
        input: job.input,
        ...(receiver ? { callback: { url: `${receiver.url}/hooks/${job.name}` } } : {}),
      },
      signal,
    });
    runIds.set(job.name, body.runId);
    board.add(job.name, job.type);
    stdout.write(
      `  ${job.name.padEnd(16)} ${job.type.padEnd(5)} ${JSON.stringify(job.input).padEnd(44)} ${dim(`→ ${status}`)}\n`,
    );
  }
  stdout.write(
    `\n${paint(style, 'bold', 'Watching them live')} ${dim('(GET /jobs/{name}/events, server-sent events; a running job reports progress at most every 5 s)')}\n`,
  );
  if (receiver) stdout.write(`${dim(`Webhooks go to ${receiver.url}/hooks/{name}`)}\n`);
  stdout.write('\n');

  const deadline = AbortSignal.any([signal, AbortSignal.timeout(params.timeoutMs ?? 45_000)]);
  const cancelling = new Set<string>();
  const cancel = async (name: string) => {
    const { status } = await client.call({ method: 'DELETE', path: jobPath(name), signal });
    board.noteFor(
      name,
      `${paint(style, 'yellow', `DELETE /jobs/${name} → ${status}`)} ${dim('(the worker sees it at its next heartbeat, within 1.5 s)')}`,
    );
  };

  board.start();
  const source = sseSource(client);
  try {
    await Promise.all(
      DEMO_JOBS.map(async (job) => {
        const view = board.viewFor(job.name);
        try {
          await watchJob({
            name: job.name,
            runId: runIds.get(job.name),
            source,
            signal: deadline,
            view: {
              event(event) {
                view.event(event);
                if (
                  job.cancelMidRun &&
                  event['detail-type'] === 'Job Progress' &&
                  !cancelling.has(job.name)
                ) {
                  cancelling.add(job.name);
                  cancel(job.name).catch((error: unknown) =>
                    board.noteFor(job.name, `cancel failed: ${messageOf(error)}`),
                  );
                }
              },
              close: () => view.close(),
            },
          });
        } catch (error) {
          board.lost(job.name, messageOf(error));
        }
      }),
    );
    if (deadline.aborted && !signal.aborted) {
      board.note(
        paint(
          style,
          'red',
          `Gave up after ${(params.timeoutMs ?? 45_000) / 1000} s: a job has not ended`,
        ),
      );
    }
    if (receiver && !signal.aborted) {
      const ended = board.rows.filter((row) => row.terminal !== undefined).length;
      await receiver.waitFor(ended, WEBHOOK_WAIT_MS, signal);
    }
  } finally {
    board.stop();
    await receiver?.close();
  }

  return board.rows.map((row) => {
    const job = DEMO_JOBS.find((candidate) => candidate.name === row.name);
    const delivery = receiver?.deliveries.find((candidate) => candidate.jobName === row.name);
    const detail = detailOf(row.terminal) ?? row.message;
    return {
      name: row.name,
      type: row.type,
      expected: job?.expect ?? 'SUCCEEDED',
      outcome: row.phase,
      ...(row.durationMs === undefined ? {} : { durationMs: row.durationMs }),
      ...(detail === undefined ? {} : { detail }),
      webhook: !receiver
        ? 'none'
        : delivery === undefined
          ? 'missing'
          : delivery.verified
            ? 'verified'
            : 'refused',
    };
  });
}

function describeDelivery(style: Style, delivery: WebhookDelivery): string {
  return delivery.verified
    ? `${paint(style, 'green', 'webhook verified')} ${paint(style, 'dim', `(${delivery.event}; its eventjobs-signature checked with verifyWebhook)`)}`
    : paint(style, 'red', `webhook REFUSED: ${delivery.reason ?? ''}`);
}

/** A short line about how the run ended, for the summary. */
function detailOf(event: JobEvent | undefined): string | undefined {
  if (!event) return undefined;
  switch (event['detail-type']) {
    case 'Job Completed': {
      const result = event.detail.result;
      const text = JSON.stringify(result) ?? '';
      return text.length > 60 ? `${text.slice(0, 59)}…` : text;
    }
    case 'Job Failed':
      return `${event.detail.error.name}: ${event.detail.error.message}`;
    case 'Job Cancelled':
    case 'Job Timed Out':
      return event.detail.reason;
    default:
      return undefined;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
