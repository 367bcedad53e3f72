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
    env: {
      // The AWS SDK warns once per process on Node < 22 that its releases after January 2027
      // will need Node 22 (@aws-sdk/core, emitWarningIfUnsupportedVersion; this variable is its
      // documented off switch). The images run Node 22; on the Node 20 of a developer machine the
      // warning is noise in every test that creates an SDK client in-process.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    hookTimeout: 20_000,
    reporters: ['default', './packages/test-support/src/summary-reporter.ts'],
  },
});
