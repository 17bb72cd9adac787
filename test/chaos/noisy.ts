/**
 * The noisy neighbour, under the same faults as the chaos run: `alice` starts
 * far more 4 s jobs than her owner limit allows, for `--noisy-seconds`, so her
 * queue fills and further starts are refused `429 QueueFull` (expected answers,
 * counted, not failures). Meanwhile `bob` keeps starting short jobs and reading
 * them: every one of his requests must succeed (a 429 from the stage's own
 * throttle is the only refusal allowed, and counted), and each of his jobs
 * must start within `--noisy-start-bound` of his POST. Then every job must
 * end with one outcome, and every slot counter must be back to zero.
 *
 * It runs on its own assembly (`test/chaos/assembly.ts`): the e2e one plus a
 * small `maxQueuedPerOwner`, so the queue's limit is reached in seconds.
 */
import { join } from 'node:path';
import { formatChaosReport, type parseChaos } from '../../local/chaos';
import { startLocalCloud } from '../../local/cloud';
import { CHAOS_LIMITS } from './assembly';
import { type Answer, type Api, call, formatCounts, seconds, sleep } from './http';
import {
  type Check,
  gatewayErrors,
  type Job,
  readStatuses,
  summary,
  TERMINAL,
  verify,
  waitInactive,
} from './jobs';
import { formatSlots, readSettledSlots, slotChecks } from './slots';

/** Long enough to hold a slot through many of bob's requests, within the 6 s worker timeout. */
const ALICE_SLEEP_SECONDS = 4;
const ALICE_SENDERS = 6;
/** A neighbour that ignores Retry-After, but not so fast that the harness loads the 2 cores itself. */
const ALICE_REFUSED_PAUSE_MS = 500;
const ALICE_MAX_POSTS = 2000;
const BOB_SENDERS = 2;
const BOB_POLL_MS = 250;
const BOB_GATEWAY_RETRIES = 5;
/** Errors of a worker invocation that the injected faults cause before the job's code runs. */
const FAULT_ERRORS = new Set(['Runtime.ExitError', 'WorkerTimeout']);

export interface NoisyOptions {
  readonly loadMs: number;
  readonly startBoundMs: number;
  readonly timeoutMs: number;
  readonly timeScale: number;
  readonly scheduleScale: number;
  readonly rules: ReturnType<typeof parseChaos>;
  readonly seed: number | undefined;
  readonly assemblyDir: string;
  readonly work: string;
}

/** What alice's starts were answered. */
export interface AliceTally {
  readonly answers: Map<string, number>;
  readonly jobs: Job[];
  /** 429 QueueFull answers without a Retry-After header. */
  withoutRetryAfter: number;
  largestPosition: number;
}

export interface BobJob extends Job {
  readonly postedAt: number;
  /** RUNNING or QUEUED, as the 202 said. */
  accepted?: string;
}

/** What bob's requests were answered: every one must succeed. */
export interface BobTally {
  readonly answers: Map<string, number>;
  readonly jobs: BobJob[];
  /** The first few answers that were not a success, for the report. */
  readonly failures: string[];
  failed: number;
}

