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
  'test/cache/bad-input.test.ts',
  'test/config/cache-env.test.ts',
  'test/prisma/change-feed/options.test.ts',
  'test/prisma/change-feed/row-changes.test.ts',
  'test/drivers/circuit-breaker.test.ts',
  'test/cache/clock.test.ts',
  'test/cache/codec-errors.test.ts',
  'test/cache/codec.test.ts',
  'test/integration/commonjs.test.ts',
  'test/database/exports.test.ts',
  'test/database/replica-watermarks.test.ts',
  'test/config/env-parsers.test.ts',
  'test/cache/fill-fence.test.ts',
  'test/cache/key-builder.test.ts',
  'test/drivers/memory-bus.test.ts',
  'test/option-checks.test.ts',
  'test/cache/presets.test.ts',
  'test/prisma/keys.test.ts',
  'test/prisma/model-graph.test.ts',
  'test/prisma/schema-reader.test.ts',
  'test/prisma/raw-sql-properties.test.ts',
  'test/prisma/raw-sql.test.ts',
  'test/prisma/raw-writes.test.ts',
  'test/config/redis-cluster-env.test.ts',
  'test/config/redis-sentinel-env.test.ts',
  'test/cache/shape-clone.test.ts',
  'test/cache/topology-limits.test.ts',
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
