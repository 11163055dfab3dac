/**
 * The change feed: invalidation from every write the database commits, whoever made it (psql, a
 * migration, another service, a trigger). Every app instance runs one; one of them, holding a
 * PostgreSQL advisory lock, consumes the changes and invalidates them through the cache (Redis
 * and the bus reach the other instances); the others stand by and take over within
 * `takeoverInterval` when it dies. Each instance still invalidates its own writes at once
 * (read-your-writes does not wait for the feed), so the feed is the safety net for the rest.
 */
import type pg from 'pg'
import type { CacheInternals } from '../../cache/internals.js'
import type { TagNaming } from '../keys/tags.js'
import type { ModelGraph } from '../schema/model-graph.js'
import { WriteEffects } from '../writes/write-effects.js'
import { ChangeFeedSetupError, type ChangeFeedStatus, slotLag } from './admin.js'
import { LogicalSource } from './logical-source.js'
import { NotifySource } from './notify-source.js'
import type { ChangeFeedMode, ResolvedChangeFeedOptions } from './options.js'
import { type ChangeSet, TableMap } from './row-changes.js'
import { chooseMode, prepareSlot } from './setup.js'
import { clientConfig, type FeedSink, type FeedSource, newClient } from './source.js'

/** A log line, at a level, for the cache's logger. */
type Log = (level: 'info' | 'warn' | 'error', fields: object, message: string) => void

/** What the feed is made from: its options and the extension's view of schema and cache. */
export interface ChangeFeedParams {
  readonly options: ResolvedChangeFeedOptions
  readonly graph: ModelGraph
  readonly naming: TagNaming
  readonly internals: CacheInternals
  readonly log: Log
}

/** The advisory lock's first key ("stra"); the second is the hash of the slot's name. */
const LOCK_CLASS = 0x73747261
const LAG_POLL_MS = 5000

export class ChangeFeed implements FeedSink {
  readonly #params: ChangeFeedParams
  readonly #map: TableMap
  readonly #status: ChangeFeedStatus
  #stopped = false
  #source: FeedSource | undefined
  #client: pg.Client | undefined
  #wake: (() => void) | undefined
  #ready: Promise<ChangeFeedStatus>
  #settle!: { resolve(status: ChangeFeedStatus): void; reject(error: Error): void }
  #warnedLag = false
  /** The commit time of the transaction being invalidated now, if any. */
  #applying: number | undefined