export async function noisyRun(options: NoisyOptions): Promise<boolean> {
  process.stdout.write(
    `\n== Noisy neighbour: alice floods (owner limit ${CHAOS_LIMITS.ownerConcurrency}, ` +
      `queue limit ${CHAOS_LIMITS.maxQueuedPerOwner}) for ${seconds(options.loadMs)} while bob works ==\n`,
  );
  const logsDir = join(options.work, 'noisy-logs');
  const cloud = await startLocalCloud({
    assemblyDir: options.assemblyDir,
    apiPort: 0,
    awsPort: 0,
    quiet: true,
    dataDir: join(options.work, 'noisy-data'),
    logsDir,
    timeScale: options.timeScale,
    scheduleScale: options.scheduleScale,
    chaos: { rules: options.rules, seed: options.seed },
  });
  try {
    const [alice, bob] = cloud.users;
    if (!alice || !bob) throw new Error('the local cloud needs two identities');
    const base = {
      apiUrl: cloud.apiUrl,
      awsEndpoint: cloud.awsEndpoint,
      region: cloud.region,
      tableName: cloud.outputs.TableName ?? '',
    };
    const aliceApi: Api = { ...base, user: alice };
    const bobApi: Api = { ...base, user: bob };
    const prefix = `noisy-${Date.now().toString(36)}`;
    const until = Date.now() + options.loadMs;
    const [aliceTally, bobTally] = await Promise.all([
      aliceLoad(aliceApi, `${prefix}-alice`, until),
      bobLoad(bobApi, `${prefix}-bob`, until),
    ]);
    const jobs = [...aliceTally.jobs, ...bobTally.jobs];
    await waitInactive(aliceApi, jobs, Date.now() + options.timeoutMs);
    await readStatuses(aliceApi, aliceTally.jobs, 4);
    await readStatuses(bobApi, bobTally.jobs, 4);
    const slots = await readSettledSlots(aliceApi);
    const checks = [
      ...loadChecks(aliceTally, bobTally, options.startBoundMs),
      ...(await verify(aliceApi, jobs, logsDir)),
      ...slotChecks(slots),
    ];
    process.stdout.write(noisyFigures(aliceTally, bobTally));
    process.stdout.write(gatewayErrors(logsDir));
    process.stdout.write(summary(jobs, checks));
    process.stdout.write(formatSlots(slots.last));
    const report = cloud.chaosReport();
    if (report) process.stdout.write(`\n${formatChaosReport(report)}`);
    return checks.every((check) => check.ok);
  } finally {
    await cloud.stop();
  }
}

async function aliceLoad(api: Api, prefix: string, until: number): Promise<AliceTally> {
  const tally: AliceTally = {
    answers: new Map(),
    jobs: [],
    withoutRetryAfter: 0,
    largestPosition: 0,
  };
  let sent = 0;
  const sender = async () => {
    while (Date.now() < until && sent < ALICE_MAX_POSTS) {
      const job: Job = { name: `${prefix}-${sent}`, type: 'sleep', seconds: ALICE_SLEEP_SECONDS };
      sent += 1;
      const answer = await post(api, job, { seconds: ALICE_SLEEP_SECONDS });
      const kind = classifyStart(answer);
      bump(tally.answers, kind);
      if (answer.status === 202) {
        job.startStatus = 202;
        job.runId = (answer.body as { runId?: string } | undefined)?.runId;
        tally.jobs.push(job);
        const position = (answer.body as { queue?: { position?: number } } | undefined)?.queue
          ?.position;
        tally.largestPosition = Math.max(tally.largestPosition, position ?? 0);
        continue;
      }
      if (kind === '429 QueueFull' && !answer.retryAfter) tally.withoutRetryAfter += 1;
      await sleep(ALICE_REFUSED_PAUSE_MS);
    }
  };
  await Promise.all(Array.from({ length: ALICE_SENDERS }, sender));
  return tally;
}

async function bobLoad(api: Api, prefix: string, until: number): Promise<BobTally> {
  const tally: BobTally = { answers: new Map(), jobs: [], failures: [], failed: 0 };
  let sent = 0;
  const record = (what: string, answer: Answer, ok: boolean) => {
    // A start's answer says RUNNING or QUEUED; a read's only whether it succeeded.
    const kind = `${what} ${what === 'POST' || answer.status !== 200 ? classifyStart(answer) : '200'}`;
    bump(tally.answers, kind);
    if (ok) return;
    tally.failed += 1;
    if (tally.failures.length < 10) tally.failures.push(`${kind} ${JSON.stringify(answer.body)}`);
  };
  const sender = async () => {
    while (Date.now() < until) {
      const i = sent;
      sent += 1;
      // Short jobs of both kinds: echo holds only bob's own keys, a sleep also the sleep type's.
      const job: BobJob = {
        name: `${prefix}-${i}`,
        type: i % 2 === 0 ? 'echo' : 'sleep',
        seconds: 0.5,
        postedAt: Date.now(),
      };
      const input = job.type === 'echo' ? { value: { i } } : { seconds: 0.5 };
      const answer = await bobPost(api, job, input, record);
      if (answer?.status !== 202) continue;
      job.startStatus = 202;
      job.runId = (answer.body as { runId?: string } | undefined)?.runId;
      job.accepted = (answer.body as { status?: string } | undefined)?.status;
      tally.jobs.push(job);
      await watchUntilStarted(api, job, record);
      const list = await safeCall(api, 'GET', '/jobs?limit=10');
      record('GET /jobs', list, list.status === 200);
    }
  };
  await Promise.all(Array.from({ length: BOB_SENDERS }, sender));
  return tally;
}

