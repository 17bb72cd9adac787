/**
 * The dashboard in a real browser (Debian's chromium, driven by
 * playwright-core): live updates without a reload, cancel, replay, escaping of
 * untrusted job data, identities kept apart, and screenshots for CI
 * (`test-results/`). Waiting is on what the page shows, never on a clock.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningDashboard } from '../../dashboard/server';
import { callApi, eventually, uniqueName } from '../e2e/client';
import { type Browser, dashboardFor, launchBrowser } from './harness';

const target = inject('e2e');
const RESULTS = resolve(import.meta.dirname, '../../test-results');
/** How long the page may take to show what a test waits for (a job's whole run included). */
const SHOWN_WITHIN_MS = 30_000;

let browser: Browser;
let alice: RunningDashboard;
let bob: RunningDashboard;

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  [browser, alice, bob] = await Promise.all([
    launchBrowser(),
    dashboardFor(target, target.alice),
    dashboardFor(target, target.bob),
  ]);
});

afterAll(async () => {
  await Promise.all([browser?.close(), alice?.close(), bob?.close()]);
});

async function openList(dashboard: RunningDashboard): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(dashboard.url);
  // The live stream is open before a test starts the jobs it watches.
  await page.locator('body[data-live="open"]').waitFor({ timeout: SHOWN_WITHIN_MS });
  return page;
}

async function start(who: 'alice' | 'bob', body: Record<string, unknown>): Promise<void> {
  const answer = await callApi(target, target[who], 'POST', '/jobs', body);
  expect(answer.status, answer.text).toBe(202);
}

function row(page: Page, name: string) {
  return page.locator(`tr[data-job="${name}"]`);
}

describe('the dashboard', () => {
  it('shows jobs started after it loaded, and one moving from RUNNING to SUCCEEDED without a reload', async () => {
    // Prepare
    const page = await openList(alice);
    const slow = uniqueName('dash-slow');
    const quick = uniqueName('dash-quick');
    let reloads = 0;
    page.on('framenavigated', () => {
      reloads += 1;
    });

    // Act
    await start('alice', { type: 'sleep', name: slow, input: { seconds: 3 } });
    await start('alice', { type: 'echo', name: quick, input: { value: 1 } });

    // Assess
    await row(page, slow)
      .and(page.locator('[data-status="RUNNING"]'))
      .waitFor({ timeout: SHOWN_WITHIN_MS });
    await row(page, slow).locator('progress').waitFor({ timeout: SHOWN_WITHIN_MS });
    await row(page, slow)
      .and(page.locator('[data-status="SUCCEEDED"]'))
      .waitFor({ timeout: SHOWN_WITHIN_MS });
    await row(page, quick)
      .and(page.locator('[data-status="SUCCEEDED"]'))
      .waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(reloads).toBe(0);
    await page.screenshot({ path: resolve(RESULTS, 'dashboard-list.png'), fullPage: true });
    await page.close();
  });

  it('cancels a running job from its page', async () => {
    // Prepare
    const name = uniqueName('dash-cancel');
    await start('alice', { type: 'sleep', name, input: { seconds: 60 } });
    const page = await browser.context.newPage();
    await page.goto(`${alice.url}#/jobs/${name}`);
    const cancel = page.locator('button.danger:enabled', { hasText: 'Cancel' });
    await cancel.waitFor({ timeout: SHOWN_WITHIN_MS });

    // Act
    await cancel.click();

    // Assess
    await page.locator('.job[data-status="CANCELLED"]').waitFor({ timeout: SHOWN_WITHIN_MS });
    await page.locator('li[data-event="Job Cancelled"]').waitFor({ timeout: SHOWN_WITHIN_MS });
    await page.close();
  });

  it('replays a failed job with its input, and shows the API error for a running one', async () => {
    // Prepare
    const name = uniqueName('dash-replay');
    await start('alice', { type: 'fail', name, input: { message: 'boom' } });
    const page = await browser.context.newPage();
    await page.goto(`${alice.url}#/jobs/${name}`);
    await page.locator('.job[data-status="FAILED"]').waitFor({ timeout: SHOWN_WITHIN_MS });
    const replayed = `${name}-again`;

    // Act
    await page.getByLabel('Replay as (optional)').fill(replayed);
    await page.getByRole('button', { name: 'Replay' }).click();

    // Assess: the new run's page, with the same input, failing again.
    await page.waitForURL(`**#/jobs/${replayed}`, { timeout: SHOWN_WITHIN_MS });
    await page.locator('.job[data-status="FAILED"]').waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(JSON.parse((await page.locator('pre.input').textContent()) ?? '')).toEqual({
      message: 'boom',
    });

    // A running job cannot be replayed: the API's 409 is shown as it came.
    const running = uniqueName('dash-replay-running');
    await start('alice', { type: 'sleep', name: running, input: { seconds: 30 } });
    const answer = await page.evaluate(
      async ([path, token]) => {
        const response = await fetch(path, {
          method: 'POST',
          headers: { 'x-dashboard-token': token, 'content-type': 'application/json' },
          body: '{}',
        });
        return { status: response.status, body: (await response.json()) as unknown };
      },
      [`/api/jobs/${running}/replay`, alice.token] as const,
    );
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ error: { code: expect.any(String) } });
    await callApi(target, target.alice, 'DELETE', `/jobs/${running}`);
    await page.close();
  });

  it('renders a job whose input holds markup as text', async () => {
    // Prepare
    const name = uniqueName('dash-xss');
    const value =
      '<script>window.__pwned = true</script><img src=x onerror="window.__pwned = true">';
    await start('alice', { type: 'echo', name, input: { value } });
    const page = await browser.context.newPage();

    // Act
    await page.goto(`${alice.url}#/jobs/${name}`);
    await page.locator('.job[data-status="SUCCEEDED"]').waitFor({ timeout: SHOWN_WITHIN_MS });

    // Assess
    expect(await page.locator('pre.input').textContent()).toContain('<script>');
    expect(await page.locator('pre.result').textContent()).toContain('<img src=x');
    expect(await page.locator('main script, main img').count()).toBe(0);
    expect(
      await page.evaluate(() => (globalThis as { __pwned?: boolean }).__pwned),
    ).toBeUndefined();
    await page.screenshot({ path: resolve(RESULTS, 'dashboard-job.png'), fullPage: true });
    await page.close();
  });

  it("never shows bob alice's jobs, listed or live", async () => {
    // Prepare
    const page = await openList(bob);
    const alices = uniqueName('dash-alice');
    const bobs = uniqueName('dash-bob');

    // Act: alice's job runs to its end while bob's page is open, then bob's starts.
    await start('alice', { type: 'echo', name: alices, input: { value: 'a' } });
    await eventually("alice's job to finish", async () => {
      const answer = await callApi(target, target.alice, 'GET', `/jobs/${alices}`);
      return (answer.body as { status?: string }).status === 'SUCCEEDED' ? true : undefined;
    });
    await start('bob', { type: 'echo', name: bobs, input: { value: 'b' } });

    // Assess: bob's own job arrives live; alice's, whose events came first, never did.
    await row(page, bobs)
      .and(page.locator('[data-status="SUCCEEDED"]'))
      .waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await row(page, alices).count()).toBe(0);
    await page.reload();
    await row(page, bobs).waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await row(page, alices).count()).toBe(0);
    await page.goto(`${bob.url}#/jobs/${alices}`);
    await page.locator('.error').waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await page.locator('.error').textContent()).toContain('404');
    await page.close();
  });
});
