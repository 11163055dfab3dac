import { describe, expect, it } from 'vitest'
import { cacheNow, coarseNow } from '../../src/cache/store-types.js'
import { waitFor } from '../support/wait.js'

describe('coarseNow', () => {
  it("is the servers' clock read at most once per millisecond, and moves on once timers run", async () => {
    // The servers' clock is the host's plus an offset some earlier round trip may have sampled.
    const before = cacheNow()
    const first = coarseNow()
    // Never ahead of that clock (how far behind depends on when timers last ran).
    expect(first).toBeLessThanOrEqual(cacheNow())
    expect(first).toBeGreaterThan(before - 1_000)
    // Within one synchronous stretch it is cached...
    const spin = Date.now() + 3
    while (Date.now() < spin) {}
    expect(coarseNow()).toBe(first)
    // ...and as soon as the event loop runs timers, it follows the clock again.
    await waitFor(() => coarseNow() > first, { what: 'the cached time to refresh' })
    expect(coarseNow()).toBeLessThanOrEqual(cacheNow())
  })
})
