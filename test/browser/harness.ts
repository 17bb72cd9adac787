/**
 * What the browser tests (and the dashboard benchmark) stand on: Debian's
 * chromium driven by playwright-core (never a downloaded browser), and a
 * dashboard server for one identity of the suite's target.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import type { Target } from '../../client/target';
import { type RunningDashboard, startDashboard } from '../../dashboard/server';
import type { E2eTarget, Identity } from '../e2e/target';

export const CHROMIUM = process.env.EVENTJOBS_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a quiet, headless, offline-minded chromium in CI. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh user-data-dir, removed at close. */
export async function launchBrowser(viewport = { width: 1200, height: 900 }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'eventjobs-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A dashboard server on 127.0.0.1 that signs as `who` against the suite's target. */
export function dashboardFor(target: E2eTarget, who: Identity): Promise<RunningDashboard> {
  const credentials = async () => ({
    accessKeyId: who.accessKeyId,
    secretAccessKey: who.secretAccessKey,
    ...(who.sessionToken ? { sessionToken: who.sessionToken } : {}),
  });
  const dashboardTarget: Target =
    target.kind === 'local'
      ? {
          kind: 'local',
          apiUrl: target.apiUrl,
          region: target.region,
          credentials,
          description: `the local cloud at ${target.apiUrl}`,
          identityArn: who.owner,
        }
      : {
          kind: 'aws',
          apiUrl: target.apiUrl,
          region: target.region,
          credentials,
          streamUrl: process.env.EVENTJOBS_STREAM_URL || undefined,
          description: new URL(target.apiUrl).host,
          identityArn: who.owner,
        };
  return startDashboard({ target: dashboardTarget });
}
