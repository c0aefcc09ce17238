import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Synthesis is CPU-bound and offline; generous for small CI machines running several packages.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
