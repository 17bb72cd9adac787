import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The bundled AWS SDK warns once per process that it will need Node 22 from 2027;
// Lambda runs Node 22/24, so on this Node 20 machine the warning is only noise.
const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

const e2e = {
  include: ['test/e2e/**/*.test.ts'],
  globalSetup: ['test/e2e/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 60_000,
  env,
};

// The package's own entry points, as the reference app imports them (tsconfig.json `paths`).
const alias = {
  'eventjobs/cdk': fileURLToPath(new URL('./src/cdk.ts', import.meta.url)),
  'eventjobs/testing': fileURLToPath(new URL('./src/testing.ts', import.meta.url)),
  'eventjobs/local': fileURLToPath(new URL('./src/local.ts', import.meta.url)),
  eventjobs: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
  '@eventjobs/app-jobs': fileURLToPath(new URL('./functions/jobs/index.ts', import.meta.url)),
};

export default defineConfig({
  resolve: { alias },
  test: {
    // The JSON report is what .ci/run counts from; the default reporter is for people.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/results.json' },
    restoreMocks: true,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000, env },
      },
      {
        extends: true,
        // Infra tests bundle every function with esbuild during synthesis.
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          env,
        },
      },
      {
        extends: true,
        // End-to-end: one local cloud (or a deployed stack) for the whole project, over HTTP.
        test: { name: 'e2e', ...e2e },
      },
      {
        extends: true,
        // The dashboard in Debian's chromium (playwright-core), against a local cloud of its own.
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          env,
        },
      },
      {
        extends: true,
        // The same suite with the local cloud on an external DynamoDB-compatible server.
        test: {
          name: 'e2e-dynamodb-endpoint',
          ...e2e,
          // fair-share, long-jobs-kill and starters start local clouds of their own (small limits; a
          // SIGKILL; scaled schedules and duplicated deliveries).
          exclude: [
            'test/e2e/cli.test.ts',
            'test/e2e/demo.test.ts',
            'test/e2e/fair-share.test.ts',
            'test/e2e/long-jobs-kill.test.ts',
            'test/e2e/starters.test.ts',
          ],
        },
      },
    ],
  },
});
