import { describe, expect, it } from 'vitest'
import type { BusMessage, InvalidationBus } from '../../src/drivers/bus.js'
import { defaultMemoryBusHub, MemoryBus, MemoryBusHub } from '../../src/drivers/memory-bus.js'
import { ValidationError } from '../../src/errors.js'
import { waitFor } from '../support/wait.js'

function record(bus: InvalidationBus) {
  const messages: { message: BusMessage; origin: string }[] = []
  const trust: { trusted: boolean; reason: string }[] = []
  bus.onMessage((message, origin) => messages.push({ message, origin }))
  bus.onTrustChange((trusted, reason) => trust.push({ trusted, reason }))
  return { messages, trust }
}

async function started(...buses: MemoryBus[]) {
  await Promise.all(buses.map((bus) => bus.start()))
  return buses
}

const ALL: BusMessage[] = [
  { type: 'delete', keys: ['a', 'b'] },
  { type: 'tags', tags: ['t'] },
  { type: 'pattern', glob: 'user:*' },
  { type: 'pattern', regexp: { source: '^x', flags: 'i' } },
  { type: 'clear' },
  { type: 'filled', key: 'k' },
]

describe('MemoryBus', () => {
  it('delivers synchronously to every other bus on the hub and channel, never to itself', async () => {
    const hub = new MemoryBusHub()
    const [a, b, c] = await started(
      new MemoryBus({ hub, channel: 'app' }),
      new MemoryBus({ hub, channel: 'app' }),
      new MemoryBus({ hub, channel: 'app' }),
    )
    const other = new MemoryBus({ hub, channel: 'other-app' })
    await other.start()
    const [ra, rb, rc, ro] = [a!, b!, c!, other].map(record)
    for (const message of ALL) {
      const result = a!.publish(message)
      // Already delivered when publish() returns.
      expect(rb!.messages.at(-1)?.message).toEqual(message)
      expect(await result).toBe(true)
    }
    expect(rb!.messages.map((m) => m.message)).toEqual(ALL)
    expect(rc!.messages.map((m) => m.message)).toEqual(ALL)
    expect(rb!.messages.every((m) => m.origin === a!.instanceId)).toBe(true)
    expect(ra!.messages).toEqual([])
    expect(ro!.messages).toEqual([])
    expect(a!.stats.published).toBe(ALL.length)
    expect(b!.stats.received).toBe(ALL.length)
    expect(hub.size).toBe(4)

    // Each receiver gets its own copy, as over Redis; a RegExp arrives as { source, flags }.
    await a!.publish({ type: 'pattern', regexp: /^y/g })
    expect(rb!.messages.at(-1)!.message).toEqual({
      type: 'pattern',
      regexp: { source: '^y', flags: 'g' },
    })
    expect(rb!.messages.at(-1)!.message).not.toBe(rc!.messages.at(-1)!.message)
    for (const bus of [a!, b!, c!, other]) await bus.close()
    expect(hub.size).toBe(0)
  })

  it('is untrusted until started and after close, trusted otherwise', async () => {
    const hub = new MemoryBusHub()
    const a = new MemoryBus({ hub })
    const ra = record(a)
    expect(a.trusted).toBe(false)
    expect(a.trustReason).toBe('not started')
    await a.start()
    await a.start()
    expect(a.trusted).toBe(true)
    expect(ra.trust).toEqual([{ trusted: true, reason: 'subscribed' }])
    await a.close()
    expect(a.trusted).toBe(false)
    expect(ra.trust).toHaveLength(1) // no event on close
    expect(await a.publish({ type: 'clear' })).toBe(false)
  })

  it('partition() cuts buses off (untrusted, messages lost both ways) until heal()', async () => {
    const hub = new MemoryBusHub()
    const [a, b, c] = await started(
      new MemoryBus({ hub }),
      new MemoryBus({ hub }),
      new MemoryBus({ hub }),
    )
    const [ra, rb, rc] = [a!, b!, c!].map(record)

    hub.partition(b!)
    expect(hub.isPartitioned(b!)).toBe(true)
    expect([a!.trusted, b!.trusted, c!.trusted]).toEqual([true, false, true])
    expect(rb!.trust).toEqual([{ trusted: false, reason: expect.stringMatching(/partitioned/) }])
    expect(b!.stats.trustLost).toBe(1)

    expect(await a!.publish({ type: 'delete', keys: ['k'] })).toBe(true)
    expect(rb!.messages).toEqual([]) // lost
    expect(rc!.messages).toHaveLength(1)
    expect(await b!.publish({ type: 'delete', keys: ['k'] })).toBe(false)
    expect(b!.stats.publishFailures).toBe(1)
    expect(ra!.messages).toEqual([])

    hub.heal(b!)
    expect(b!.trusted).toBe(true)
    expect(rb!.trust.map((t) => t.trusted)).toEqual([false, true])
    await a!.publish({ type: 'clear' })
    expect(rb!.messages).toHaveLength(1)

    hub.partition()
    expect([a!.trusted, b!.trusted, c!.trusted]).toEqual([false, false, false])
    const late = new MemoryBus({ hub })
    await late.start()
    expect(late.trusted).toBe(true) // started after the partition
    hub.heal()
    expect([a!.trusted, b!.trusted, c!.trusted]).toEqual([true, true, true])
    expect(ra!.trust.map((t) => t.trusted)).toEqual([false, true])

    // A bus partitioned before it starts stays untrusted when it starts.
    const early = new MemoryBus({ hub })
    hub.partition(early)
    await early.start()
    expect(early.trusted).toBe(false)
    hub.heal(early)
    expect(early.trusted).toBe(true)
  })

  it('delivers after delayMs when set, in order, and not to a bus closed meanwhile', async () => {
    const hub = new MemoryBusHub({ delayMs: 20 })
    const [a, b, c] = await started(
      new MemoryBus({ hub }),
      new MemoryBus({ hub }),
      new MemoryBus({ hub }),
    )
    const [rb, rc] = [b!, c!].map(record)
    await a!.publish({ type: 'delete', keys: ['1'] })
    await a!.publish({ type: 'delete', keys: ['2'] })
    expect(rb!.messages).toEqual([])
    await c!.close()
    await waitFor(() => rb!.messages.length === 2, { what: 'delayed delivery' })
    expect(rb!.messages.map((m) => m.message)).toEqual([
      { type: 'delete', keys: ['1'] },
      { type: 'delete', keys: ['2'] },
    ])
    expect(rc!.messages).toEqual([])
    hub.delayMs = 0
    await a!.publish({ type: 'clear' })
    expect(rb!.messages).toHaveLength(3)
    expect(() => {
      hub.delayMs = -1
    }).toThrow(ValidationError)
  })

  it('a throwing handler is counted and costs a trust blip; the other handlers still run', async () => {
    const hub = new MemoryBusHub()
    const [a, b] = await started(new MemoryBus({ hub }), new MemoryBus({ hub }))
    const rb = record(b!)
    const off = b!.onMessage(() => {
      throw new Error('boom')
    })
    const seen: string[] = []
    b!.onMessage((message) => seen.push(message.type))
    await a!.publish({ type: 'clear' })
    expect(seen).toEqual(['clear'])
    expect(rb.messages).toHaveLength(1)
    expect(b!.stats.handlerErrors).toBe(1)
    expect(rb.trust.map((t) => t.trusted)).toEqual([false, true])
    expect(rb.trust[0]!.reason).toMatch(/handler threw: boom/)
    off()
    await a!.publish({ type: 'clear' })
    expect(b!.stats.handlerErrors).toBe(1)
    // A throwing trust handler is counted, never propagated.
    b!.onTrustChange(() => {
      throw new Error('trust boom')
    })
    hub.partition(b!)
    expect(b!.stats.handlerErrors).toBe(2)
  })

  it('validates its options and what it publishes; defaults to one hub per process', async () => {
    expect(() => new MemoryBus({ hub: {} as MemoryBusHub })).toThrow(/hub/)
    expect(() => new MemoryBus({ channel: '' })).toThrow(/channel/)
    expect(() => new MemoryBusHub({ delayMs: Number.NaN })).toThrow(/delayMs/)
    const a = new MemoryBus()
    const b = new MemoryBus()
    expect(a.hub).toBe(defaultMemoryBusHub)
    await started(a, b)
    const rb = record(b)
    expect(() => a.publish({ type: 'delete' } as unknown as BusMessage)).toThrow(ValidationError)
    expect(await a.publish({ type: 'delete', keys: [] })).toBe(true)
    expect(a.stats.published).toBe(0)
    await a.publish({ type: 'filled', key: 'x' })
    expect(rb.messages).toHaveLength(1)
    await a.close()
    await b.close()
  })
})
