import type { BusMessage } from '../drivers/bus.js'
import { invalid } from '../errors.js'
import { patternMessage } from './bus-link.js'
import { type BatchItem, planWrite, type SetOptions } from './call-options.js'
import type { Tier } from './events.js'
import { keyMatcher } from './glob.js'
import { assertOpen, type ManagerState } from './manager-wiring.js'
import { cacheNow, coarseNow, isFresh, MISS, type Prepared } from './store-types.js'
import { type CacheInvalidationMessage, type CacheReadMessage, traceTargets } from './tracing.js'
import { assertKey, assertKeys, normalizeTags } from './validate.js'

// What `CacheManager`'s reads and writes do once its public methods have started tracing them:
// validate, go through both tiers, count, emit the event, and tell the other instances of a write.

/** `get`; `trace`, while tracing, learns how it was answered. */
export async function readValue<T>(
  state: ManagerState,
  key: string,
  trace: CacheReadMessage | undefined,
): Promise<T | undefined> {
  const options = state.options
  assertKey(key, options.maxKeyLength)
  assertOpen(state)
  const { metrics, sink } = state
  if (!options.enabled) {
    metrics.misses++
    return undefined
  }
  const store = state.store
  const l1 = store.l1
  if (l1 !== undefined) {
    const entry = l1.get(key)
    if (
      entry !== undefined &&
      isFresh(entry, coarseNow()) &&
      (!options.strict || (await store.stillCurrent(key, entry)))
    ) {
      countHit(state, key, 'l1', trace)
      return store.outL1(entry) as T
    }
    metrics.l1Misses++
  }
  if (store.l2 !== undefined) {
    const found = await store.readL2(key)
    if (found !== undefined && isFresh(found, cacheNow())) {
      countHit(state, key, 'l2', trace)
      // A value L1 did not keep is private to this read: no copy needed.
      return (found.shared ? store.out(found.value) : found.value) as T
    }
    if (found !== undefined) metrics.l2Misses++
  }
  metrics.misses++
  sink.cache.emit('miss', { key })
  if (trace !== undefined) trace.status = 'miss'
  return undefined
}

/** A fresh hit of `get` on `tier`: counted, told to `hit` listeners and to the trace. */
function countHit(
  state: ManagerState,
  key: string,
  tier: Tier,
  trace: CacheReadMessage | undefined,
): void {
  const metrics = state.metrics
  metrics.hits++
  if (tier === 'l1') metrics.l1Hits++
  else metrics.l2Hits++
  if (state.sink.emitHits) state.sink.cache.emit('hit', { key, tier, stale: false })
  if (trace !== undefined) {
    trace.status = 'hit'
    trace.tier = tier
  }
}

/** `has`: whether a fresh value is cached under `key`, without counting a hit or miss. */
export async function holdsFresh(state: ManagerState, key: string): Promise<boolean> {
  assertKey(key, state.options.maxKeyLength)
  assertOpen(state)
  if (!state.options.enabled) return false
  const store = state.store
  const local = store.peekL1(key)
  if (
    local !== undefined &&
    local.freshUntil > coarseNow() &&
    (!state.options.strict || (await store.stillCurrent(key, local)))
  ) {
    return true
  }
  const found = await store.readL2(key)
  return found !== undefined && found.freshUntil > cacheNow()
}

/** `getBatch`: values aligned with `keys`, `undefined` for misses. */
export async function readBatch<T>(
  state: ManagerState,
  keys: readonly string[],
): Promise<(T | undefined)[]> {
  assertKeys(keys, state.options.maxKeyLength)
  assertOpen(state)
  const metrics = state.metrics
  if (!state.options.enabled) {
    metrics.misses += keys.length
    return keys.map(() => undefined)
  }
  const values = await readManyFresh(state, keys)
  for (let i = 0; i < values.length; i++) {
    if (values[i] === MISS) {
      values[i] = undefined
      metrics.misses++
    } else metrics.hits++
  }
  return values as (T | undefined)[]
}

/**
 * Fresh values for `keys` (aligned, ready to hand out), {@link MISS} where none: L1 first, then
 * one L2 round trip for the rest.
 */
async function readManyFresh(state: ManagerState, keys: readonly string[]): Promise<unknown[]> {
  const { store, metrics } = state
  const now = coarseNow()
  const results: unknown[] = new Array(keys.length)
  const missing: number[] = []
  // Strict mode checks L1 against Redis: for a batch, reading all of it in one MGET is cheaper
  // than one stamp check per key.
  const l1 = state.options.strict && store.l2 !== undefined ? undefined : store.l1
  for (let i = 0; i < keys.length; i++) {
    const entry = l1?.get(keys[i]!)
    if (entry !== undefined && isFresh(entry, now)) {
      results[i] = store.outL1(entry)
      metrics.l1Hits++
    } else {
      if (store.l1 !== undefined) metrics.l1Misses++
      results[i] = MISS
      missing.push(i)
    }
  }
  if (missing.length === 0 || store.l2 === undefined) return results
  const ticket = store.fence.acquire()
  try {
    const found = await store.l2.getMany(missing.map((i) => keys[i]!))
    const readAt = cacheNow()
    for (let j = 0; j < missing.length; j++) {
      // Decoded, and promoted into L1 when fresh and not fenced since the ticket.
      const read = store.readBytes(keys[missing[j]!]!, found[j], ticket)
      if (read === undefined) continue
      if (!isFresh(read, readAt)) {
        metrics.l2Misses++
        continue
      }
      metrics.l2Hits++
      results[missing[j]!] = read.shared ? store.out(read.value) : read.value
    }
  } finally {
    store.fence.release(ticket)
  }
  return results
}

