/**
 * A Redis Sentinel deployment of the test's own: one master, one replica and three sentinels,
 * each a private process on a free loopback port. The replica reaches its master through a
 * {@link TcpProxy}, so that a test can hold writes back from it (`replicationLink.partition()`):
 * what the master acknowledges meanwhile is lost if the replica is promoted.
 *
 * @example
 * ```ts
 * const group = await SentinelGroup.start()
 * const cache = new CacheManager({ redis: { sentinels: group.sentinels, name: group.name } })
 * const { switched } = await group.nextSwitch()
 * await group.killMaster()
 * await switched // the replica is the master now
 * await group.stop()
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { clock } from './consistency/protocol.js'
import { freePort, pingPort } from './redis-server.js'
import { TcpProxy } from './tcp-proxy.js'
import { waitFor } from './wait.js'

/** Every process started here, killed if the test process exits without stopping it. */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** One `redis-server` process (a data node, or a sentinel). */
export class RedisProcess {
  readonly port: number
  readonly #child: ChildProcess

  private constructor(port: number, child: ChildProcess) {
    this.port = port
    this.#child = child
  }

  /** Starts `redis-server <args>` and waits until `port` answers PING (5 s at most). */
  static async spawn(port: number, args: string[]): Promise<RedisProcess> {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(child)
    let log = ''
    const capture = (data: Buffer) => {
      log = (log + data.toString()).slice(-4000)
    }
    child.stdout?.on('data', capture)
    child.stderr?.on('data', capture)
    child.once('exit', () => running.delete(child))
    try {
      await waitFor(async () => child.exitCode === null && (await pingPort(port)), {
        what: `redis-server on ${port}`,
        intervalMs: 20,
      })
    } catch (error) {
      child.kill('SIGKILL')
      throw new Error(`${(error as Error).message}:\n${log}`)
    }
    return new RedisProcess(port, child)
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null
  }

  /** `kill -9`, and waits for the process to be gone. */
  async kill(): Promise<void> {
    if (!this.alive) return
    const gone = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    this.#child.kill('SIGKILL')
    await gone
  }
}

export interface SentinelGroupOptions {
  /** The master's name in the sentinels' configuration. */
  name?: string
  /** `down-after-milliseconds`: how long the master must not answer before it is failed over. */
  downAfterMs?: number
}

const HOST = '127.0.0.1'

export class SentinelGroup {
  readonly name: string
  /** The data nodes: the first master, then the replica. */
  readonly nodes: RedisProcess[]
  readonly sentinelNodes: RedisProcess[]
  /** The replica's link to the first master. */
  readonly replicationLink: TcpProxy
  readonly #dir: string
  readonly #clients: Redis[] = []

  private constructor(
    name: string,
    dir: string,
    nodes: RedisProcess[],
    sentinels: RedisProcess[],
    link: TcpProxy,
  ) {
    this.name = name
    this.#dir = dir
    this.nodes = nodes
    this.sentinelNodes = sentinels
    this.replicationLink = link
  }

  /** What `redis: { sentinels, name }` takes. */
  get sentinels(): { host: string; port: number }[] {
    return this.sentinelNodes.map((s) => ({ host: HOST, port: s.port }))
  }

  /**
   * Starts the master, the replica (synchronised), then three sentinels, and waits until every
   * sentinel knows the replica and the two other sentinels (so that a failover can be agreed).
   */
  static async start({
    name = 'mymaster',
    downAfterMs = 1_000,
  }: SentinelGroupOptions = {}): Promise<SentinelGroup> {
    const dir = mkdtempSync(join(tmpdir(), 'sc-sentinel-'))
    const dataArgs = (port: number, node: string) =>
      ['--port', String(port), '--bind', HOST, '--protected-mode', 'no', '--save', ''].concat([
        '--appendonly',
        'no',
        '--dir',
        mkdtempSync(join(dir, `${node}-`)),
      ])
    const masterPort = await freePort()
    const master = await RedisProcess.spawn(masterPort, dataArgs(masterPort, 'master'))
    const link = await TcpProxy.start(masterPort)
    const replicaPort = await freePort()
    const replica = await RedisProcess.spawn(
      replicaPort,
      dataArgs(replicaPort, 'replica').concat(['--replicaof', HOST, String(link.port)]),
    )
    const sentinels: RedisProcess[] = []
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      const conf = join(dir, `sentinel-${i}.conf`)
      writeFileSync(
        conf,
        [
          `port ${port}`,
          `bind ${HOST}`,
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${name} ${HOST} ${masterPort} 2`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          // Long: Sentinel would otherwise point the replica at the master itself, past the proxy.
          `sentinel failover-timeout ${name} 120000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      )
      sentinels.push(await RedisProcess.spawn(port, [conf, '--sentinel']))
    }
    const group = new SentinelGroup(name, dir, [master, replica], sentinels, link)
    await group.#untilAgreed(replicaPort)
    return group
  }

