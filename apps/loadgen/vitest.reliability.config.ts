import { defineConfig } from 'vitest/config';

// The fault-injection and fuzzing suites: one file at a time, each with its
// own private PostgreSQL and Kafka (they get killed), so no shared setup.
export default defineConfig({
  test: {
    include: ['src/reliability/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
