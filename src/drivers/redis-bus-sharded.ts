import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { errorText } from './bus.js'
import { ioredis } from './ioredis.js'
import type { SubscriberEvents } from './redis-bus-subscriber.js'
import { slotOf } from './redis-key-layout.js'

/** Whether `client` is an ioredis `Cluster` (whose bus then uses sharded pub/sub). */
export function isClusterClient(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true
}

/** How many times one attempt follows the nodes' answers to the channel's owner. */
const MAX_REDIRECTIONS = 5
/** Bound of each step of an attempt (connect, ask, SSUBSCRIBE). */
const STEP_TIMEOUT_MS = 2_000

type Address = { host: string; port: number }
type SlotNode = [host: string, port: number, nodeId: string, info: unknown[]]
type SlotRange = [number, number, ...SlotNode[]]

/**
 * The subscriber of a `RedisBus` on a Redis Cluster: SSUBSCRIBE (Redis 7 sharded pub/sub) on the
 * master that owns the channel's hash slot, over a plain connection this class owns.
 *
 * ioredis' own sharded subscribers (`shardedSubscribers`) resubscribe behind the caller's back,
 * and its SSUBSCRIBE never settles on a MOVED; so every attempt here is explicit: connect to a
 * master, ask that node who owns the slot (`CLUSTER MYID`, `CLUSTER SLOTS`: a node is the
 * authority on the slots it serves), follow the answer to the owner, SSUBSCRIBE there. Every gap
 * is reported as `down`, exactly as a standalone subscriber's disconnect, and followed by a new
 * attempt (capped backoff): the connection closing or failing, a MOVED on SSUBSCRIBE, and the
 * `sunsubscribe` Redis pushes when the slot leaves that master (a migration, or a failover that
 * demoted it; ioredis reports that push as an `error`). A subscription that dies without any of
 * these is caught by the bus's heartbeats, which call `reconnect()`.
 */
