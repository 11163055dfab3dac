import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy in front of a real server (Redis, PostgreSQL) whose faults the tests control: added
 * latency on what clients send, cutting or resetting connections, refusing new ones, and silencing
 * pub/sub subscribers. The server itself stays untouched,
 * so other clients connected to it directly see nothing.
 *
 * @example
 * ```ts
 * const proxy = await TcpProxy.start(6379)
 * const cache = new CacheManager({ redis: proxy.url('redis'), prefix })
 * proxy.delayMs = 300 // a latency spike on this instance's link only
 * ```
 */
export class TcpProxy {
  /** Added to every chunk a client sends, in order. */
  delayMs = 0
  /** While true, connections are refused (reset at once): a partition. */
  blocked = false
  /**
   * Once: the first client chunk it returns true for is delivered to the server, and then the
   * client's connection is reset before any answer (the server still runs what it got: a
   * connection lost during `COMMIT`).
   */
  cutAfter: ((chunk: Buffer) => boolean) | undefined = undefined
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  /** Per connection: whether it subscribed (pub/sub), and whether the server's data is dropped. */
  readonly #links = new Set<{ subscriber: boolean; silenced: boolean }>()

  private constructor(server: Server) {
    this.#server = server
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = createServer()
    const proxy = new TcpProxy(server)
    server.on('connection', (client) => proxy.#pipe(client, targetHost, targetPort))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  /** A proxy in front of the server of `url` (`redis://…`, `postgresql://…`, default ports). */
  static to(url: string): Promise<TcpProxy> {
    const target = new URL(url)
    const port = target.port || (target.protocol.startsWith('redis') ? '6379' : '5432')
    return TcpProxy.start(Number(port), target.hostname)
  }

  get port(): number {
    const address = this.#server.address()
    if (address === null || typeof address === 'string') throw new Error('proxy not listening')
    return address.port
  }

  /** `scheme://127.0.0.1:port` of the proxy. */
  url(scheme: string): string {
    return `${scheme}://127.0.0.1:${this.port}`
  }

  /** Resets every connection through the proxy (clients see their socket closed). */
  cutAll(): void {
    for (const socket of this.#sockets) socket.destroy()
  }

  async close(): Promise<void> {
    this.cutAll()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  /**
   * From now on drops what the server sends to every connection that subscribed (a half-open
   * connection, or a middlebox that dropped the subscription): its client sees nothing wrong.
   * Returns how many connections that silenced.
   */
  silenceSubscribers(): number {
    let count = 0
    for (const link of this.#links) {
      if (!link.subscriber) continue
      link.silenced = true
      count++
    }
    return count
  }

  /** Cuts every connection and refuses new ones until {@link heal}. */
  partition(): void {
    this.blocked = true
    this.cutAll()
  }

  heal(): void {
    this.blocked = false
  }

  #pipe(client: Socket, host: string, port: number): void {
    if (this.blocked) {
      client.destroy()
      return
    }
    const upstream = connect(port, host)
    this.#sockets.add(client).add(upstream)
    const link = { subscriber: false, silenced: false }
    this.#links.add(link)
    // Each chunk goes out `delayMs` after it arrived, and never before the one before it.
    let queue = Promise.resolve()
    client.on('data', (chunk) => {
      if (this.cutAfter?.(chunk)) {
        this.cutAfter = undefined
        queue = queue.then(() => {
          upstream.end(chunk)
          client.destroy()
        })
        return
      }
      if (!link.subscriber && /subscribe/i.test(chunk.toString('latin1'))) link.subscriber = true
      const due = performance.now() + this.delayMs
      queue = queue.then(async () => {
        const wait = due - performance.now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
        upstream.write(chunk)
      })
    })
    upstream.on('data', (chunk) => {
      if (!link.silenced) client.write(chunk)
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
      this.#sockets.delete(client)
      this.#sockets.delete(upstream)
      this.#links.delete(link)
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  }
}
