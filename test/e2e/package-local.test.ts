/**
 * The package's own entry points, as an app's end-to-end test uses them: a
 * local cloud started from code (`eventjobs/local`) on the synthesized
 * reference app, driven by the typed client (`eventjobs`).
 */
import { createClient, JobNotFoundError } from 'eventjobs';
import { type RunningLocalCloud, startLocalCloud } from 'eventjobs/local';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { E2E_ASSEMBLY } from './assembly';

const target = inject('e2e');

describe.runIf(target.kind === 'local')('eventjobs/local with the typed client', () => {
  let cloud: RunningLocalCloud;

  beforeAll(async () => {
    cloud = await startLocalCloud({ assembly: E2E_ASSEMBLY });
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  it('starts a job and follows its events to the end, which carries the result', async () => {
    // Prepare
    const client = createClient({ localCloud: cloud });

    // Act
    const started = await client.start({
      type: 'echo',
      name: 'package-local',
      input: { value: 7 },
    });
    const events = [];
    for await (const event of client.watch(started.jobName)) events.push(event);
    const listed = await client.list();

    // Assess
    expect(cloud.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(started.status).toBe('RUNNING');
    expect(events.map((event) => event['detail-type'])).toContain('Job Started');
    expect(events.at(-1)).toMatchObject({
      'detail-type': 'Job Completed',
      detail: { jobName: 'package-local', result: { value: 7 } },
    });
    expect(listed.jobs.map((job) => job.jobName)).toContain('package-local');
  });

  it("signs as another identity when told, which cannot see the first one's job", async () => {
    // Prepare
    const alice = createClient({ localCloud: cloud });
    const bob = createClient({ localCloud: cloud, credentials: cloud.users[1] });
    await alice.start({ type: 'echo', name: 'alice-only', input: { value: 1 } });

    // Act
    const seen = bob.get('alice-only');

    // Assess
    await expect(seen).rejects.toBeInstanceOf(JobNotFoundError);
  });
});
