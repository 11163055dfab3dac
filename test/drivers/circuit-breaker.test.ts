import { describe, expect, it } from 'vitest'
import { type BreakerState, CircuitBreaker } from '../../src/drivers/circuit-breaker.js'
import { ValidationError } from '../../src/errors.js'

/** A breaker on a fake clock, recording its state changes. */
function setup(options: { failureThreshold?: number; openMs?: number; maxOpenMs?: number } = {}) {
  const clock = { now: 1_000_000 }
  const changes: string[] = []
  const breaker = new CircuitBreaker({
    failureThreshold: 3,
    openMs: 100,
    ...options,
    now: () => clock.now,
    onStateChange: (to: BreakerState, from: BreakerState) => changes.push(`${from}->${to}`),
  })
  return { breaker, clock, changes }
}

describe('CircuitBreaker', () => {
  it('starts closed and lets every call through', () => {
    const { breaker } = setup()
    expect(breaker.state).toBe('closed')
    expect(breaker.isClosed).toBe(true)
    for (let i = 0; i < 10; i++) expect(breaker.allowRequest()).toBe(true)
  })

  it('opens after failureThreshold consecutive failures (a success resets the count)', () => {
    const { breaker, changes } = setup()
    breaker.onFailure()
    breaker.onFailure()
    breaker.onSuccess()
    expect(breaker.failures).toBe(0)
    breaker.onFailure()
    breaker.onFailure()
    expect(breaker.state).toBe('closed')
    breaker.onFailure()
    expect(breaker.state).toBe('open')
    expect(breaker.allowRequest()).toBe(false)
    expect(changes).toEqual(['closed->open'])
  })

  it('lets exactly one probe through after openMs; its success closes the circuit', () => {
    const { breaker, clock, changes } = setup()
    breaker.trip()
    expect(breaker.retryAt).toBe(clock.now + 100)
    clock.now += 99
    expect(breaker.allowRequest()).toBe(false)
    clock.now += 1
    expect(breaker.allowRequest()).toBe(true)
    expect(breaker.state).toBe('half-open')
    expect(breaker.allowRequest()).toBe(false)
    expect(breaker.allowRequest()).toBe(false)
    breaker.onSuccess()
    expect(breaker.state).toBe('closed')
    expect(breaker.allowRequest()).toBe(true)
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->closed'])
  })

  it('keeps a fixed open period by default', () => {
    const { breaker, clock } = setup()
    breaker.trip()
    for (let i = 0; i < 3; i++) {
      clock.now = breaker.retryAt
      expect(breaker.allowRequest()).toBe(true)
      breaker.onFailure()
      expect(breaker.retryAt - clock.now).toBe(100)
    }
  })

  it('a failed probe reopens with a doubled period, capped, reset by a success', () => {
    const { breaker, clock } = setup({ openMs: 100, maxOpenMs: 300 })
    breaker.trip()
    const periods: number[] = []
    for (let i = 0; i < 4; i++) {
      clock.now = breaker.retryAt
      expect(breaker.allowRequest()).toBe(true)
      breaker.onFailure()
      periods.push(breaker.retryAt - clock.now)
    }
    expect(periods).toEqual([200, 300, 300, 300])
    clock.now = breaker.retryAt
    expect(breaker.allowRequest()).toBe(true)
    breaker.onSuccess()
    breaker.trip()
    expect(breaker.retryAt - clock.now).toBe(100)
  })

  it('ignores outcomes while open (late answers to calls sent before it opened)', () => {
    const { breaker, changes } = setup()
    breaker.trip()
    breaker.onSuccess()
    breaker.onFailure()
    breaker.trip()
    expect(breaker.state).toBe('open')
    expect(changes).toEqual(['closed->open'])
  })

  it('trip() while half-open counts as a failed probe; reset() closes at once', () => {
    const { breaker, clock } = setup({ maxOpenMs: 400 })
    breaker.trip()
    clock.now = breaker.retryAt
    breaker.allowRequest()
    breaker.trip()
    expect(breaker.state).toBe('open')
    expect(breaker.retryAt - clock.now).toBe(200)
    breaker.reset()
    expect(breaker.state).toBe('closed')
    breaker.trip()
    expect(breaker.retryAt - clock.now).toBe(100)
  })

  it('bumps its epoch on every state change only', () => {
    const { breaker, clock } = setup()
    const e0 = breaker.epoch
    breaker.onSuccess()
    breaker.onFailure()
    expect(breaker.epoch).toBe(e0)
    breaker.trip()
    clock.now = breaker.retryAt
    breaker.allowRequest()
    breaker.onSuccess()
    expect(breaker.epoch).toBe(e0 + 3)
  })

  it('survives a throwing listener', () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 1,
      onStateChange: () => {
        throw new Error('listener bug')
      },
    })
    expect(() => breaker.onFailure()).not.toThrow()
    expect(breaker.state).toBe('open')
  })

  it('works on the real clock', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 30 })
    breaker.onFailure()
    expect(breaker.allowRequest()).toBe(false)
    // A timer may fire a little before Date.now() reaches its time (two clocks): a few ms more.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, breaker.retryAt - Date.now()) + 5),
    )
    expect(breaker.allowRequest()).toBe(true)
  })

  it('validates its options', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(ValidationError)
    expect(() => new CircuitBreaker({ failureThreshold: 1.5 })).toThrow(/failureThreshold/)
    expect(() => new CircuitBreaker({ openMs: -1 })).toThrow(/openMs/)
    expect(() => new CircuitBreaker({ openMs: 100, maxOpenMs: 50 })).toThrow(/maxOpenMs/)
    expect(new CircuitBreaker().failureThreshold).toBe(5)
    expect(new CircuitBreaker().openMs).toBe(1000)
    expect(new CircuitBreaker({ openMs: 200 }).maxOpenMs).toBe(200)
  })
})
