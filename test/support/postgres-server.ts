import { execFile, spawnSync } from 'node:child_process'
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePort } from './redis-server.js'

const run = promisify(execFile)

/** Debian keeps the server binaries out of PATH: /usr/lib/postgresql/<major>/bin. */
function binDir(): string {
  const root = '/usr/lib/postgresql'
  const majors = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a))
  if (majors.length === 0) throw new Error(`no PostgreSQL server binaries under ${root}`)
  return join(root, majors[0] as string, 'bin')
}

/** initdb and postgres refuse to run as root: run them as the `postgres` user then. */
const asRoot = process.getuid?.() === 0
const OWNER = 'postgres'

function command(tool: string, args: string[]): [string, string[]] {
  const path = join(binDir(), tool)
  return asRoot ? ['runuser', ['-u', OWNER, '--', path, ...args]] : [path, args]
}

async function tool(name: string, args: string[]): Promise<string> {
  const [file, argv] = command(name, args)
  try {
    const { stdout } = await run(file, argv, { timeout: 60_000 })
    return stdout
  } catch (error) {
    const detail = error as { stderr?: string; stdout?: string }
    throw new Error(
      `${name} ${args.join(' ')} failed: ${detail.stderr ?? ''}${detail.stdout ?? ''}`,
    )
  }
}

/** Every data directory with a server started by this module, stopped if the process exits. */
const running = new Set<string>()
process.once('exit', () => {
  for (const data of running) {
    const [file, argv] = command('pg_ctl', ['-D', data, '-m', 'immediate', 'stop'])
    spawnSync(file, argv, { stdio: 'ignore' })
  }
})

/** How {@link PostgresServer.start} sets up a new cluster. */
export interface PostgresServerOptions {
  /**
   * The cluster's `wal_level`. `'logical'` also allows logical replication slots and walsender
   * connections (`max_replication_slots` and `max_wal_senders` 10, `wal_sender_timeout` 10 s),
   * for tests that decode the WAL, e.g. with `pg_create_logical_replication_slot(…, 'pgoutput')`.
   *
   * @default 'replica'
   */
  walLevel?: 'replica' | 'logical'
}

/**
 * A throwaway PostgreSQL cluster that a test owns, on a free loopback port:
 * `initdb` into a temporary directory, trust authentication, no fsync. `stop()` and `start()`
 * take it down and bring it back on the same port with the same data; {@link replica} makes a
 * streaming read replica of it with `pg_basebackup -R`.
 *
 * @example
 * ```ts
 * const primary = await PostgresServer.start()
 * const replica = await primary.replica()
 * await replica.query('SELECT pg_wal_replay_pause()') // make it lag
 * await primary.stop(); await primary.start()
 * await replica.destroy(); await primary.destroy()
 * ```
 */
export class PostgresServer {
  readonly port: number
  readonly #dir: string
  readonly #data: string

  private constructor(port: number, dir: string) {
    this.port = port
    this.#dir = dir
    this.#data = join(dir, 'data')
  }

  /** `postgresql://postgres@127.0.0.1:<port>/<database>` */
  url(database = 'postgres'): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`
  }

  /** A new cluster, started and answering. */
  static async start(options: PostgresServerOptions = {}): Promise<PostgresServer> {
    const { walLevel = 'replica' } = options
    const server = await PostgresServer.#make()
    await tool('initdb', ['-D', server.#data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
    const settings = [
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      `wal_level = ${walLevel}`,
    ]
    if (walLevel === 'logical') {
      // Room for a test's slots and its streaming connections; a consumer that goes away without
      // closing its stream is dropped after 10 s rather than the default minute, so its slot
      // becomes inactive (and droppable) soon enough for a test.
      settings.push(
        'max_replication_slots = 10',
        'max_wal_senders = 10',
        "wal_sender_timeout = '10s'",
      )
    }
    writeFileSync(join(server.#data, 'postgresql.auto.conf'), `${settings.join('\n')}\n`, {
      flag: 'a',
    })
    await server.start()
    return server
  }

  static async #make(): Promise<PostgresServer> {
    const dir = mkdtempSync(join(tmpdir(), 'sc-pg-'))
    if (asRoot) {
      const { stdout } = await run('id', ['-u', OWNER])
      const { stdout: gid } = await run('id', ['-g', OWNER])
      chownSync(dir, Number(stdout.trim()), Number(gid.trim()))
    }
    return new PostgresServer(await freePort(), dir)
  }

  /** A streaming replica of this server (`pg_basebackup -R`), started on a port of its own. */
  async replica(): Promise<PostgresServer> {
    const replica = await PostgresServer.#make()
    await tool('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(this.port),
      '-U',
      'postgres',
      '-D',
      replica.#data,
      '-R',
      '-X',
      'stream',
    ])
    await replica.start()
    return replica
  }

  /** Starts the server (again) on its port and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.#dir} -c listen_addresses=127.0.0.1`
    await tool('pg_ctl', [
      '-D',
      this.#data,
      '-o',
      options,
      '-l',
      join(this.#dir, 'log'),
      '-w',
      'start',
    ])
    running.add(this.#data)
  }

  /** Stops the server (`-m fast`: open connections are cut) and waits until it is down. */
  async stop(): Promise<void> {
    if (!running.has(this.#data)) return
    await tool('pg_ctl', ['-D', this.#data, '-m', 'fast', '-w', 'stop'])
    running.delete(this.#data)
  }

  /** One statement on a short-lived connection. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    values?: unknown[],
    database = 'postgres',
  ): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.url(database) })
    await client.connect()
    try {
      return (await client.query<R>(sql, values)).rows
    } finally {
      await client.end()
    }
  }

  /** Stops the server and deletes its files. */
  async destroy(): Promise<void> {
    try {
      await this.stop()
    } finally {
      rmSync(this.#dir, { recursive: true, force: true })
    }
  }
}
