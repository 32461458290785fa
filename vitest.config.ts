import { defineConfig } from 'vitest/config';

// Unit tests run in parallel. Tests under test/e2e and test/workflows share one
// Temporal dev server and the lab Docker hosts, so they run one file at a time
// through their own project.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/workflows/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/db/**/*.test.ts'],
          fileParallelism: false,
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
