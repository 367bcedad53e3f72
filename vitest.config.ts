import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Workspace packages are consumed from their TypeScript sources in tests.
    conditions: ['source'],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'examples/test/**/*.test.ts'],
    // Tests spawn real bootstrap processes; two cores in CI.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ['default', './packages/test-support/src/summary-reporter.ts'],
  },
});
