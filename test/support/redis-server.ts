import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Every server started by this module, killed if the test process exits without stopping it. */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** A free TCP port on loopback (asked of the kernel, then released for the server to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

/** Resolves `true` when `PING` on `port` answers `+PONG` within `timeoutMs`. */
export function pingPort(port: number, timeoutMs = 200): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (data) => {
      reply += data.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
    socket.on('error', () => done(false))
  })
}

/**
 * A throwaway `redis-server` on a free loopback port, without persistence, for fault tests:
 * `kill()` is a `kill -9`, `restart()` brings a fresh (empty) server up on the same port.
 *
 * @example
 * ```ts
 * const server = await RedisServer.start()
 * const driver = new RedisDriver({ url: server.url, prefix })
 * await server.kill()
 * await server.restart()
 * await server.stop()
 * ```
 */
export class RedisServer {
  readonly port: number
  readonly #dir: string
  #child: ChildProcess | undefined
  #log = ''

  private constructor(port: number) {
    this.port = port
    this.#dir = mkdtempSync(join(tmpdir(), 'sc-redis-'))
  }

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Whether the process is running (it may not answer yet). */
  get running(): boolean {
    return this.#child !== undefined
  }

  /** Starts a server on a free port and waits until it answers PING. */
  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort())
    await server.restart()
    return server
  }

  /** Starts the server (again) on the same port and waits until it answers PING (5 s at most). */
  async restart(timeoutMs = 5_000): Promise<void> {
    if (this.#child !== undefined)
      throw new Error(`redis-server on ${this.port} is already running`)
    const deadline = Date.now() + timeoutMs
    this.#log = ''
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.#dir,
        '--protected-mode',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.#child = child
    running.add(child)
    const capture = (data: Buffer) => {
      this.#log = (this.#log + data.toString()).slice(-4000)
    }
    child.stdout?.on('data', capture)
    child.stderr?.on('data', capture)
    let exited = false
    child.once('exit', () => {
      exited = true
      running.delete(child)
      if (this.#child === child) this.#child = undefined
    })
    while (!(await pingPort(this.port))) {
      if (exited || Date.now() > deadline) {
        child.kill('SIGKILL')
        throw new Error(`redis-server did not answer on port ${this.port}:\n${this.#log}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** `kill -9` the server and wait for the process to be gone. */
  async kill(): Promise<void> {
    const child = this.#child
    if (child === undefined) return
    if (child.exitCode !== null || child.signalCode !== null) {
      this.#child = undefined
      return
    }
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGKILL')
    await gone
  }

  /** Kills the server and removes its working directory. */
  async stop(): Promise<void> {
    await this.kill()
    rmSync(this.#dir, { recursive: true, force: true })
  }
}
