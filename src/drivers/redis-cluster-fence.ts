/*
 * Fencing, leases and tag invalidation on a Redis Cluster: the protocol of `redis-fence.ts` and
 * `redis-tag-invalidation.ts`, cut along hash slots (names: `redis-key-layout.ts`).
 *
 * - One cache key's keys (entry, lease, waiters, version, its slot's `all` version) share a slot:
 *   beginning a fill, storing it, writing and deleting are each one atomic script, as standalone.
 * - One tag's keys (set, version, draining set) share the tag's slot.
 * - A fill with tags first records its entry in each tag's set, each refused if the tag's version
 *   is at or past the fill's fence point, then stores with the key's script. An invalidation of
 *   the tag either comes before the record (the record is refused: the fill is fenced) or after
 *   it (it finds the entry in the set, and bumps the key's version and deletes the entry: the
 *   store is then refused, or deleted).
 * - A tag invalidation bumps the tag's version and moves its members to a draining set in one
 *   script, deletes each member's entry with the key's own script (bumping the key's version), and
 *   only then takes them out of the draining set: a node failing halfway leaves the rest for the
 *   replay (the call fails, the resilient layer queues it), never a silent skip.
 * - `clear` and pattern invalidations bump the `all` version of every slot.
 *
 * The fence point is the clock of the key's node, and a tag's version that of the tag's node:
 * comparing them assumes the nodes' clocks agree within `clockSkewMs`, by which the threshold is
 * lowered (a fill of a tag invalidated that long before it began is refused: an extra miss).
 */
import type { Cluster } from 'ioredis'
import { invalid } from '../errors.js'
import type { FillStart, LeaseMode, StoreOutcome } from './l2-driver.js'
import {
  CLUSTER_BUMP,
  CLUSTER_DELETE,
  CLUSTER_DRAIN_TAG,
  CLUSTER_DRAINED,
  CLUSTER_ENLIST,
  CLUSTER_STORE,
  CLUSTER_WRITE,
} from './redis-cluster-scripts.js'
import { beginFill, RELEASE_LEASE, STORE_OUTCOMES } from './redis-fence.js'
import { allSlotVersions, type RedisKeyLayout } from './redis-key-layout.js'
import { runScript } from './redis-scripts.js'

export class ClusterFence {
  readonly #client: Cluster
  readonly #prefix: string
  readonly #layout: RedisKeyLayout
  readonly #versionTtlMs: number
  readonly #skewMicros: number

  constructor(
    client: Cluster,
    prefix: string,
    layout: RedisKeyLayout,
    fenceWindowMs: number,
    clockSkewMs: number,
  ) {
    this.#client = client
    this.#prefix = prefix
    this.#layout = layout
    this.#versionTtlMs = fenceWindowMs * 2
    if (!Number.isSafeInteger(clockSkewMs) || clockSkewMs < 0) {
      throw invalid('clockSkewMs', `must be an integer >= 0, got ${String(clockSkewMs)}`)
    }
    this.#skewMicros = clockSkewMs * 1000
  }

