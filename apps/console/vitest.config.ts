import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    globalSetup: ['@comms/testing/global-setup'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
