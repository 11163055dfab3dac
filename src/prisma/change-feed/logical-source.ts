/**
 * The logical-replication source: PostgreSQL's own log of committed changes, read through a
 * replication slot with the built-in `pgoutput` plugin (`pg-logical-replication` speaks the
 * protocol). Each transaction arrives whole after its commit (a rolled-back one never arrives);
 * its changes are invalidated once, and only then is its end acknowledged to the slot. A consumer
 * killed at any point restarts from the last acknowledged commit, so a change is invalidated at
 * least once, never lost.
 *
 * Transactions that arrive while an invalidation is on its way to Redis wait for it together,
 * and go as one invalidation after it: the consumer keeps pace with the database's write rate
 * (one Redis round trip per burst, not per transaction) instead of falling behind it.
 */
import type pg from 'pg'
import type { Pgoutput, PgoutputPlugin } from 'pg-logical-replication'
import { ChangeSet, type RowChange, type TableMap, type TableName } from './row-changes.js'
import type { FeedSink, FeedSource } from './source.js'

type Message = Pgoutput.Message

/** Rows waiting for the invalidation on its way past which the stream pauses. */
const MAX_WAITING_ROWS = 10_000
type Service = InstanceType<typeof import('pg-logical-replication').LogicalReplicationService>

/** What the source needs from the feed. */
export interface LogicalSourceParams {
  readonly clientConfig: pg.ClientConfig
  readonly slot: string
  readonly publication: string
  readonly map: TableMap
  readonly maxRowsPerModel: number
  readonly sink: FeedSink
}

export class LogicalSource implements FeedSource {
  readonly #params: LogicalSourceParams
  #service: Service | undefined
  /** Changes of the transactions received and not yet invalidated (and of the one being read). */
  #batch: ChangeSet
  /** The end of the last whole transaction in `#batch`; `undefined`: none. */
  #batchEnd: string | undefined
  /** Between a `begin` and its `commit`. */
  #inTransaction = false
  /** The invalidation on its way, if any. */
  #flushing: Promise<void> | undefined
  /** XLogData messages received and handled: equal when nothing waits to be handled. */
  #received = 0
  #handled = 0
  #stopped = false
  #failure: Error | undefined

  constructor(params: LogicalSourceParams) {
    this.#params = params
    this.#batch = this.#newBatch()
  }