  constructor(params: ChangeFeedParams) {
    this.#params = params
    const { options } = params
    this.#map = new TableMap(params.graph, options.schema)
    this.#status = {
      mode: undefined,
      reason: undefined,
      role: 'starting',
      slot: options.slot,
      publication: options.publication,
      channel: options.channel,
      lagBytes: undefined,
      lagSeconds: undefined,
      walStatus: undefined,
      transactions: 0,
      rows: 0,
      flushes: 0,
      retries: 0,
      lastError: undefined,
    }
    this.#ready = new Promise((resolve, reject) => {
      this.#settle = { resolve, reject }
    })
    this.#ready.catch(() => {})
    void this.#loop()
  }

  /** A copy of the feed's state now. */
  status(): ChangeFeedStatus {
    const status = { ...this.#status }
    // While a transaction waits for Redis, its lag grows by the second, not only once it is done.
    const waiting = this.#applying
    if (waiting !== undefined) status.lagSeconds = Math.max(0, (Date.now() - waiting) / 1000)
    return status
  }

  /**
   * Resolves once the feed runs (as consumer or standby), rejects with the reason when it
   * cannot (logical mode asked for on a server without it, no permission to set it up).
   */
  ready(): Promise<ChangeFeedStatus> {
    return this.#ready
  }

  /** Stops reading (the slot keeps what comes next for the next consumer). */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#status.role = 'stopped'
    this.#wake?.()
    await this.#source?.stop()
    await this.#client?.end().catch(() => {})
  }

  // ------------------------------------------------------------------------------ FeedSink

  async apply(changes: ChangeSet): Promise<void> {
    const { committedAt } = changes
    this.#applying = committedAt
    try {
      await this.#invalidate(changes.effects)
    } finally {
      this.#applying = undefined
    }
    this.#status.transactions += changes.transactions
    this.#status.rows += changes.rows
    if (committedAt !== undefined) this.#status.lagSeconds = (Date.now() - committedAt) / 1000
  }

  async applyAll(reason: string): Promise<void> {
    this.#params.log('info', { reason }, 'stratacache: change feed invalidates every cached read')
    await this.#invalidate(new WriteEffects().everything())
    this.#status.flushes++
  }

  idle(committedAt: number | undefined): void {
    this.#status.lagSeconds =
      committedAt === undefined ? 0 : Math.max(0, (Date.now() - committedAt) / 1000)
  }

  /** Invalidates `effects`, again and again until Redis takes it (or the feed stops). */
  async #invalidate(effects: WriteEffects): Promise<void> {
    const tags = effects.tags(this.#params.naming, this.#params.graph)
    if (tags.length === 0) return
    for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
      if (this.#stopped) throw new Error('the change feed stopped')
      try {
        if (await this.#params.internals.invalidateApplied(tags)) return
      } catch (error) {
        this.#status.lastError = (error as Error).message
      }
      this.#status.retries++
      await this.#sleep(delay)
    }
  }

  // ------------------------------------------------------------------------------ the loop

  async #loop(): Promise<void> {
    for (let delay = 100; !this.#stopped; delay = Math.min(delay * 2, 5000)) {
      try {
        await this.#session()
        delay = 100
      } catch (error) {
        if (this.#stopped) break
        const message = (error as Error).message
        this.#status.lastError = message
        if (error instanceof ChangeFeedSetupError) {
          this.#status.role = 'failed'
          this.#status.reason = message
          this.#params.log('error', { error }, `stratacache: change feed cannot run: ${message}`)
          this.#settle.reject(error)
          return
        }
        this.#params.log('warn', { error }, `stratacache: change feed interrupted: ${message}`)
        if (this.#status.role === 'consumer') this.#status.role = 'standby'
        await this.#sleep(delay)
      }
    }
  }

  /** One connection's life: choose the mode, wait for the lock, consume until it fails. */
  async #session(): Promise<void> {
    const { options } = this.#params
    const config = clientConfig(options.connectionString)
    const client = await newClient(config)
    this.#client = client
    const lost = new Promise<never>((_, reject) => {
      client.on('error', reject)
      client.on('end', () => reject(new Error('connection closed')))
    })
    lost.catch(() => {})
    let poll: NodeJS.Timeout | undefined
    try {
      await client.connect()
      if (this.#stopped) return
      if (this.#status.mode === undefined) {
        const chosen = await chooseMode(client, options.mode)
        this.#status.mode = chosen.mode
        this.#status.reason = chosen.reason
        this.#params.log(
          chosen.mode === 'logical' ? 'info' : 'warn',
          { mode: chosen.mode },
          `stratacache: change feed in ${chosen.mode} mode: ${chosen.reason}`,
        )
      }
      const mode = this.#status.mode
      if (this.#status.role !== 'consumer') this.#status.role = 'standby'
      this.#settle.resolve(this.status())
      const refresh = () => void this.#pollLag(client).catch(() => {})
      if (mode === 'logical') {
        refresh()
        poll = setInterval(refresh, LAG_POLL_MS)
        poll.unref()
      }
      const lockKey = mode === 'logical' ? options.slot : options.channel
      while (!this.#stopped) {
        const { rows } = await client.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked',
          [LOCK_CLASS, lockKey],
        )
        if (rows[0]?.locked) break
        await Promise.race([this.#sleep(options.takeoverInterval), lost])
      }
      if (this.#stopped) return
      const source = await this.#sourceFor(mode, client, config)
      this.#source = source
      if (mode === 'logical') refresh() // the slot may be new
      this.#status.role = 'consumer'
      this.#params.log('info', { mode }, 'stratacache: change feed consumer on this instance')
      await Promise.race([source.run(), lost])
    } finally {
      clearInterval(poll)
      await this.#source?.stop()
      this.#source = undefined
      await client.end().catch(() => {})
    }
  }

  async #sourceFor(
    mode: ChangeFeedMode,
    client: pg.Client,
    clientConfig: pg.ClientConfig,
  ): Promise<FeedSource> {
    const { options } = this.#params
    const common = { clientConfig, map: this.#map, maxRowsPerModel: options.maxRowsPerModel }
    if (mode === 'notify') {
      return new NotifySource({
        ...common,
        channel: options.channel,
        schema: options.schema,
        sink: this,
      })
    }
    const prepared = await prepareSlot(client, options, this.#map)
    for (const warning of prepared.warnings) {
      this.#params.log('warn', {}, `stratacache: change feed: ${warning}`)
    }
    if (prepared.created) await this.applyAll('a new replication slot: earlier changes are unknown')
    return new LogicalSource({
      ...common,
      slot: options.slot,
      publication: options.publication,
      sink: this,
    })
  }

  async #pollLag(client: pg.Client): Promise<void> {
    const lag = await slotLag(client, this.#params.options.slot)
    this.#status.lagBytes = lag?.bytes
    this.#status.walStatus = lag?.walStatus
    const limit = this.#params.options.lagWarningBytes
    if (lag !== undefined && lag.bytes > limit && !this.#warnedLag) {
      this.#warnedLag = true
      this.#params.log(
        'warn',
        { lagBytes: lag.bytes, active: lag.active },
        `stratacache: change feed slot ${this.#params.options.slot} keeps ${lag.bytes} bytes of WAL` +
          (lag.active ? ' (its consumer is behind)' : ' (no consumer is connected)'),
      )
    } else if (lag !== undefined && lag.bytes <= limit / 2) {
      this.#warnedLag = false
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      timer.unref()
      this.#wake = done
      function done() {
        clearTimeout(timer)
        resolve()
      }
    })
  }
}
