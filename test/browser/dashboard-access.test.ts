/**
 * The dashboard used without a mouse, and on a phone-sized screen (360 CSS
 * pixels wide): the list and a job page fit without a horizontal scroll of the
 * document, and their controls can be reached and used. The list's screenshot
 * with a few finished jobs is the one docs/dashboard.png was copied from.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningDashboard } from '../../dashboard/server';
import { callApi, eventually, uniqueName } from '../e2e/client';
import { type Browser, dashboardFor, launchBrowser } from './harness';

const target = inject('e2e');
const RESULTS = resolve(import.meta.dirname, '../../test-results');
const SHOWN_WITHIN_MS = 30_000;
const NARROW = { width: 360, height: 740 };
/** More Tab presses than the page has controls before the list's first row. */
const MAX_TABS = 40;

let desktop: Browser;
let phone: Browser;
let alice: RunningDashboard;

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  [desktop, phone, alice] = await Promise.all([
    launchBrowser(),
    launchBrowser(NARROW),
    dashboardFor(target, target.alice),
  ]);
});

afterAll(async () => {
  await Promise.all([desktop?.close(), phone?.close(), alice?.close()]);
});

async function start(body: Record<string, unknown>): Promise<void> {
  const answer = await callApi(target, target.alice, 'POST', '/jobs', body);
  expect(answer.status, answer.text).toBe(202);
}

async function finished(name: string): Promise<void> {
  await eventually(`${name} to finish`, async () => {
    const answer = await callApi(target, target.alice, 'GET', `/jobs/${name}`);
    const status = (answer.body as { status?: string }).status;
    return status && !['QUEUED', 'RUNNING'].includes(status) ? true : undefined;
  });
}

/** Whether the document scrolls sideways (its content wider than the viewport). */
function scrollsSideways(page: Page): Promise<boolean> {
  return page.locator('html').evaluate((html) => html.scrollWidth > html.clientWidth);
}

/** The control lies inside the viewport's width, and a click would reach it (nothing covers it). */
async function expectReachable(control: Locator, width: number): Promise<void> {
  const box = await control.boundingBox();
  expect(box).not.toBeNull();
  expect((box?.x ?? -1) >= 0).toBe(true);
  expect((box?.x ?? 0) + (box?.width ?? 0) <= width).toBe(true);
  await control.click({ trial: true, timeout: SHOWN_WITHIN_MS });
}

describe('the dashboard, by keyboard', () => {
  it('tabs to a job link and opens the job with Enter', async () => {
    // Prepare: a list with a few finished jobs (the docs' screenshot).
    const names = [uniqueName('kbd-echo'), uniqueName('kbd-fail'), uniqueName('kbd-sleep')];
    const [echo, fail, sleep] = names as [string, string, string];
    await start({ type: 'echo', name: echo, input: { value: 'hello' } });
    await start({ type: 'fail', name: fail, input: { message: 'on purpose' } });
    await start({ type: 'sleep', name: sleep, input: { seconds: 1 } });
    await Promise.all(names.map(finished));
    const page = await desktop.context.newPage();
    await page.goto(alice.url);
    const link = page.locator(`tr[data-job="${echo}"] a`);
    await link.waitFor({ timeout: SHOWN_WITHIN_MS });
    await page.locator('figure').first().waitFor({ timeout: SHOWN_WITHIN_MS });
    await page.screenshot({ path: resolve(RESULTS, 'dashboard-list-jobs.png') });

    // Act
    let focused = false;
    for (let tab = 0; tab < MAX_TABS && !focused; tab += 1) {
      await page.keyboard.press('Tab');
      focused = await link.evaluate((element) => element === element.ownerDocument.activeElement);
    }
    await page.keyboard.press('Enter');

    // Assess
    expect(focused).toBe(true);
    await page.locator('.job[data-status="SUCCEEDED"]').waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(new URL(page.url()).hash).toBe(`#/jobs/${echo}`);
    expect(await page.locator('h1').first().textContent()).toBe(echo);
    await page.close();
  });
});

describe('the dashboard, 360 pixels wide', () => {
  it('shows the list without a sideways scroll, its filter and links reachable', async () => {
    // Prepare
    const name = uniqueName('narrow-list');
    await start({ type: 'echo', name, input: { value: 'a rather long value to show' } });
    await finished(name);
    const page = await phone.context.newPage();

    // Act
    await page.goto(alice.url);
    await page.locator(`tr[data-job="${name}"]`).waitFor({ timeout: SHOWN_WITHIN_MS });

    // Assess
    expect(await scrollsSideways(page)).toBe(false);
    await expectReachable(page.getByRole('button', { name: 'Filter' }), NARROW.width);
    await expectReachable(page.locator('select[name="status"]'), NARROW.width);
    await expectReachable(page.locator(`tr[data-job="${name}"] a`), NARROW.width);
    await page.screenshot({ path: resolve(RESULTS, 'dashboard-list-360.png'), fullPage: true });
    await page.close();
  });

  it('shows a job page without a sideways scroll, and its Cancel button works', async () => {
    // Prepare
    const name = uniqueName('narrow-job');
    await start({ type: 'sleep', name, input: { seconds: 30 } });
    const page = await phone.context.newPage();
    await page.goto(`${alice.url}#/jobs/${name}`);
    const cancel = page.locator('button.danger:enabled', { hasText: 'Cancel' });
    await cancel.waitFor({ timeout: SHOWN_WITHIN_MS });

    // Act
    const sideways = await scrollsSideways(page);
    await expectReachable(cancel, NARROW.width);
    await page.screenshot({ path: resolve(RESULTS, 'dashboard-job-360.png'), fullPage: true });
    await cancel.click();

    // Assess
    expect(sideways).toBe(false);
    await page.locator('.job[data-status="CANCELLED"]').waitFor({ timeout: SHOWN_WITHIN_MS });
    expect(await scrollsSideways(page)).toBe(false);
    await expectReachable(page.getByRole('button', { name: 'Replay' }), NARROW.width);
    await page.close();
  });
});
