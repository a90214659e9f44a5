import * as path from 'node:path';
import { defineConfig } from 'vitest/config';

// Real daemons and real PM2 daemons: generous timeouts, and at most two test files at once
// (the machine has two cores; more only makes timing-sensitive tests flaky). `npm test` runs the
// multi-node files (test/cluster, pm2-multinode: fast lease profile, FS 1.2 s) afterwards, one
// at a time, so that no other suite starves their coordinators of CPU.
export default defineConfig({
  test: {
    root: path.resolve(__dirname, '..'),
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
  },
});
