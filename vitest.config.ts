import { createRequire } from 'node:module';
import { configDefaults, defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/** The suites whose assertions include wall-clock bounds. */
const TIMED = ['tests/security', 'tests/reliability', 'tests/scale-out'];

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS entry for both import and require; Vite
    // would pick its ESM build for our sources, and two copies of graphql
    // cannot share a schema. Resolve it the way Node does.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      {
        // Two files at a time (vitest's default here is cores - 1 = 1): these
        // suites mostly wait on sockets, SQLite and child processes.
        extends: true,
        test: { name: 'suites', include: ['tests/**/*.test.ts'], exclude: [...configDefaults.exclude, ...TIMED], maxWorkers: 2 },
      },
      {
        // One file at a time, after the others: these assert wall-clock bounds
        // (a bystander's latency, a revocation within 2 s, p99 under a stall),
        // which a second file running beside them breaks on two cores.
        extends: true,
        test: { name: 'timed', include: TIMED.map((dir) => `${dir}/*.test.ts`), maxWorkers: 1 },
      },
    ],
  },
});
