/**
 * The jobs the chaos scenarios start, and the checks every scenario makes once
 * they have ended: each job terminal with exactly one outcome, none left
 * active, and (with the logs) none finished twice.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Api, call, countBy, pool, sleep } from './http';
import { scanTable, type TableItem } from './table';

export const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

export interface Job {
  readonly name: string;
  readonly type: 'echo' | 'sleep' | 'fail' | 'pipeline';
  /** Overrides the sleep length (seconds) of a `sleep` job. */
  readonly seconds?: number;
  runId?: string;
  status?: string;
  /** The last GET body, for reporting stuck jobs. */
  last?: unknown;
  startStatus?: number;
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export function makeJobs(prefix: string, count: number): Job[] {
  const types: Job['type'][] = ['echo', 'sleep', 'fail'];
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}-${i}`,
    type: types[i % types.length] ?? 'echo',
  }));
}

export function inputOf(job: Job, i: number): unknown {
  switch (job.type) {
    case 'echo':
      return { value: { i } };
    case 'sleep':
      return { seconds: job.seconds ?? (i % 11) / 10 };
    case 'fail':
      return { message: `chaos job ${i} fails on purpose` };
    case 'pipeline':
      return { steps: 8, stepSeconds: 3 };
  }
}

/** A pipeline lasts several worker invocations; the others take the type's default. */
export function timeoutOf(job: Job): number | undefined {
  return job.type === 'pipeline' ? 600 : undefined;
}

export async function startJobs(api: Api, jobs: Job[], concurrency: number): Promise<void> {
  await pool(jobs, concurrency, async (job, i) => {
    // A 5xx, a 429 or a network error is retried like any client would, with exponential
    // backoff and jitter; the same name and input is idempotent.
    for (let attempt = 0; attempt < 20; attempt += 1) {
      try {
        const response = await call(api, 'POST', '/jobs', {
          type: job.type,
          name: job.name,
          input: inputOf(job, i),
          ...(timeoutOf(job) ? { timeoutSeconds: timeoutOf(job) } : {}),
        });
        job.startStatus = response.status;
        const body = response.body as { runId?: string } | undefined;
        if (response.status === 202 || response.status === 200) {
          job.runId = body?.runId;
          job.startStatus = 202;
          if ((i + 1) % 100 === 0) process.stdout.write(`  ${i + 1} job(s) started\n`);
          return;
        }
        if (response.status < 500 && response.status !== 429) return;
      } catch {
        job.startStatus = 0;
      }
      await sleep(Math.random() * Math.min(10_000, 250 * 2 ** attempt));
    }
  });
}

/**
 * Waits until no started job has an active record, then reads every job once
 * over the API.
 */
export async function waitTerminal(
  api: Api,
  jobs: Job[],
  concurrency: number,
  deadline: number,
): Promise<void> {
  await waitInactive(api, jobs, deadline);
  await readStatuses(api, jobs, concurrency);
}

/**
 * Waits until no started job has an active record (one table scan every 2 s, so
 * the harness does not load the cloud it measures), or until the deadline.
 */
export async function waitInactive(api: Api, jobs: Job[], deadline: number): Promise<void> {
  const names = new Set(jobs.filter((job) => job.startStatus === 202).map((job) => job.name));
  let lastPrint = 0;
  for (;;) {
    const active = (await scanTable(api)).filter(
      (item) => item.sk === 'ACTIVE' && names.has(item.jobName),
    ).length;
    if (active === 0 || Date.now() > deadline) return;
    if (Date.now() - lastPrint > 10_000) {
      lastPrint = Date.now();
      process.stdout.write(`  ${active} job(s) still active\n`);
    }
    await sleep(2000);
  }
}

/** One GET per started job that is not yet known to be terminal (a 429 or 5xx is retried). */
export async function readStatuses(api: Api, jobs: Job[], concurrency: number): Promise<void> {
  const open = jobs.filter((job) => job.startStatus === 202 && !TERMINAL.has(job.status ?? ''));
  await pool(open, concurrency, async (job) => {
    // A busy local cloud answers 429 (the stage's throttle) or 500 (Lambda throttled): retried.
    for (let attempt = 0; attempt < 20; attempt += 1) {
      try {
        const response = await call(api, 'GET', `/jobs/${job.name}`);
        if (response.status === 200) {
          const body = response.body as { status?: string; runId?: string };
          job.last = body;
          job.status = body.status;
          return;
        }
        if (response.status !== 429 && response.status < 500) return;
      } catch {
        // A network error: tried again.
      }
      await sleep(Math.random() * Math.min(5000, 250 * 2 ** attempt));
    }
  });
}

export async function verify(api: Api, jobs: Job[], logsDir: string | undefined): Promise<Check[]> {
  const started = jobs.filter((job) => job.startStatus === 202);
  const names = new Set(started.map((job) => job.name));
  const items = (await scanTable(api)).filter((item) => names.has(item.jobName));
  const active = items.filter((item) => item.sk === 'ACTIVE');
  const outcomes = new Map<string, TableItem[]>();
  for (const item of items) {
    if (!item.sk.startsWith('RUN#')) continue;
    outcomes.set(item.jobName, [...(outcomes.get(item.jobName) ?? []), item]);
  }
  const stuck = started.filter((job) => !TERMINAL.has(job.status ?? ''));
  const notOne = started.filter((job) => (outcomes.get(job.name)?.length ?? 0) !== 1);
  const byStatus = countBy(started, (job) => job.status ?? 'NOT TERMINAL');
  const terminalSum = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].reduce(
    (sum, status) => sum + (byStatus.get(status) ?? 0),
    0,
  );
  const checks: Check[] = [
    {
      name: 'every job started',
      ok: started.length === jobs.length,
      detail: `${started.length} of ${jobs.length} got 202${
        started.length === jobs.length
          ? ''
          : `; others: ${[
              ...countBy(
                jobs.filter((j) => j.startStatus !== 202),
                (j) => String(j.startStatus),
              ),
            ]
              .map(([s, n]) => `${s}×${n}`)
              .join(' ')}`
      }`,
    },
    {
      name: 'every job terminal (GET)',
      ok: stuck.length === 0,
      detail:
        stuck.length === 0
          ? `${started.length} terminal`
          : `${stuck.length} stuck: ${stuck
              .slice(0, 10)
              .map((job) => `${job.name} (${job.type}, last ${describeLast(job.last)})`)
              .join('; ')}${stuck.length > 10 ? ` … and ${stuck.length - 10} more` : ''}`,
    },
    {
      name: 'none stays active (table)',
      ok: active.length === 0,
      detail: `${active.length} ACTIVE record(s)${
        active.length > 0
          ? `: ${active
              .slice(0, 10)
              .map((a) => a.jobName)
              .join(', ')}`
          : ''
      }`,
    },
    {
      name: 'exactly one outcome per job (table)',
      ok: notOne.length === 0,
      detail:
        notOne.length === 0
          ? `${started.length} jobs, one RUN# item each`
          : `${notOne.length} job(s) without exactly one: ${notOne
              .slice(0, 10)
              .map((job) => `${job.name}×${outcomes.get(job.name)?.length ?? 0}`)
              .join(', ')}`,
    },
    {
      name: 'counts add up',
      ok: terminalSum === started.length,
      detail: `succeeded+failed+cancelled+timed_out = ${terminalSum}, started = ${started.length}`,
    },
  ];
  if (logsDir) {
    const finished = runFinishedCounts(logsDir);
    const twice = [...finished].filter(([, n]) => n > 1);
    checks.push({
      name: 'none processed twice (completion log)',
      ok: twice.length === 0,
      detail: `${finished.size} runs finished; ${twice.length} finished more than once${
        twice.length > 0
          ? `: ${twice
              .slice(0, 10)
              .map(([id, n]) => `${id}×${n}`)
              .join(', ')}`
          : ''
      }`,
    });
  }
  return checks;
}

