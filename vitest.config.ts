import { defineConfig } from 'vitest/config';

/**
 * Two groups: unit suites run in parallel first; then the system suites (real node processes on
 * loopback) run one file at a time, so a 2-core CI machine is not asked to host several networks
 * at once.
 */
const SYSTEM = [
  'test/e2e/**/*.test.ts',
  'test/devnet/**/*.test.ts',
  'test/cli/**/*.test.ts',
  'test/rpc/methods.test.ts',
  'test/explorer/browser.test.ts',
];

export default defineConfig({
  test: {
    setupFiles: ['./test/setup.ts'],
    reporters: ['default', './test/summaryReporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: SYSTEM, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        // Real processes: their own waits (up to 150 s on a loaded machine) name what they waited for,
        // so the test timeout must not cut them short.
        test: {
          name: 'system',
          include: SYSTEM,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 240_000,
        },
      },
    ],
  },
});
