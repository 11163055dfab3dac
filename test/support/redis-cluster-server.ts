import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Cluster } from 'ioredis'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { CacheManager, type CacheOptions } from '../../src/index.js'
import { freePort, pingPort } from './redis-server.js'
import { waitFor } from './wait.js'

const run = promisify(execFile)

/** Every node started by this module, killed if the test process exits without stopping it. */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** `redis-cli -p <port> <args>` ('' when the node does not answer). */
async function cli(port: number, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('redis-cli', ['-p', String(port), ...args])
    return stdout
  } catch {
    return ''
  }
}

/**
 * A throwaway Redis Cluster on loopback: six `redis-server --cluster-enabled yes` on free ports,
 * three masters and three replicas (`redis-cli --cluster create ... --cluster-replicas 1`), no
 * persistence. `start()` resolves once every node reports `cluster_state:ok`. Start one per test
 * file (it takes about a second) and `stop()` it in `afterAll`.
 *
 * @example
 * ```ts
 * const cluster = await RedisClusterServer.start()
 * const client = cluster.client()
 * await cluster.stop()
 * ```
 */
export class RedisClusterServer {
  readonly ports: readonly number[]
  readonly #dir: string
  readonly #children = new Map<number, ChildProcess>()
  readonly #clients = new Set<Cluster>()

  private constructor(ports: number[], dir: string) {
    this.ports = ports
    this.#dir = dir
  }

  /** `{ host, port }` of every node, as `redis: { cluster: [...] }` takes them. */
  get nodes(): { host: string; port: number }[] {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }))
  }

  /** `host:port,host:port,...`, as `REDIS_CLUSTER_NODES` takes them. */
  get nodeList(): string {
    return this.ports.map((port) => `127.0.0.1:${port}`).join(',')
  }

  static async start(count = 6): Promise<RedisClusterServer> {
    const ports: number[] = []
    while (ports.length < count) {
      const port = await freePort()
      if (!ports.includes(port)) ports.push(port)
    }
    const server = new RedisClusterServer(ports, mkdtempSync(join(tmpdir(), 'sc-cluster-')))
    try {
      for (const port of ports) server.#spawn(port)
      for (const port of ports) {
        await waitFor(() => pingPort(port), { timeoutMs: 10_000, what: `node ${port} to answer` })
      }
      await run('redis-cli', [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ])
      await server.waitHealthy()
      return server
    } catch (error) {
      await server.stop()
      throw error
    }
  }

  /**
   * A cluster of one master serving all 16384 slots, no replica (`redis-cli --cluster create`
   * needs three masters): the baseline of a throughput comparison.
   */
  static async startOneMaster(): Promise<RedisClusterServer> {
    const port = await freePort()
    const server = new RedisClusterServer([port], mkdtempSync(join(tmpdir(), 'sc-cluster-')))
    try {
      server.#spawn(port)
      await waitFor(() => pingPort(port), { timeoutMs: 10_000, what: `node ${port} to answer` })
      await run('redis-cli', ['-p', String(port), 'cluster', 'addslotsrange', '0', '16383'])
      await server.waitHealthy()
      return server
    } catch (error) {
      await server.stop()
      throw error
    }
  }

  /**
   * Resolves once every running node reports `cluster_state:ok` and knows all the nodes, and
   * every running replica is in sync with its master (a replica that never synced cannot take
   * over from it).
   */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    for (const port of this.#children.keys()) {
      await waitFor(
        async () => {
          const info = await cli(port, 'cluster', 'info')
          const replication = await cli(port, 'info', 'replication')
          return (
            info.includes('cluster_state:ok') &&
            info.includes(`cluster_known_nodes:${this.ports.length}`) &&
            (replication.includes('role:master') || replication.includes('master_link_status:up'))
          )
        },
        { timeoutMs, intervalMs: 50, what: `cluster_state:ok on ${port}` },
      )
    }
  }

  /** A new ioredis `Cluster` on these nodes, disconnected by `stop()`. */
  client(options: ConstructorParameters<typeof Cluster>[1] = {}): Cluster {
    const client = new Cluster(this.nodes, options)
    client.on('error', () => {})
    this.#clients.add(client)
    return client
  }

  /** The ports of the current masters (asked of the cluster through redis-cli). */
  async masterPorts(): Promise<number[]> {
    for (const port of this.#children.keys()) {
      const nodes = await cli(port, 'cluster', 'nodes')
      if (nodes === '') continue
      return nodes
        .split('\n')
        .filter((line) => / master /.test(line) || /,master /.test(line))
        .filter((line) => !line.includes('fail'))
        .map((line) => Number(line.split(' ')[1]!.split('@')[0]!.split(':')[1]))
    }
    return []
  }

  /** `kill -9` of one node (e.g. a master, to make its replica take over). */
  async kill(port: number): Promise<void> {
    const child = this.#children.get(port)
    if (child === undefined) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    this.#children.delete(port)
    running.delete(child)
  }

  /** Kills every node and removes their files. */
  async stop(): Promise<void> {
    for (const client of this.#clients) client.disconnect()
    this.#clients.clear()
    await Promise.all([...this.#children.keys()].map((port) => this.kill(port)))
    rmSync(this.#dir, { recursive: true, force: true })
  }

  #spawn(port: number): void {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(this.#dir, `nodes-${port}.conf`),
        // A lone node never learns its own address from a peer: announce it.
        '--cluster-announce-ip',
        '127.0.0.1',
        '--cluster-node-timeout',
        '1000',
        '--dir',
        this.#dir,
        '--logfile',
        join(this.#dir, `${port}.log`),
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    )
    running.add(child)
    this.#children.set(port, child)
  }
}

/** What {@link useCluster} hands a test file; `cluster` and `raw` are set once it started. */
export interface ClusterFixture {
  readonly cluster: RedisClusterServer
  /** A client of the test's own, for asserting on what the cluster holds. */
  readonly raw: Cluster
  /** A cache on the cluster, closed after the test (or the file: see {@link useCluster}). */
  cache(options?: CacheOptions): CacheManager
}

/**
 * A cluster for one test file: started before its tests, stopped after them. The caches made with
 * `cache()` are closed after each test, or after the file with `closeCaches: 'file'`.
 */
export function useCluster({ closeCaches = 'test' }: { closeCaches?: 'test' | 'file' } = {}) {
  let cluster: RedisClusterServer | undefined
  let raw: Cluster | undefined
  const open: CacheManager[] = []
  const closeAll = async () => {
    await Promise.all(open.splice(0).map((cache) => cache.close()))
  }
  beforeAll(async () => {
    cluster = await RedisClusterServer.start()
    raw = cluster.client()
    await raw.ping()
  }, 60_000)
  if (closeCaches === 'test') afterEach(closeAll)
  afterAll(async () => {
    await closeAll()
    await cluster?.stop()
  })
  const fixture: ClusterFixture = {
    get cluster() {
      if (cluster === undefined) throw new Error('the cluster starts in beforeAll')
      return cluster
    },
    get raw() {
      if (raw === undefined) throw new Error('the cluster starts in beforeAll')
      return raw
    },
    cache(options = {}) {
      const cache = new CacheManager({ redis: { cluster: fixture.cluster.nodes }, ...options })
      open.push(cache)
      return cache
    },
  }
  return fixture
}
