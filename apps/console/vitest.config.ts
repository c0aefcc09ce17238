import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // No shared infrastructure: the browser suite starts its own (see console.e2e.test.ts).
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