/** `set`: validates and copies `value`, writes both tiers, and tells the other instances. */
export async function writeValue(
  state: ManagerState,
  key: string,
  value: unknown,
  options: SetOptions | undefined,
): Promise<void> {
  assertKey(key, state.options.maxKeyLength)
  assertOpen(state)
  const prepared = state.store.prepare(value, planWrite(options, state.options))
  if (!state.options.enabled) return
  state.store.fence.touchKey(key)
  await state.store.write(key, prepared)
  // Other instances drop their L1 copy; they read the new value from L2 on their next get.
  await publish(state, { type: 'delete', keys: [key] })
  state.sink.cache.emit('set', { key, tags: prepared.plan.tags })
}

/** `setBatch`: every item validated before anything is stored, then one L2 round trip. */
export async function writeBatch(
  state: ManagerState,
  items: readonly BatchItem[],
  tags: string | readonly string[] | undefined,
): Promise<void> {
  if (!Array.isArray(items)) throw invalid('items', 'must be an array of { key, value, ttl? }')
  assertOpen(state)
  const normalizedTags = normalizeTags(tags)
  const { store, options } = state
  const prepared: { key: string; prepared: Prepared }[] = items.map((item, i) => {
    if (typeof item !== 'object' || item === null)
      throw invalid(`items[${i}]`, 'must be { key, value, ttl? }')
    assertKey(item.key, options.maxKeyLength, `items[${i}].key`)
    const plan = planWrite({ ttl: item.ttl, tags: normalizedTags }, options, `items[${i}].ttl`)
    return { key: item.key, prepared: store.prepare(item.value, plan) }
  })
  if (!options.enabled) return
  for (const item of prepared) store.fence.touchKey(item.key)
  await store.writeMany(prepared)
  await publish(state, { type: 'delete', keys: prepared.map((item) => item.key) })
  for (const item of prepared) state.sink.cache.emit('set', { key: item.key, tags: normalizedTags })
}

/** `delete`: removes the keys from both tiers. */
export async function deleteKeys(
  state: ManagerState,
  keys: string | readonly string[],
  trace?: CacheInvalidationMessage,
): Promise<void> {
  const list = typeof keys === 'string' ? [keys] : keys
  assertKeys(list, state.options.maxKeyLength, typeof keys === 'string' ? 'key' : 'keys')
  assertOpen(state)
  traceTargets(trace, list)
  if (list.length === 0) return
  const { fence, l1, l2 } = state.store
  for (const key of list) {
    fence.touchKey(key)
    l1?.delete(key)
  }
  await l2?.delete(list)
  await publish(state, { type: 'delete', keys: [...list] })
  state.metrics.deletes += list.length
  state.sink.cache.emit('delete', { keys: list })
}

/** `invalidateByTag`: removes every entry carrying any of the tags, in both tiers. */
export async function invalidateTags(
  state: ManagerState,
  tags: string | readonly string[],
  trace?: CacheInvalidationMessage,
): Promise<void> {
  const list = normalizeTags(tags, 'tag')
  if (list.length === 0) throw invalid('tag', 'must name at least one tag')
  assertOpen(state)
  traceTargets(trace, list)
  const message: BusMessage = { type: 'tags', tags: [...list] }
  // On one Redis, the invalidation script publishes the notice itself: one round trip.
  const notice = state.setup.degraded ? undefined : state.link?.noticeFor(message)
  const { fence, l1, l2 } = state.store
  for (const tag of list) fence.touchTag(tag)
  const local = l1?.deleteByTags(list) ?? 0
  // `notice`: the bus notice L2 publishes with the invalidation (see `BusLink.noticeFor`).
  const removed = Math.max(local, (await l2?.deleteByTags(list, notice)) ?? 0)
  if (trace !== undefined) trace.removed = removed
  if (notice === undefined) await publish(state, message)
  else state.metrics.busSent++
  state.metrics.invalidations++
  state.sink.cache.emit('invalidate', { kind: 'tag', tags: list, removed })
}

/** `invalidateByPattern`: the number removed from the tier that held the most. */
export async function invalidatePattern(
  state: ManagerState,
  pattern: string | RegExp,
  trace?: CacheInvalidationMessage,
): Promise<number> {
  if (!(pattern instanceof RegExp) && (typeof pattern !== 'string' || pattern.length === 0)) {
    throw invalid('pattern', 'must be a non-empty glob string or a RegExp')
  }
  assertOpen(state)
  const { fence, l1, l2 } = state.store
  const matches = keyMatcher(pattern)
  fence.touchMatching(matches)
  const local = l1?.deleteWhere(matches) ?? 0
  const removed = Math.max(local, (await l2?.deleteByPattern(pattern)) ?? 0)
  if (trace !== undefined) {
    trace.target = String(pattern)
    trace.removed = removed
  }
  await publish(state, patternMessage(pattern))
  state.metrics.invalidations++
  state.sink.cache.emit('invalidate', { kind: 'pattern', pattern, removed })
  return removed
}

/** `clear`: L1, and in Redis only the keys under this cache's prefix. */
export async function clearAll(state: ManagerState): Promise<void> {
  assertOpen(state)
  const { fence, l1, l2 } = state.store
  fence.touchAll()
  l1?.clear()
  await l2?.clear()
  await publish(state, { type: 'clear' })
  state.metrics.invalidations++
  state.sink.cache.emit('invalidate', { kind: 'clear' })
}

/**
 * Tells the other instances (through the bus) about an invalidation made here. Awaited while
 * Redis is healthy, so that a write resolves once the others were told; not while it is
 * degraded, when the publish could only wait for its retries to run out.
 */
function publish(state: ManagerState, message: BusMessage): Promise<void> | undefined {
  const published = state.link?.publish(message, state.options.commandTimeoutMs)
  return state.setup.degraded ? undefined : published
}
