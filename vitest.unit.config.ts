import { defineConfig } from 'vitest/config'
import base from './vitest.config.js'

/**
 * The unit lane (`npm run test:unit`): the test files that need no server (no Redis, no
 * PostgreSQL, no redis-server or PostgreSQL of their own, no browser) and run in seconds.
 * `npm test` still runs every file, these included.
 *
 * A file belongs here only if it passes where nothing can be reached; check a file before adding
 * it, and the whole lane after changing it, in a network namespace of its own:
 *
 *     unshare -n npx vitest run --config vitest.unit.config.ts
 *
 * Files that mix unit tests with server tests (cache-manager, keyv-store, warming...) stay out.
 */
export const UNIT_TEST_FILES = [
  'test/bad-input.test.ts',
  'test/cache-env.test.ts',
  'test/change-feed/options.test.ts',
  'test/change-feed/row-changes.test.ts',
  'test/circuit-breaker.test.ts',
  'test/clock.test.ts',
  'test/codec-errors.test.ts',
  'test/codec.test.ts',
  'test/commonjs.test.ts',
  'test/database-exports.test.ts',
  'test/database-replica-watermarks.test.ts',
  'test/env-parsers.test.ts',
  'test/fill-fence.test.ts',
  'test/key-builder.test.ts',
  'test/memory-bus.test.ts',
  'test/option-checks.test.ts',
  'test/presets.test.ts',
  'test/prisma-keys.test.ts',
  'test/prisma-model-graph.test.ts',
  'test/prisma-schema-reader.test.ts',
  'test/prisma-raw-sql-properties.test.ts',
  'test/prisma-raw-sql.test.ts',
  'test/prisma-raw-writes.test.ts',
  'test/redis-cluster-config.test.ts',
  'test/redis-sentinel-env.test.ts',
  'test/shape-clone.test.ts',
  'test/topology-limits.test.ts',
]

// Spread, not mergeConfig: that would add this list to the full suite's include pattern.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: UNIT_TEST_FILES,
    // One module graph per worker rather than per file: importing the sources again for each
    // file was half the lane's time. These files restore what they patch (prototypes, clocks);
    // the full suite still isolates every file.
    isolate: false,
  },
})
