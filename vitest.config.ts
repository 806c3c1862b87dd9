import { defineConfig } from 'vitest/config';

// Two projects: "unit" is the fast pure-core suite; "vm" boots real guests under QEMU (see test/vm/README in README.md).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // A test that makes no assertion fails: a loop that never iterates must not pass as a check.
          expect: { requireAssertions: true },
          // Projects with different worker limits run as separate groups: the fast unit tests first.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'vm',
          include: ['test/vm/**/*.vm.test.ts'],
          expect: { requireAssertions: true },
          sequence: { groupOrder: 1 },
          globalSetup: ['test/vm/global-setup.ts'],
          testTimeout: 30 * 60_000,
          hookTimeout: 60 * 60_000,
          // Each guest is a single-vCPU TCG VM: two files at a time keeps both host cores busy.
          maxWorkers: 2,
        },
      },
    ],
  },
});
