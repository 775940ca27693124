import { defineConfig } from 'vitest/config';

// Three suites: fast unit tests, the namespace-lab integration suite (real dockerd/sshd per
// node), and the small mesh suite on QEMU VMs (real ingress routing mesh). In all three a Node
// warning or an unhandled rejection fails the test it happened in.
const setupFiles = ['test/support/fail-on-warnings.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          setupFiles,
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          setupFiles,
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/build-global-setup.ts', 'test/lab/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'mesh',
          setupFiles,
          include: ['test/mesh/**/*.test.ts'],
          globalSetup: ['test/support/build-global-setup.ts', 'test/lab/mesh-global-setup.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