/** Bob's start: a 429 from the stage's throttle is retried (POST is idempotent by name). */
async function bobPost(
  api: Api,
  job: BobJob,
  input: unknown,
  record: (what: string, answer: Answer, ok: boolean) => void,
): Promise<Answer | undefined> {
  for (let attempt = 0; attempt < BOB_GATEWAY_RETRIES; attempt += 1) {
    const answer = await post(api, job, input);
    const throttled = isGatewayThrottle(answer);
    record('POST', answer, answer.status === 202 || throttled);
    if (!throttled) return answer;
    await sleep(1000);
  }
  return undefined;
}

/** GETs the job every BOB_POLL_MS until it has started or ended (30 s at most: the final read catches up). */
async function watchUntilStarted(
  api: Api,
  job: BobJob,
  record: (what: string, answer: Answer, ok: boolean) => void,
): Promise<void> {
  const giveUp = Date.now() + 30_000;
  while (Date.now() < giveUp) {
    const answer = await safeCall(api, 'GET', `/jobs/${job.name}`);
    record('GET', answer, answer.status === 200 || isGatewayThrottle(answer));
    if (answer.status === 200) {
      const body = answer.body as { status?: string; startedAt?: string };
      job.last = body;
      job.status = body.status;
      if (body.startedAt || TERMINAL.has(body.status ?? '')) return;
    }
    await sleep(BOB_POLL_MS);
  }
}

async function post(api: Api, job: Job, input: unknown): Promise<Answer> {
  return safeCall(api, 'POST', '/jobs', { type: job.type, name: job.name, input });
}

/** A network error or a timeout is an answer too (status 0), never a crash of the harness. */
async function safeCall(api: Api, method: string, path: string, body?: unknown): Promise<Answer> {
  try {
    return await call(api, method, path, body);
  } catch (error) {
    return { status: 0, body: { error: String(error) } };
  }
}

/** `202 RUNNING`, `202 QUEUED`, `429 QueueFull`, `429 gateway throttle`, `500 …`. */
export function classifyStart(answer: Answer): string {
  const body = answer.body as
    | { status?: string; error?: { code?: string }; message?: string }
    | undefined;
  if (answer.status === 202 || answer.status === 200) {
    return body?.status ? `${answer.status} ${body.status}` : String(answer.status);
  }
  if (isGatewayThrottle(answer)) return '429 gateway throttle';
  const code = body?.error?.code ?? body?.message;
  return code ? `${answer.status} ${code}` : String(answer.status);
}

/** The stage's own throttle (AWS-FACTS: `{"message":"Too Many Requests"}`), documented and allowed. */
function isGatewayThrottle(answer: Answer): boolean {
  return (
    answer.status === 429 &&
    (answer.body as { message?: string } | undefined)?.message === 'Too Many Requests'
  );
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** POST to first start, from the job's `startedAt` (the worker's clock, this same machine). */
export function startDelays(jobs: readonly BobJob[]): {
  delays: number[];
  notStarted: BobJob[];
} {
  const delays: number[] = [];
  const notStarted: BobJob[] = [];
  for (const job of jobs) {
    const startedAt = (job.last as { startedAt?: string } | undefined)?.startedAt;
    if (startedAt) delays.push(Math.max(0, Date.parse(startedAt) - job.postedAt));
    else notStarted.push(job);
  }
  return { delays: delays.sort((a, b) => a - b), notStarted };
}

