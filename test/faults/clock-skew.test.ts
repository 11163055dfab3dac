/**
 * Hosts whose wall clocks disagree (injected in the worker processes) must not stretch or shrink
 * each other's TTLs: freshness is measured on Redis's clock, whatever the host's says.
 */
import { afterAll, afterEach, expect, it } from 'vitest'
import { deleteKeysUnder, rawRedis, uniquePrefix } from '../support/redis.js'
import { waitFor } from '../support/wait.js'
import { killAll, Worker } from '../support/workers.js'

const raw = rawRedis()
const prefixes: string[] = []
const TEN_MINUTES = 10 * 60_000

afterEach(async () => {
  await killAll()
  for (const prefix of prefixes.splice(0)) await deleteKeysUnder(raw, prefix)
})
afterAll(() => raw.disconnect())

type Read = { value: unknown; tier: string }

/** Each test starts two worker processes, which a loaded machine is slow to start. */
const WITH_WORKERS_MS = 40_000

async function pair(writerSkewMs: number) {
  const prefix = uniquePrefix('clock-skew')
  prefixes.push(prefix)
  const [writer, reader] = await Promise.all([
    Worker.spawn('writer', undefined, { SC_TEST_CLOCK_SKEW_MS: String(writerSkewMs) }),
    Worker.spawn('reader'),
  ])
  await Promise.all([writer, reader].map((w) => w.call('open', { name: 'c', options: { prefix } })))
  return { writer, reader }
}

it(
  'a writer whose clock runs 10 minutes ahead does not keep its entries fresh for 10 minutes',
  async () => {
    const { writer, reader } = await pair(TEN_MINUTES)
    await writer.call('set', { name: 'c', key: 'k', value: 'v', options: { ttl: 1_500 } })
    expect(await reader.call<Read>('read', { name: 'c', key: 'k' })).toEqual({
      value: 'v',
      tier: 'l2',
    })
    // The reader's L1 took it for as long as it is fresh: 1.5 s, not 10 minutes.
    await waitFor(
      async () => (await reader.call<Read>('read', { name: 'c', key: 'k' })).value === undefined,
      {
        what: 'the entry to expire on the reader',
        timeoutMs: 6_000,
      },
    )
  },
  WITH_WORKERS_MS,
)

it(
  'a writer whose clock runs 10 minutes behind does not write entries expired on arrival',
  async () => {
    const { writer, reader } = await pair(-TEN_MINUTES)
    await writer.call('set', { name: 'c', key: 'k', value: 'v', options: { ttl: 60_000 } })
    expect(await reader.call<Read>('read', { name: 'c', key: 'k' })).toEqual({
      value: 'v',
      tier: 'l2',
    })
  },
  WITH_WORKERS_MS,
)
