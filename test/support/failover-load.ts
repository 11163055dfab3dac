/**
 * Reads and writes under load on several caches of one process (each its own L1), against a
 * source of truth held in memory, every read checked against the writes acknowledged before it
 * (the consistency checker's `analyze`): for faults that move Redis itself, such as a failover.
 *
 * A write bumps a record's version in the source, then invalidates its entry (a delete or its
 * tag) and is acknowledged once that resolved; a read is a `getOrCompute` whose loader reads the
 * source and then sleeps (the fill race window). Every call, its failures, and each cache's
 * `degraded` / `recovered` events are timed on `performance.now()`.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { CacheManager } from '../../src/index.js'
import { type Analysis, analyze, DEFAULT_LOAD } from './consistency/checker.js'
import {
  clock,
  draw,
  READ_FIELDS,
  RecordBuffer,
  type RecordValue,
  recordKey,
  recordTag,
  WRITE_FIELDS,
} from './consistency/protocol.js'

/** One cache under load and what happened to it. */
export interface LoadedInstance {
  index: number
  cache: CacheManager
  reads: RecordBuffer
  writes: RecordBuffer
  /** `[from, to]` on `clock()`; `to` is `undefined` while degraded. */
  degraded: [number, number | undefined][]
  /** The reason of each `degraded` event. */
  reasons: string[]
  /** `error` events of operation `settle`: a write acknowledged with its invalidation queued. */
  unsettled: number
  /** Longest read and write, ms. */
  slowestReadMs: number
  slowestWriteMs: number
}

export interface LoadShape {
  records: number
  readers: number
  writers: number
  readPauseMs: readonly [number, number]
  writePauseMs: readonly [number, number]
  loaderDelayMs: readonly [number, number]
}

export const FAILOVER_LOAD: LoadShape = {
  records: 8,
  readers: 3,
  writers: 1,
  readPauseMs: [0, 2],
  writePauseMs: [5, 15],
  loaderDelayMs: [0, 10],
}

export class FailoverLoad {
  readonly shape: LoadShape
  readonly instances: LoadedInstance[]
  /** The source of truth: `versions[id]`. */
  readonly versions: number[]
  /** Calls that rejected: when (on `clock()`), and the error. */
  readonly failures: { at: number; error: string }[] = []
  #stopped = false
  /** When `stop()` saw the last loop end (`performance.now()`). */
  #stoppedAt: number | undefined
  #loops: Promise<void>[] = []
  #seq = 0

  constructor(caches: CacheManager[], shape: LoadShape = FAILOVER_LOAD) {
    this.shape = shape
    this.versions = new Array<number>(shape.records + 1).fill(0)
    this.instances = caches.map((cache, index) => {
      const instance: LoadedInstance = {
        index,
        cache,
        reads: new RecordBuffer(READ_FIELDS, 64 * 1024),
        writes: new RecordBuffer(WRITE_FIELDS, 4 * 1024),
        degraded: [],
        reasons: [],
        unsettled: 0,
        slowestReadMs: 0,
        slowestWriteMs: 0,
      }
      cache.on('degraded', ({ reason }) => {
        instance.degraded.push([clock(), undefined])
        instance.reasons.push(reason)
      })
      cache.on('recovered', () => {
        const last = instance.degraded.at(-1)
        if (last !== undefined && last[1] === undefined) last[1] = clock()
      })
      cache.on('error', ({ operation }) => {
        if (operation === 'settle') instance.unsettled++
      })
      return instance
    })
  }

  start(): void {
    for (const instance of this.instances) {
      for (let i = 0; i < this.shape.readers; i++) this.#loops.push(this.#readLoop(instance))
      for (let i = 0; i < this.shape.writers; i++) this.#loops.push(this.#writeLoop(instance))
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.all(this.#loops)
    this.#stoppedAt = performance.now()
  }

  /** Stale reads among all the reads made, as the consistency checker counts them. */
  analysis(): Analysis {
    return analyze(
      this.instances.map((i) => ({
        index: i.index,
        reads: i.reads.toArray(),
        writes: i.writes.toArray(),
      })),
      this.shape.records,
    )
  }

  /**
   * Reads every record through every cache once quiet, as the consistency checker defines it: the
   * load stopped and the system left alone for `quietMs` (notices of the last writes may still be
   * on their way to an eventual cache until then). What differs from the source, as text.
   */
  async staleEntries(): Promise<string[]> {
    const alone = performance.now() - (this.#stoppedAt ?? Number.NEGATIVE_INFINITY)
    if (alone < DEFAULT_LOAD.quietMs) await sleep(DEFAULT_LOAD.quietMs - alone)
    const stale: string[] = []
    for (const instance of this.instances) {
      for (let id = 1; id <= this.shape.records; id++) {
        const value = await this.#read(instance, id, ++this.#seq)
        if (value.version !== this.versions[id]) {
          stale.push(
            `cache ${instance.index} record ${id}: v${value.version}, source v${this.versions[id]}`,
          )
        }
      }
    }
    return stale
  }

  /** ms the instance spent degraded from `from` on (until now if it still is). */
  degradedMs(instance: LoadedInstance, from = 0): number {
    let total = 0
    for (const [start, end] of instance.degraded) {
      total += Math.max(0, (end ?? clock()) - Math.max(start, from))
    }
    return total
  }

  #read(instance: LoadedInstance, id: number, seq: number): Promise<RecordValue> {
    const load = async (): Promise<RecordValue> => {
      const version = this.versions[id]!
      const delay = draw(this.shape.loaderDelayMs)
      if (delay >= 0.5) await sleep(delay)
      return { id, version, by: instance.index, loadedAt: clock(), loadSeq: seq }
    }
    return instance.cache.getOrCompute(recordKey(id), load, { ttl: '1h', tags: [recordTag(id)] })
  }

  async #readLoop(instance: LoadedInstance): Promise<void> {
    while (!this.#stopped) {
      const id = 1 + Math.floor(Math.random() * this.shape.records)
      const seq = ++this.#seq
      const invokedAt = clock()
      try {
        const v = await this.#read(instance, id, seq)
        const respondedAt = clock()
        instance.slowestReadMs = Math.max(instance.slowestReadMs, respondedAt - invokedAt)
        instance.reads.push(id, invokedAt, respondedAt, v.version, v.by, v.loadedAt, seq, v.loadSeq)
      } catch (error) {
        this.failures.push({ at: clock(), error: String(error) })
      }
      await sleep(draw(this.shape.readPauseMs))
    }
  }

  async #writeLoop(instance: LoadedInstance): Promise<void> {
    while (!this.#stopped) {
      const id = 1 + Math.floor(Math.random() * this.shape.records)
      const invokedAt = clock()
      const version = ++this.versions[id]!
      try {
        if (Math.random() < 0.5) await instance.cache.delete(recordKey(id))
        else await instance.cache.invalidateByTag(recordTag(id))
        const acknowledgedAt = clock()
        instance.slowestWriteMs = Math.max(instance.slowestWriteMs, acknowledgedAt - invokedAt)
        instance.writes.push(id, invokedAt, acknowledgedAt, version, instance.index)
      } catch (error) {
        this.failures.push({ at: clock(), error: String(error) })
      }
      await sleep(draw(this.shape.writePauseMs))
    }
  }
}
