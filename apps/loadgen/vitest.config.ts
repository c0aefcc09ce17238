import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // The reliability suites run on their own: vitest.reliability.config.ts.
    exclude: ['src/reliability/**', 'node_modules/**', 'dist/**'],
    globalSetup: ['@comms/testing/global-setup'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
