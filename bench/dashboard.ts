/**
 * `npm run bench:dashboard`: the dashboard's figures, printed (never asserted).
 *
 * - Page size: each asset as the dashboard server sends it, in bytes and
 *   gzipped (zlib's default level; the server itself sends them uncompressed,
 *   over loopback).
 * - Time to first render: from navigation start (`performance.now()` is
 *   relative to it) to the first job row in the list, recorded by a
 *   MutationObserver installed before the page's own script; median of `--loads`
 *   fresh loads of a list that holds a few jobs.
 * - Update latency: for `--jobs` echo jobs started one after another, from the
 *   moment the local cloud's owner stream (`GET /events`, read here by a second
 *   subscriber in this process) delivers the job's Job Started and Job
 *   Completed events to the moment the page's row shows RUNNING and SUCCEEDED
 *   (a MutationObserver's `Date.now()` in the page). Both clocks are this
 *   machine's wall clock, in milliseconds; the figure is the dashboard's own
 *   part (its server's relay, the SSE hop and the page's work). Also printed:
 *   from the job's `finishedAt` (written by the completion function just
 *   before it puts the event) to the row showing SUCCEEDED, the whole path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createParser } from 'eventsource-parser';
import { startDashboard } from '../dashboard/server';
import { signRequest } from '../functions/shared/signer';
import { startLocalCloud } from '../src/local';
import { launchBrowser } from '../test/browser/harness';
import { ensureE2eAssembly } from '../test/e2e/assembly';
import { distribution } from './stats';

const { values } = parseArgs({
  options: {
    loads: { type: 'string', default: '10' },
    jobs: { type: 'string', default: '20' },
  },
});
const loads = Number(values.loads);
const jobs = Number(values.jobs);
if (!Number.isInteger(loads) || loads < 1 || !Number.isInteger(jobs) || jobs < 1) {
  throw new Error('--loads and --jobs are whole numbers, at least 1');
}

/** What the page records; installed before its own script runs. */
const OBSERVER = `
  window.__bench = { firstRow: undefined, changes: [] };
  const seen = new Map();
  const look = (row) => {
    const name = row.getAttribute('data-job');
    const status = row.getAttribute('data-status');
    if (window.__bench.firstRow === undefined) window.__bench.firstRow = performance.now();
    if (seen.get(name) === status) return;
    seen.set(name, status);
    window.__bench.changes.push({ name, status, at: Date.now() });
  };
  new MutationObserver((records) => {
    for (const record of records) {
      const nodes = record.type === 'attributes' ? [record.target] : [...record.addedNodes];
      for (const node of nodes) {
        if (!(node instanceof Element)) continue;
        if (node.matches('tr[data-job]')) look(node);
        for (const row of node.querySelectorAll('tr[data-job]')) look(row);
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
`;

interface Change {
  readonly name: string;
  readonly status: string;
  readonly at: number;
}

const logs = mkdtempSync(join(tmpdir(), 'eventjobs-bench-dashboard-'));
const cloud = await startLocalCloud({
  assemblyDir: await ensureE2eAssembly(),
  apiPort: 0,
  awsPort: 0,
  quiet: true,
  logsDir: logs,
});
const alice = cloud.users[0];
if (!alice) throw new Error('no local identity');
const credentials = { accessKeyId: alice.accessKeyId, secretAccessKey: alice.secretAccessKey };
const dashboard = await startDashboard({
  target: {
    kind: 'local',
    apiUrl: cloud.apiUrl,
    region: cloud.region,
    credentials: async () => credentials,
    description: `the local cloud at ${cloud.apiUrl}`,
    identityArn: alice.arn,
  },
});
const browser = await launchBrowser();
const streamAbort = new AbortController();

async function signed(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<Response> {
  const url = `${cloud.apiUrl}${path}`;
  const text = body === undefined ? '' : JSON.stringify(body);
  const plain: Record<string, string> =
    body === undefined ? {} : { 'content-type': 'application/json' };
  const headers = await signRequest({
    method,
    url,
    headers: plain,
    body: text,
    credentials,
    region: cloud.region,
    service: 'execute-api',
  });
  return fetch(url, {
    method,
    headers: { ...plain, ...headers },
    signal,
    ...(body === undefined ? {} : { body: text }),
  });
}

async function startEcho(name: string): Promise<void> {
  const answer = await signed('POST', '/jobs', { type: 'echo', name, input: { value: name } });
  if (answer.status !== 202)
    throw new Error(`start ${name}: ${answer.status} ${await answer.text()}`);
}

/** When this process received each event of the owner stream, by job and status. */
const delivered = new Map<string, { at: number; finishedAt?: string }>();
const STATUS: Record<string, string> = { 'Job Started': 'RUNNING', 'Job Completed': 'SUCCEEDED' };

async function followOwnerStream(ready: () => void): Promise<void> {
  const answer = await signed('GET', '/events', undefined, streamAbort.signal);
  if (answer.status !== 200 || !answer.body) throw new Error(`GET /events: ${answer.status}`);
  ready();
  const parser = createParser({
    onEvent: (message) => {
      const at = Date.now();
      const event = JSON.parse(message.data) as {
        'detail-type': string;
        detail: { jobName: string; finishedAt?: string };
      };
      const status = STATUS[event['detail-type']];
      if (status === undefined) return;
      delivered.set(`${event.detail.jobName} ${status}`, {
        at,
        ...(event.detail.finishedAt ? { finishedAt: event.detail.finishedAt } : {}),
      });
    },
  });
  const decoder = new TextDecoder();
  try {
    for await (const chunk of answer.body as unknown as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(chunk, { stream: true }));
    }
  } catch (error) {
    if (!streamAbort.signal.aborted) throw error;
  }
}