export function runFinishedCounts(logsDir: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const file of readdirSync(logsDir)) {
    if (!file.includes('Completion')) continue;
    for (const line of readFileSync(join(logsDir, file), 'utf8').split('\n')) {
      if (!line.includes('"Run finished"')) continue;
      const runId = /"runId":"([^"]+)"/.exec(line)?.[1];
      if (runId) counts.set(runId, (counts.get(runId) ?? 0) + 1);
    }
  }
  return counts;
}

export function summary(jobs: Job[], checks: Check[]): string {
  const started = jobs.filter((job) => job.startStatus === 202);
  const statuses = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT', 'NOT TERMINAL'];
  const lines = [
    '',
    `  ${'type'.padEnd(9)}${statuses.map((s) => s.padStart(14)).join('')}${'total'.padStart(8)}`,
  ];
  const types = [...new Set(started.map((job) => job.type as string)), 'all'];
  for (const type of types) {
    const of = started.filter((job) => type === 'all' || job.type === type);
    const by = countBy(of, (job) =>
      TERMINAL.has(job.status ?? '') ? (job.status ?? '') : 'NOT TERMINAL',
    );
    lines.push(
      `  ${type.padEnd(9)}${statuses.map((s) => String(by.get(s) ?? 0).padStart(14)).join('')}${String(of.length).padStart(8)}`,
    );
  }
  lines.push('');
  for (const check of checks)
    lines.push(`  ${check.ok ? 'ok  ' : 'FAIL'}  ${check.name}: ${check.detail}`);
  return `${lines.join('\n')}\n`;
}

export function describeLast(last: unknown): string {
  if (typeof last !== 'object' || last === null) return 'never read';
  const body = last as { status?: string; progress?: { message?: string }; attempt?: number };
  return [body.status, body.attempt ? `attempt ${body.attempt}` : '', body.progress?.message]
    .filter(Boolean)
    .join(', ');
}

/** The gateway's access-log lines of any 5xx: the integration error says which function failed and how. */
export function gatewayErrors(logsDir: string): string {
  const lines: string[] = [];
  for (const file of readdirSync(logsDir)) {
    if (!file.startsWith('apigw')) continue;
    for (const line of readFileSync(join(logsDir, file), 'utf8').split('\n')) {
      if (!/"status":"5\d\d"/.test(line)) continue;
      const entry = JSON.parse(line) as Record<string, string>;
      lines.push(
        `    ${entry.requestTime} ${entry.routeKey} ${entry.status} as ${entry.userArn}: ${entry.integrationError}`,
      );
    }
  }
  if (lines.length === 0) return '';
  return `  5xx answers in the gateway's access log (${lines.length}):\n${lines.slice(0, 10).join('\n')}\n`;
}
