/**
 * A long queue against the real store and queue code (`JobStore`, `SlotStore`)
 * on the local cloud's DynamoDB: Alice queues N runs of a type limited to one
 * at a time, then Bob queues one; runs are ended one at a time, and the figure
 * is how many releases pass before Bob's run starts (the bound: about
 * one). Prints the cost of queueing and of a release with the queue that long.
 *
 *   npx tsx bench/fair-share.ts [N]    (default 10000)
 */
import type { ConcurrencyLimits } from '../core/limits';
import type { ActiveJob, JobOutcome } from '../core/model';
import { SlotStore } from '../functions/shared/slots';
import { JobStore } from '../functions/shared/store';
import { startLocalJobsTable } from '../test/unit/helpers/local-dynamodb';

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const BOB = 'arn:aws:iam::111122223333:user/bob';
const TYPE = 'report';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 10_000);
  if (!Number.isInteger(count) || count < 1)
    throw new Error('N must be a whole number, at least 1');
  const table = await startLocalJobsTable();
  const limits: ConcurrencyLimits = {
    perOwner: 100_000,
    maxQueuedPerOwner: 100_000,
    perType: { [TYPE]: 1 },
  };
  const slots = new SlotStore(table.client, table.tableName, limits);
  const store = new JobStore(table.client, table.tableName, slots);
  let clock = Date.UTC(2026, 11, 7);
  const job = (owner: string, i: number): ActiveJob => {
    const at = new Date(clock++).toISOString();
    return {
      owner,
      jobName: `j${i}`,
      runId: `run-${owner.slice(-5)}-${String(i).padStart(6, '0')}`,
      type: TYPE,
      status: 'RUNNING',
      input: {},
      inputHash: 'x',
      createdAt: at,
      updatedAt: at,
    };
  };
  try {
    const began = performance.now();
    const first = await store.createActive(job(ALICE, 0));
    for (let i = 1; i <= count; i++) {
      const result = await store.createActive(job(ALICE, i));
      if (!result.created || result.job.status !== 'QUEUED')
        throw new Error(`run ${i} was not queued`);
      if (i % 2000 === 0) console.log(`  ${i} of Alice's runs queued`);
    }
    const queueMs = performance.now() - began;
    const bob = await store.createActive(job(BOB, 0));
    if (!bob.created || bob.job.status !== 'QUEUED' || !first.created)
      throw new Error('setup failed');

    // End the running run, one release at a time, until Bob's has started.
    let running = first.job;
    let releases = 0;
    let bobStarted = false;
    const releaseTimes: number[] = [];
    while (!bobStarted && releases < 10) {
      const t0 = performance.now();
      const outcome: JobOutcome = {
        owner: running.owner,
        jobName: running.jobName,
        runId: running.runId,
        type: running.type,
        status: 'SUCCEEDED',
        input: {},
        createdAt: running.createdAt,
        finishedAt: new Date(clock++).toISOString(),
        expiresAt: Math.floor(clock / 1000) + 3600,
      };
      if (!(await store.finishRun(outcome, { ...running, status: 'RUNNING' })))
        throw new Error('finish failed');
      const started = await slots.dispatch({ owner: running.owner, type: TYPE }, async () => {});
      releaseTimes.push(performance.now() - t0);
      releases += 1;
      const next = started[0];
      if (!next) throw new Error('nothing started after a release');
      bobStarted = next.owner === BOB;
      const record = await store.getActive(next.owner, next.jobName);
      if (!record) throw new Error('the started run has no record');
      running = record;
    }
    const position = await slots.position({
      owner: ALICE,
      seq: `${new Date(Date.UTC(2026, 11, 7) + count).toISOString()}#x`,
    });
    console.log(`fair share, ${count} runs queued by one owner (type limit 1):`);
    console.log(
      `  queueing: ${(queueMs / count).toFixed(1)} ms per run (${(queueMs / 1000).toFixed(1)} s in all)`,
    );
    console.log(`  the other owner's first run started after ${releases} release(s)`);
    console.log(
      `  a release (end + dispatch) with the queue that long: ${releaseTimes.map((ms) => ms.toFixed(1)).join(', ')} ms`,
    );
    console.log(`  a position query at the queue's end counted ${position - 1} runs ahead`);
  } finally {
    await table.close();
  }
}

await main();