/** A job whose worker was killed or hung by an injected fault before the job's code ran. */
export function lostToFault(job: Job): boolean {
  const last = job.last as { status?: string; error?: { name?: string } } | undefined;
  return (
    last?.status === 'TIMED_OUT' ||
    (last?.status === 'FAILED' && FAULT_ERRORS.has(last.error?.name ?? ''))
  );
}

export function loadChecks(alice: AliceTally, bob: BobTally, startBoundMs: number): Check[] {
  const { delays, notStarted } = startDelays(bob.jobs);
  const late = delays.filter((ms) => ms > startBoundMs);
  const unexplained = notStarted.filter((job) => !lostToFault(job));
  const unexpected = [...alice.answers].filter(
    ([kind]) => !/^202 (RUNNING|QUEUED)$|^429 (QueueFull|gateway throttle)$/.test(kind),
  );
  return [
    {
      name: 'alice filled her share and her queue',
      ok:
        (alice.answers.get('202 QUEUED') ?? 0) > 0 && (alice.answers.get('429 QueueFull') ?? 0) > 0,
      detail: formatCounts(alice.answers),
    },
    {
      name: 'alice got only 202 or 429 with Retry-After',
      ok: unexpected.length === 0 && alice.withoutRetryAfter === 0,
      detail: `${unexpected.length === 0 ? 'no other answer' : `others: ${formatCounts(new Map(unexpected))}`}; ${alice.withoutRetryAfter} QueueFull without Retry-After`,
    },
    {
      name: "every one of bob's requests succeeded",
      ok: bob.failed === 0 && bob.jobs.length > 0,
      detail:
        bob.failed === 0
          ? `${[...bob.answers.values()].reduce((a, b) => a + b, 0)} requests, ${bob.jobs.length} jobs`
          : `${bob.failed} failed: ${bob.failures.join('; ')}`,
    },
    {
      name: `each of bob's jobs started within ${seconds(startBoundMs)}`,
      ok: late.length === 0 && unexplained.length === 0,
      detail:
        `${delays.length} started, ${late.length} late${late.length > 0 ? ` (${late.map((ms) => seconds(ms)).join(', ')})` : ''}; ` +
        `${notStarted.length - unexplained.length} never started because a fault killed or hung the worker` +
        (unexplained.length > 0
          ? `; ${unexplained.length} never started otherwise: ${unexplained
              .slice(0, 10)
              .map((job) => `${job.name} ${JSON.stringify(job.last)}`)
              .join('; ')}`
          : ''),
    },
  ];
}

export function noisyFigures(alice: AliceTally, bob: BobTally): string {
  const lines = [
    '',
    `  alice (${alice.jobs.length} jobs accepted, largest queue position ${alice.largestPosition}): ${formatCounts(alice.answers)}`,
    `  bob (${bob.jobs.length} jobs accepted): ${formatCounts(bob.answers)}`,
    `  bob's POST to first start (GET startedAt): ${describeDelays(bob.jobs)}`,
  ];
  for (const accepted of ['RUNNING', 'QUEUED']) {
    const of = bob.jobs.filter((job) => job.accepted === accepted);
    if (of.length > 0) lines.push(`    answered 202 ${accepted}: ${describeDelays(of)}`);
  }
  return `${lines.join('\n')}\n`;
}

function describeDelays(jobs: readonly BobJob[]): string {
  const { delays, notStarted } = startDelays(jobs);
  const at = (q: number) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))];
  const ms = (value: number | undefined) => (value === undefined ? '-' : `${value} ms`);
  return (
    `${delays.length} jobs, min ${ms(delays[0])}, p50 ${ms(at(0.5))}, p95 ${ms(at(0.95))}, max ${ms(delays.at(-1))}` +
    (notStarted.length > 0 ? `; ${notStarted.length} never started` : '')
  );
}
