import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Test files isolate themselves by key prefix and Redis database; two at a time fits 2 cores.
    maxWorkers: 2,
    reporters: ['default'],
  },
})