export class ShardedSubscriberConnection {
  /** Whether the subscription is confirmed on the live connection. */
  subscribed = false
  readonly #client: Cluster
  readonly #channel: string
  readonly #slot: number
  readonly #instanceId: string
  readonly #maxDelayMs: number
  readonly #events: SubscriberEvents
  #conn: Redis | undefined
  /** The master subscribed on (`host:port`), for diagnostics. */
  #owner = ''
  /** Changes with every attempt and every gap: what an older attempt learns is ignored. */
  #epoch = 0
  #failures = 0
  #retryTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor(
    client: Cluster,
    channel: string,
    instanceId: string,
    reconnectMaxDelayMs: number,
    events: SubscriberEvents,
  ) {
    this.#client = client
    this.#channel = channel
    this.#slot = slotOf(channel)
    this.#instanceId = instanceId
    this.#maxDelayMs = reconnectMaxDelayMs
    this.#events = events
  }

  /** The connection's status (ioredis) and, once subscribed, the master it is on. */
  get status(): string {
    const status = this.#conn?.status ?? 'connecting'
    return this.subscribed ? `${status} (${this.#owner})` : status
  }

  start(): void {
    void this.#attempt()
  }

  /** Drops a subscription that died silently, and subscribes again. */
  reconnect(): void {
    if (this.#conn === undefined || this.#closed) return
    this.#gap('subscriber reconnecting', 0)
  }

  close(): void {
    this.#closed = true
    this.subscribed = false
    this.#epoch++
    clearTimeout(this.#retryTimer)
    this.#conn?.disconnect()
    this.#conn = undefined
  }

  /** One attempt: find the channel's owner and SSUBSCRIBE there. */
  async #attempt(): Promise<void> {
    const epoch = ++this.#epoch
    const current = () => !this.#closed && epoch === this.#epoch
    let target: Address | undefined = anyMaster(this.#client)
    try {
      for (let hop = 0; target !== undefined && hop <= MAX_REDIRECTIONS; hop++) {
        const conn = this.#open(target, epoch)
        await bounded(conn.connect(), 'connect')
        if (!current()) return
        const [myId, slots] = await bounded(
          Promise.all([conn.cluster('MYID') as Promise<string>, conn.cluster('SLOTS')]),
          'CLUSTER SLOTS',
        )
        if (!current()) return
        const owner = ownerIn(slots, this.#slot)
        if (owner === undefined) throw new Error(`slot ${this.#slot} has no master`)
        if (owner[2] === myId) {
          await bounded(conn.ssubscribe(this.#channel), 'SSUBSCRIBE')
          if (!current()) return
          this.#owner = `${target.host}:${target.port}`
          this.#failures = 0
          this.subscribed = true
          this.#events.subscribed()
          return
        }
        // Not the owner: follow its answer (node addresses map as the cluster client maps them).
        this.#discard()
        target = mapAddress(this.#client, { host: owner[0] || target.host, port: owner[1] })
      }
      throw new Error(target === undefined ? 'no master known yet' : 'too many redirections')
    } catch (error) {
      if (current()) this.#gap(`sharded subscribe failed: ${errorText(error)}`)
    }
  }

  /** A connection to `target` for attempt `epoch`, replacing any previous one. */
  #open(target: Address, epoch: number): Redis {
    this.#discard()
    const conn = new (ioredis().Redis)({
      ...this.#client.options.redisOptions,
      ...target,
      ...this.#options(),
    })
    const mine = () => !this.#closed && epoch === this.#epoch && this.#conn === conn
    conn.on('error', (error: unknown) => {
      // The `sunsubscribe` pushed when the slot moves away reaches ioredis as an unexpected
      // reply, reported here: whatever the error, this subscription is not to be trusted.
      if (!mine() || !this.subscribed) return
      const text = errorText(error)
      this.#gap(
        text.includes('sunsubscribe')
          ? `channel slot ${this.#slot} left ${this.#owner} (sunsubscribe): subscribing again`
          : `sharded subscriber error: ${text}`,
        0,
      )
    })
    conn.on('close', () => {
      if (mine() && this.subscribed) this.#gap('sharded subscriber connection closed')
    })
    conn.on('moved', () => {
      // ioredis leaves that SSUBSCRIBE unsettled: this attempt is over, try again shortly.
      if (mine()) this.#gap(`slot ${this.#slot} moved while subscribing`)
    })
    conn.on('smessage', (channel: string, raw: string) => {
      if (channel === this.#channel && mine() && this.subscribed) this.#events.frame(raw)
    })
    this.#conn = conn
    return conn
  }

  #options(): Partial<RedisOptions> {
    return {
      lazyConnect: true,
      // Never reconnects by itself: every new attempt asks again where the channel lives.
      retryStrategy: () => null,
      autoResubscribe: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      enableAutoPipelining: false,
      connectTimeout: STEP_TIMEOUT_MS,
      disconnectTimeout: 500,
      keepAlive: 10_000,
      connectionName: `stratacache-bus-${this.#instanceId}`,
      keyPrefix: '',
      readOnly: false,
    }
  }

  #discard(): void {
    const conn = this.#conn
    this.#conn = undefined
    if (conn === undefined) return
    conn.removeAllListeners('smessage')
    conn.on('error', () => {})
    conn.disconnect()
  }

  /** The subscription is gone (or never came): report it and try again after a backoff. */
  #gap(reason: string, failures = ++this.#failures): void {
    if (this.#closed) return
    this.#epoch++
    this.subscribed = false
    this.#discard()
    this.#events.down(reason)
    clearTimeout(this.#retryTimer)
    const base = Math.min(this.#maxDelayMs, 50 * 2 ** Math.min(failures, 10))
    const delay = failures === 0 ? 0 : Math.max(10, Math.round(base * (0.8 + Math.random() * 0.4)))
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      if (!this.#closed) void this.#attempt()
    }, delay)
    this.#retryTimer.unref()
  }
}

/** A master the cluster client knows, to start from (it redirects to the owner); any, so that
 * one that is down (and not yet forgotten) is not asked every time. */
function anyMaster(client: Cluster): Address | undefined {
  const masters = client.nodes('master')
  const node = masters[Math.floor(Math.random() * masters.length)] ?? client.nodes('all')[0]
  if (node === undefined) return undefined
  const { host = '127.0.0.1', port = 6379 } = node.options
  return { host, port }
}

function ownerIn(ranges: SlotRange[], slot: number): SlotNode | undefined {
  for (const range of ranges) {
    if (range[0] <= slot && slot <= range[1]) return range[2]
  }
  return undefined
}

/** `address` through the cluster client's `natMap`, as it maps the nodes it discovers. */
function mapAddress(client: Cluster, address: Address): Address {
  const natMap = client.options.natMap as unknown
  const key = `${address.host}:${address.port}`
  if (typeof natMap === 'function') return (natMap as (k: string) => Address | null)(key) ?? address
  if (typeof natMap === 'object' && natMap !== null) {
    const mapped = (natMap as Record<string, Partial<Address>>)[key]
    if (mapped !== undefined)
      return { host: mapped.host ?? address.host, port: mapped.port ?? address.port }
  }
  return address
}

function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out`)), STEP_TIMEOUT_MS)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
