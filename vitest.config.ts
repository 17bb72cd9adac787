import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The JSON report is what .ci/run counts from; the default reporter is for people.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/results.json' },
    // Infra tests bundle every function with esbuild during synthesis.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    restoreMocks: true,
  },
});