  /** A plain client of one node or sentinel, closed by {@link stop}. */
  client(port: number): Redis {
    const client = new Redis({ host: HOST, port, maxRetriesPerRequest: 1, lazyConnect: false })
    client.on('error', () => {})
    this.#clients.push(client)
    return client
  }

  /** The master's port, as the first live sentinel reports it. */
  async masterPort(): Promise<number> {
    const sentinel = this.sentinelNodes.find((s) => s.alive)!
    const reply = (await this.client(sentinel.port).call(
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      this.name,
    )) as [string, string]
    return Number(reply[1])
  }

  /** The data node that is the master now. */
  async master(): Promise<RedisProcess> {
    const port = await this.masterPort()
    return this.nodes.find((n) => n.port === port)!
  }

  /** The data node that is not {@link master}. */
  async replica(): Promise<RedisProcess> {
    const port = await this.masterPort()
    return this.nodes.find((n) => n.port !== port)!
  }

  /**
   * Resolves when a sentinel announces a new master (`+switch-master`), with the time it came
   * (the consistency checker's `clock()`) and the new master's port. Await it before causing the failover: it
   * resolves once it listens.
   */
  async nextSwitch(): Promise<{ switched: Promise<{ at: number; port: number }> }> {
    const listener = this.client(this.sentinelNodes[0]!.port)
    await listener.subscribe('+switch-master')
    const switched = new Promise<{ at: number; port: number }>((resolve) => {
      listener.on('message', (_channel: string, message: string) => {
        // `<name> <old ip> <old port> <new ip> <new port>`
        const parts = message.split(' ')
        if (parts[0] === this.name) resolve({ at: clock(), port: Number(parts[4]) })
      })
    })
    return { switched }
  }

  /** `SENTINEL FAILOVER`: a switch ordered by hand, the old master still running. */
  async failover(): Promise<void> {
    await this.client(this.sentinelNodes[1]!.port).call('SENTINEL', 'FAILOVER', this.name)
  }

  /** `kill -9` the master: the sentinels notice it within `downAfterMs`, then agree and switch. */
  async killMaster(): Promise<void> {
    await (await this.master()).kill()
  }

  async stop(): Promise<void> {
    for (const client of this.#clients) client.disconnect()
    await this.replicationLink.close()
    await Promise.all([...this.sentinelNodes, ...this.nodes].map((n) => n.kill()))
    rmSync(this.#dir, { recursive: true, force: true })
  }

  async #untilAgreed(replicaPort: number): Promise<void> {
    const replica = this.client(replicaPort)
    await waitFor(async () => /master_link_status:up/.test(await replica.info('replication')), {
      what: 'the replica in sync',
      timeoutMs: 10_000,
      intervalMs: 50,
    })
    for (const sentinel of this.sentinelNodes) {
      const client = this.client(sentinel.port)
      await waitFor(
        async () => {
          const replicas = (await client.call('SENTINEL', 'REPLICAS', this.name)) as string[][]
          const others = (await client.call('SENTINEL', 'SENTINELS', this.name)) as string[][]
          const flags = replicas.map((r) => r[r.indexOf('flags') + 1])
          return flags.length === 1 && flags[0] === 'slave' && others.length === 2
        },
        { what: `sentinel ${sentinel.port} to know the replica and its peers`, timeoutMs: 20_000 },
      )
    }
  }
}
