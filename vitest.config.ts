import { defineConfig } from 'vitest/config';

// Three projects: "unit" is the fast pure-core suite; "vm" boots real guests under QEMU (see test/vm/README in
// README.md); "lab" checks the VM lab itself (npm run test:lab, not part of npm test).
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
          // The lab's own checks (its disks, markers, timeouts, GRUB) prove the harness, not the product.
          exclude: ['test/vm/lab-*.vm.test.ts'],
          expect: { requireAssertions: true },
          sequence: { groupOrder: 1 },
          globalSetup: ['test/vm/global-setup.ts'],
          testTimeout: 30 * 60_000,
          hookTimeout: 60 * 60_000,
          // Each guest is a single-vCPU TCG VM: two files at a time keeps both host cores busy.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/vm/lab-*.vm.test.ts'],
          expect: { requireAssertions: true },
          globalSetup: ['test/vm/global-setup.ts'],
          testTimeout: 30 * 60_000,
          hookTimeout: 60 * 60_000,
          maxWorkers: 2,
        },
      },
    ],
  },
});