  /** Streams from the slot until stopped or the connection fails (then rejects). */
  async run(): Promise<void> {
    const { LogicalReplicationService, PgoutputPlugin } = await import('pg-logical-replication')
    const service = new LogicalReplicationService(this.#params.clientConfig, {
      // Acknowledged here, after each commit's invalidation: never on a timer, which would
      // acknowledge what was received but not yet invalidated.
      acknowledge: { auto: false, timeoutSeconds: 0 },
      // One message at a time, awaiting the handler; the stream pauses meanwhile (backpressure:
      // while Redis is down the WAL waits in PostgreSQL, not in this process's memory).
      flowControl: { enabled: true },
    })
    this.#service = service
    const plugin = new PgoutputPlugin({
      protoVersion: 1,
      publicationNames: [this.#params.publication],
    })
    this.#readTexts(plugin)
    service.on('start', () => {
      // A background connection must not keep the process alive.
      const client = (
        service as unknown as { _client?: { connection?: { stream?: { unref?(): void } } } }
      )._client
      client?.connection?.stream?.unref?.()
    })
    service.on('data', (lsn: string, message: Message) => this.#handle(lsn, message))
    service.on('heartbeat', (lsn: string, _time: number, respond: boolean) =>
      this.#keepalive(lsn, respond),
    )
    const failed = new Promise<never>((_, reject) => {
      service.on('error', (error: Error) => reject(this.#failure ?? error))
    })
    failed.catch(() => {})
    const streaming = service.subscribe(plugin, this.#params.slot)
    try {
      await Promise.race([streaming, failed])
      if (!this.#stopped) throw this.#failure ?? new Error('replication stream ended')
    } finally {
      await service.destroy().catch(() => {})
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#service?.stop().catch(() => {})
  }

  /**
   * Values as PostgreSQL's texts, not through `pg`'s global type parsers (a `timestamp` parsed as
   * local time, an `int8` as a string): `row-changes.ts` reads them by the Prisma field's type.
   */
  #readTexts(plugin: PgoutputPlugin): void {
    const parse = plugin.parse.bind(plugin)
    plugin.parse = (buffer: Buffer) => {
      this.#received++
      const message = parse(buffer)
      if (message.tag === 'relation') {
        for (const column of message.columns) column.parser = (raw: unknown) => raw
      }
      return message
    }
  }

  async #handle(lsn: string, message: Message): Promise<void> {
    try {
      if (this.#failure !== undefined || this.#stopped) return
      switch (message.tag) {
        case 'begin':
          this.#inTransaction = true
          return
        case 'insert':
        case 'update':
        case 'delete':
          this.#batch.row(rowChange(message))
          return
        case 'truncate':
          this.#batch.truncated(message.relations.map(tableOf))
          return
        case 'commit': {
          this.#inTransaction = false
          this.#batch.committed(Number(message.commitTime.valueOf() / 1000n))
          this.#batchEnd = message.commitEndLsn ?? lsn
          this.#flush()
          // Backpressure: past this many rows waiting, the stream pauses until Redis has taken
          // the invalidation on its way (and the WAL waits in PostgreSQL).
          while (this.#flushing !== undefined && this.#batch.rows >= MAX_WAITING_ROWS) {
            await this.#flushing
          }
          return
        }
        default:
      }
    } catch (error) {
      this.#fail(error as Error)
    } finally {
      this.#handled++
    }
  }

  #newBatch(): ChangeSet {
    return new ChangeSet(this.#params.map, this.#params.maxRowsPerModel)
  }

  /**
   * Invalidates the whole transactions received, then acknowledges the last one's end; again
   * while more have come meanwhile. Never in the middle of a transaction: its rows so far are
   * in the batch, and it is invalidated once, with its commit.
   */
  #flush(): void {
    if (this.#flushing !== undefined || this.#batchEnd === undefined || this.#inTransaction) return
    const batch = this.#batch
    const end = this.#batchEnd
    this.#batch = this.#newBatch()
    this.#batchEnd = undefined
    this.#flushing = (async () => {
      try {
        if (batch.isEmpty) this.#params.sink.idle(batch.committedAt)
        else await this.#params.sink.apply(batch)
        await this.#acknowledge(end)
      } catch (error) {
        this.#fail(error as Error)
      } finally {
        this.#flushing = undefined
      }
      if (this.#failure === undefined) this.#flush()
    })()
  }

  /**
   * Nothing after a failed invalidation may be acknowledged: the stream is dropped and read
   * again from the slot's position.
   */
  #fail(error: Error): void {
    if (this.#failure !== undefined) return
    this.#failure = error
    this.#service?.emit('error', error)
  }

  /**
   * A keepalive carries the server's position. With nothing received left to handle and no
   * transaction open, everything before it is done: acknowledging it lets the slot move past
   * WAL of tables the feed does not read. When the server asks for an answer, one is sent
   * anyway, so that it does not drop a consumer busy on a long transaction.
   */
  #keepalive(lsn: string, respond: boolean): void {
    const idle =
      this.#handled === this.#received &&
      !this.#inTransaction &&
      this.#batchEnd === undefined &&
      this.#flushing === undefined
    if (idle && this.#failure === undefined) {
      this.#params.sink.idle(undefined)
      void this.#acknowledge(lsn)
    } else if (respond) {
      void this.#service?.acknowledge(this.#acknowledged ?? '0/0')
    }
  }

  #acknowledged: string | undefined

  async #acknowledge(lsn: string): Promise<void> {
    if (this.#failure !== undefined || this.#service === undefined) return
    this.#acknowledged = lsn
    await this.#service.acknowledge(lsn)
  }
}

function tableOf(relation: { schema: string; name: string }): TableName {
  return { schema: relation.schema, table: relation.name }
}

type RowMessage = Extract<Message, { tag: 'insert' | 'update' | 'delete' }>

function rowChange(message: RowMessage): RowChange {
  const { relation } = message
  const base = {
    schema: relation.schema,
    table: relation.name,
    kind: message.tag,
    keyColumns: relation.keyColumns,
  }
  if (message.tag === 'insert') return { ...base, new: message.new, oldComplete: false }
  const old = message.old ?? message.key ?? undefined
  const oldComplete = message.old !== null
  if (message.tag === 'delete') return { ...base, old, oldComplete }
  return { ...base, old, new: message.new, oldComplete }
}
