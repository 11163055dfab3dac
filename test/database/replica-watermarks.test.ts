import { describe, expect, it } from 'vitest'
import { EVERYTHING, PRIMARY, WriteWatermarks } from '../../src/database/replicas/freshness.js'
import { deferred, waitFor } from '../support/wait.js'

// The order of writes and probes of the primary's WAL position, which decides when a replica may
// serve a model's reads; the routing itself is tested on a real replica in replicas.test.ts.

describe('WriteWatermarks (probes of the primary held with a deferred, to order them against writes)', () => {
  function held() {
    const probes: ReturnType<typeof deferred<bigint>>[] = []
    const watermarks = new WriteWatermarks(() => {
      const probe = deferred<bigint>()
      probes.push(probe)
      return probe.promise
    }, 5)
    return { probes, watermarks }
  }

  it('a probe sent before a write returned does not count for it', async () => {
    const { probes, watermarks } = held()
    const first = watermarks.begin(['Account'])
    expect(watermarks.requirement(['Account'])).toBe(PRIMARY) // running
    expect(watermarks.requirement(['Note'])).toBe(0n) // untouched: any replica
    watermarks.end(first)
    expect(probes).toHaveLength(1)
    expect(watermarks.requirement(['Account'])).toBe(PRIMARY) // not probed yet
    const second = watermarks.begin(['Account'])
    watermarks.end(second) // returned while the first probe is out
    probes[0]?.resolve(100n)
    await waitFor(() => probes.length === 2, { what: 'a second probe' })
    expect(watermarks.requirement(['Account'])).toBe(PRIMARY) // the second write is not covered
    probes[1]?.resolve(200n)
    await waitFor(() => watermarks.requirement(['Account']) === 200n, { what: 'resolved' })
    expect(watermarks.requirement(['Note', 'Account'])).toBe(200n)
    expect(watermarks.probes).toBe(2)
  })

  it('everything, and a bus that may have lost messages, reach every model', async () => {
    const { probes, watermarks } = held()
    watermarks.written([EVERYTHING])
    expect(watermarks.requirement(['Note'])).toBe(PRIMARY)
    probes[0]?.resolve(300n)
    await waitFor(() => watermarks.requirement(['Note']) === 300n, { what: 'resolved' })
    watermarks.distrust()
    expect(watermarks.requirement(['Category'])).toBe(PRIMARY)
    watermarks.trust() // whatever was lost committed before now: one probe covers it
    expect(watermarks.requirement(['Category'])).toBe(PRIMARY)
    probes[1]?.resolve(400n)
    await waitFor(() => watermarks.requirement(['Category']) === 400n, { what: 'trusted again' })
  })

  it('a failed probe is retried; reads stay on the primary meanwhile', async () => {
    const { probes, watermarks } = held()
    watermarks.written(['Order'])
    probes[0]?.reject(new Error('primary unreachable'))
    await waitFor(() => probes.length === 2, { what: 'the retry' })
    expect(watermarks.requirement(['Order'])).toBe(PRIMARY)
    expect(watermarks.probeFailures).toBe(1)
    probes[1]?.resolve(500n)
    await waitFor(() => watermarks.requirement(['Order']) === 500n, { what: 'resolved' })
    watermarks.close()
  })
})