function kb(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} B`;
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

try {
  // Page size, as served.
  console.log('Page size (as the dashboard server sends it; gzip at zlib level 6):');
  const origin = new URL(dashboard.url).origin;
  let total = 0;
  let totalGz = 0;
  for (const [label, path] of [
    ['index.html', `/?token=${dashboard.token}`],
    ['app.js', '/app.js'],
    ['style.css', '/style.css'],
  ] as const) {
    const body = Buffer.from(await (await fetch(`${origin}${path}`)).arrayBuffer());
    const gz = gzipSync(body).length;
    total += body.length;
    totalGz += gz;
    console.log(`  ${label.padEnd(11)} ${kb(body.length).padStart(9)}  gzip ${kb(gz).padStart(8)}`);
  }
  console.log(`  ${'total'.padEnd(11)} ${kb(total).padStart(9)}  gzip ${kb(totalGz).padStart(8)}`);

  // A list with a few jobs, finished, for the first-render loads.
  for (let i = 0; i < 5; i += 1) await startEcho(`bench-seed-${Date.now()}-${i}`);

  await browser.context.addInitScript(OBSERVER);
  const firstRender: number[] = [];
  for (let i = 0; i < loads; i += 1) {
    const page = await browser.context.newPage();
    await page.goto(dashboard.url);
    await page.locator('tr[data-job]').first().waitFor();
    firstRender.push(
      await page.evaluate(() => (globalThis as unknown as Bench).__bench.firstRow ?? NaN),
    );
    await page.close();
  }
  const render = distribution(firstRender);
  console.log(
    `\nTime to first render (navigation start to the first job row, ${loads} loads): ` +
      `median ${ms(render.p50)}, max ${ms(render.max)}`,
  );

  // Update latency.
  let streamOpen: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    streamOpen = resolve;
  });
  const following = followOwnerStream(streamOpen);
  await opened;
  const page = await browser.context.newPage();
  await page.goto(dashboard.url);
  await page.locator('body[data-live="open"]').waitFor();
  const names: string[] = [];
  for (let i = 0; i < jobs; i += 1) {
    const name = `bench-live-${Date.now()}-${i}`;
    names.push(name);
    await startEcho(name);
    await page.locator(`tr[data-job="${name}"][data-status="SUCCEEDED"]`).waitFor();
  }
  const changes = await page.evaluate(() => (globalThis as unknown as Bench).__bench.changes);
  const shown = new Map<string, number>();
  for (const change of changes as Change[]) {
    const key = `${change.name} ${change.status}`;
    if (!shown.has(key)) shown.set(key, change.at);
  }
  const relay: number[] = [];
  const whole: number[] = [];
  let missing = 0;
  for (const name of names) {
    for (const status of ['RUNNING', 'SUCCEEDED']) {
      const key = `${name} ${status}`;
      const event = delivered.get(key);
      const at = shown.get(key);
      if (event === undefined || at === undefined) {
        missing += 1;
        continue;
      }
      relay.push(at - event.at);
      if (status === 'SUCCEEDED' && event.finishedAt) whole.push(at - Date.parse(event.finishedAt));
    }
  }
  const r = distribution(relay);
  const w = distribution(whole);
  console.log(
    `\nUpdate latency, owner stream delivery to the row's status in the DOM (${r.count} changes of ${jobs} jobs, RUNNING and SUCCEEDED):` +
      `\n  p50 ${ms(r.p50)}, p95 ${ms(r.p95)}, max ${ms(r.max)}` +
      (missing > 0
        ? `\n  (${missing} changes not measured: the page showed a later status first, or the event came before the row)`
        : ''),
  );
  console.log(
    `Whole path, the job's finishedAt to SUCCEEDED in the DOM (${w.count} jobs):` +
      `\n  p50 ${ms(w.p50)}, p95 ${ms(w.p95)}, max ${ms(w.max)}`,
  );
  streamAbort.abort();
  await page.close();
  void following.catch(() => undefined);
} finally {
  streamAbort.abort();
  await browser.close();
  await dashboard.close();
  await cloud.stop();
  rmSync(logs, { recursive: true, force: true });
}

interface Bench {
  readonly __bench: { firstRow?: number; changes: Change[] };
}