  begin(key: string, leaseMs: number, token: string, lease: LeaseMode): Promise<FillStart> {
    return beginFill(this.#client, this.#layout, { key, leaseMs, token, lease })
  }

  async store(
    key: string,
    value: Buffer,
    ttl: number,
    tags: readonly string[],
    since: string,
    token: string,
  ): Promise<StoreOutcome> {
    const l = this.#layout
    if (tags.length > 0) {
      const threshold = String(Number(since) - this.#skewMicros)
      const recorded = await this.#enlist(key, ttl, tags, threshold)
      if (!recorded) {
        await this.release(key, token)
        return 'fenced'
      }
    }
    const keys = [l.entry(key), l.lease(key), l.waiters(key), l.allVersion(key), l.keyVersion(key)]
    const outcome = await runScript(this.#client, CLUSTER_STORE, keys, [value, ttl, token, since])
    return STORE_OUTCOMES[outcome as number]!
  }

  async release(key: string, token: string): Promise<void> {
    await runScript(this.#client, RELEASE_LEASE, [this.#layout.lease(key)], [token])
  }

  /** A `set`: the entry recorded in its tags' sets, then written with its version bumped. */
  async write(key: string, value: Buffer, ttl: number, tags: readonly string[]): Promise<void> {
    if (tags.length > 0) await this.#enlist(key, ttl, tags, '')
    const l = this.#layout
    await runScript(
      this.#client,
      CLUSTER_WRITE,
      [l.entry(key), l.keyVersion(key)],
      [value, ttl, this.#versionTtlMs],
    )
  }

  /** Bumps each key's version and unlinks its entry (one script per key, all at once). */
  async delete(keys: readonly string[]): Promise<number> {
    const l = this.#layout
    const removed = await Promise.all(
      keys.map((key) =>
        runScript(
          this.#client,
          CLUSTER_DELETE,
          [l.keyVersion(key), l.entry(key)],
          [this.#versionTtlMs],
        ),
      ),
    )
    let total = 0
    for (const count of removed) total += Number(count)
    return total
  }

  /** Invalidates `tags` (each in its own slot, all at once); resolves to the entries removed. */
  async invalidateTags(tags: readonly string[], batch: number): Promise<number> {
    const counts = await Promise.all([...new Set(tags)].map((tag) => this.#drain(tag, batch)))
    let total = 0
    for (const count of counts) total += count
    return total
  }

  /**
   * Fences every fill in flight, on every slot: for `clear` and pattern invalidations. One
   * pipeline of one-key scripts per master, for the slots it serves (16384 scripts through the
   * cluster router took a second). A slot that moved meanwhile answers MOVED: the call fails and
   * is replayed, as any other on a slot that is not reachable.
   */
  async bumpAll(): Promise<void> {
    const ttl = this.#versionTtlMs
    const names = allSlotVersions(this.#prefix)
    // Before the first connection the slot map is empty: a PING waits for it.
    if (this.#client.slots[0] === undefined) await this.#client.ping()
    const bySlotOwner = new Map<string, string[]>()
    for (let slot = 0; slot < names.length; slot++) {
      const owner = this.#client.slots[slot]?.[0]
      if (owner === undefined) throw new Error(`Redis Cluster: no master serves slot ${slot}`)
      const list = bySlotOwner.get(owner) ?? []
      list.push(names[slot]!)
      bySlotOwner.set(owner, list)
    }
    const masters = new Map(
      this.#client
        .nodes('master')
        .map((node) => [`${node.options.host}:${node.options.port}`, node]),
    )
    await Promise.all(
      [...bySlotOwner].map(async ([owner, versions]) => {
        const node = masters.get(owner)
        if (node === undefined) throw new Error(`Redis Cluster: master ${owner} is not connected`)
        await node.script('LOAD', CLUSTER_BUMP.lua)
        const pipeline = node.pipeline()
        for (const name of versions) pipeline.evalsha(CLUSTER_BUMP.sha, 1, name, ttl)
        for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error
      }),
    )
  }

  async #enlist(
    key: string,
    ttl: number,
    tags: readonly string[],
    threshold: string,
  ): Promise<boolean> {
    const l = this.#layout
    const entry = l.entry(key)
    const replies = await Promise.all(
      [...new Set(tags)].map((tag) =>
        runScript(
          this.#client,
          CLUSTER_ENLIST,
          [l.tagVersion(tag), l.tagSet(tag)],
          [entry, ttl, threshold],
        ),
      ),
    )
    return replies.every((reply) => Number(reply) === 1)
  }

  async #drain(tag: string, batch: number): Promise<number> {
    const l = this.#layout
    const keys = [l.tagVersion(tag), l.tagSet(tag), l.tagDraining(tag)]
    let removed = 0
    let bump: string | number = this.#versionTtlMs
    let rounds = 1
    for (let round = 0; round < rounds; round++) {
      const [members, left] = (await runScript(this.#client, CLUSTER_DRAIN_TAG, keys, [
        bump,
        batch,
      ])) as [string[], number]
      // Bounded by what was there at first: writers adding meanwhile cannot keep us here.
      if (round === 0) rounds = Math.ceil(left / batch) + 2
      bump = ''
      if (members.length === 0) break
      const cacheKeys = members
        .filter((name) => name.startsWith(this.#prefix))
        .map((name) => name.slice(this.#prefix.length))
      removed += await this.delete(cacheKeys)
      await runScript(this.#client, CLUSTER_DRAINED, [keys[2]!], members)
    }
    return removed
  }
}
