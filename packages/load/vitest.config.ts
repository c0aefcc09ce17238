import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Generous: turbo runs several packages at once on small CI machines.
    testTimeout: 20_000,
  },
});
