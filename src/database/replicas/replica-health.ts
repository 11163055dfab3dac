/**
 * One read replica: its Prisma client, and what the last poll said about it. A replica is used
 * only while its last poll succeeded; a failed poll or a failed read takes it out until a poll
 * succeeds again (so a replica that restarted is re-measured before it answers anything).
 *
 * WAL positions (`pg_lsn`, written `16/B374D848`: the high and low 32 bits in hex) are read as
 * bigints, so that "has this replica replayed that write" is one comparison.
 */
import { messageOf } from '../../cache/value-path.js'
import { within } from '../time-limit.js'

/** What the router needs of a replica's client: a plain `PrismaClient` on the replica. */
export interface ReplicaClient {
  /** Reads the replica's replay position, to judge how far behind it is. */
  $queryRawUnsafe(query: string, ...values: unknown[]): PromiseLike<unknown>
  /** Called when the replicas are closed. */
  $disconnect(): Promise<void>
}

/** A replica as `$readReplicas.status()` reports it. */
export interface ReplicaStatus {
  /** `replica-1`, `replica-2`, ... in the order of `options.replicas`. */
  readonly name: string
  /** Its last poll succeeded and no read failed since. */
  readonly healthy: boolean
  /** The WAL position it had replayed at its last poll (`16/B374D848`), if healthy. */
  readonly replayLsn: string | undefined
  /** Bytes of WAL between the primary's last probed position and this replica's, if both known. */
  readonly lagBytes: number | undefined
  /** Reads it answered. */
  readonly reads: number
  /** Failed polls and reads in a row (0 while healthy). */
  readonly failures: number
  /** The last failure's message. */
  readonly lastError: string | undefined
  /** When it was last polled successfully (epoch ms). */
  readonly polledAt: number | undefined
}

/** `pg_last_wal_replay_lsn()` is NULL on a server that is not a standby (say, promoted). */
const REPLAY_POSITION = 'SELECT pg_last_wal_replay_lsn()::text AS lsn'

export class Replica {
  readonly name: string
  readonly client: ReplicaClient
  /** Replayed WAL position at the last successful poll; `undefined` while not usable. */
  replayLsn: bigint | undefined
  reads = 0
  failures = 0
  lastError: string | undefined
  polledAt: number | undefined
  #polling: Promise<void> | undefined
  /** A poll query that timed out and has not settled: no second one is queued behind it. */
  #unanswered: PromiseLike<unknown> | undefined

  constructor(name: string, client: ReplicaClient) {
    this.name = name
    this.client = client
  }

  get healthy(): boolean {
    return this.replayLsn !== undefined
  }

  /** Asks the replica how far it has replayed, at most `timeoutMs`; one poll at a time. */
  poll(timeoutMs: number): Promise<void> {
    this.#polling ??= this.#poll(timeoutMs).finally(() => {
      this.#polling = undefined
    })
    return this.#polling
  }

  async #poll(timeoutMs: number): Promise<void> {
    if (this.#unanswered !== undefined) {
      // A black-holed replica: one query waits for it, not one more per poll interval.
      this.failed(new Error('an earlier poll is still unanswered'))
      return
    }
    // Async: a client that throws at once (disconnected, misconfigured) rejects like one that fails.
    const query = (async () => this.client.$queryRawUnsafe(REPLAY_POSITION))()
    this.#unanswered = query
    const settled = () => {
      if (this.#unanswered === query) this.#unanswered = undefined
    }
    query.then(settled, settled)
    const outcome = await within(query, timeoutMs)
    if (outcome.kind !== 'value') {
      this.failed(
        outcome.kind === 'timeout' ? new Error(`no answer within ${timeoutMs} ms`) : outcome.error,
      )
      return
    }
    try {
      const text = (outcome.value as { lsn: string | null }[])[0]?.lsn
      if (typeof text !== 'string')
        throw new Error('is not a standby (pg_last_wal_replay_lsn() is NULL)')
      this.replayLsn = parseLsn(text)
      this.failures = 0
      this.lastError = undefined
      this.polledAt = Date.now()
    } catch (error) {
      this.failed(error)
    }
  }

  /** A poll or a read failed: not used again until a poll succeeds. */
  failed(error: unknown): void {
    this.replayLsn = undefined
    this.failures++
    this.lastError = messageOf(error)
  }

  status(primaryLsn: bigint | undefined): ReplicaStatus {
    const lsn = this.replayLsn
    const lag =
      lsn === undefined || primaryLsn === undefined
        ? undefined
        : Number(primaryLsn > lsn ? primaryLsn - lsn : 0n)
    return {
      name: this.name,
      healthy: this.healthy,
      replayLsn: lsn === undefined ? undefined : formatLsn(lsn),
      lagBytes: lag,
      reads: this.reads,
      failures: this.failures,
      lastError: this.lastError,
      polledAt: this.polledAt,
    }
  }
}

/** The LSN `text` as a bigint; throws on anything that is not `<hex>/<hex>`. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text)
  if (match === null) throw new Error(`not a PostgreSQL LSN: ${JSON.stringify(text)}`)
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`)
}

/** The bigint `lsn` as PostgreSQL writes it (`16/B374D848`). */
export function formatLsn(lsn: bigint): string {
  const high = (lsn >> 32n).toString(16).toUpperCase()
  const low = (lsn & 0xffff_ffffn).toString(16).toUpperCase()
  return `${high}/${low}`
}
