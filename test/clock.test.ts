import { describe, expect, it } from 'vitest'
import { coarseNow } from '../src/cache/clock.js'
import { waitFor } from './support/wait.js'

describe('coarseNow', () => {
  it('is Date.now() read at most once per millisecond, and moves on once timers run', async () => {
    const first = coarseNow()
    expect(Math.abs(first - Date.now())).toBeLessThanOrEqual(2)
    // Within one synchronous stretch it is cached...
    const spin = Date.now() + 3
    while (Date.now() < spin) {}
    expect(coarseNow()).toBe(first)
    // ...and as soon as the event loop runs timers, it follows the clock again.
    await waitFor(() => coarseNow() > first, { what: 'the cached time to refresh' })
    expect(Math.abs(coarseNow() - Date.now())).toBeLessThanOrEqual(2)
  })
})
