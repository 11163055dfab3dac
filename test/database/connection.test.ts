import net from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { type Account, PrismaClient } from '../../prisma/generated/client.js'
import { ConnectionManager } from '../../src/database/connection/connection-manager.js'
import { DatabaseUnavailableError, ValidationError } from '../../src/errors.js'
import { connectionManagers } from '../support/connection-managers.js'
import { createTestDatabase, DATABASE_URL, type TestDatabase } from '../support/database.js'
import { deferred, waitFor } from '../support/wait.js'

describe('ConnectionManager (PostgreSQL through Prisma)', () => {
  let db: TestDatabase
  /** Managers made by a test, disconnected after it. */
  const { made: managers, manager, disconnectAll } = connectionManagers(() => db)

  beforeAll(async () => {
    db = await createTestDatabase('connection')
    await db.pool.query(`INSERT INTO "Account" (owner, balance) VALUES ('a', 10), ('b', 20)`)
  })
  afterEach(async () => {
    await disconnectAll()
  })
  afterAll(async () => {
    await db?.drop()
  })

  /** Opens `n` transactions through the manager that stay open until `release` resolves. */
  async function hold(m: ConnectionManager<PrismaClient>, n: number, release: Promise<void>) {
    const opened = Array.from({ length: n }, () => deferred())
    const done = opened.map((inside) =>
      m.executeTransaction(
        async (tx) => {
          await tx.account.count()
          inside.resolve()
          await release
        },
        { timeout: '20s', maxWait: '20s' },
      ),
    )
    await Promise.all(opened.map((inside) => inside.promise))
    return done
  }

  it('connects, serves the Prisma client, and reports a timed ping', async () => {
    const m = manager({ poolSize: 4 })
    await m.connect()
    expect(await m.client.account.count()).toBe(2)
    const status = await m.getConnectionStatus()
    expect(status).toMatchObject({ connected: true, poolSize: 4, waitingRequests: 0 })
    expect(status.latencyMs).toBeGreaterThan(0)
    expect(status.activeConnections + status.idleConnections).toBe(status.totalConnections)
    expectTypeOf(m.client).toEqualTypeOf<PrismaClient>()
  })

  it('pool status follows held connections; growing serves waiters, shrinking closes extras', async () => {
    const m = manager({ poolSize: 3 })
    const release = deferred()
    const held = await hold(m, 3, release.promise)
    expect(await m.getConnectionStatus()).toMatchObject({
      connected: true, // pinged on a connection of its own: the pool has none to spare
      poolSize: 3,
      activeConnections: 3,
      idleConnections: 0,
      waitingRequests: 0,
    })

    // A fourth request has to wait for a connection...
    // (.then starts it: Prisma's promises are lazy.)
    const queued = m.client.account.findMany().then((rows) => rows)
    await waitFor(() => m.getStats().waitingRequests === 1, { what: 'a queued request' })
    // ...and the status ping does not queue behind it.
    expect((await m.getConnectionStatus()).waitingRequests).toBe(1)

    // Growing the pool serves it at once, while the three transactions still hold theirs.
    await m.configurePooling(5)
    expect(await queued).toHaveLength(2)
    expect(m.getStats()).toMatchObject({ poolSize: 5, activeConnections: 3, waitingRequests: 0 })

    // Shrinking below the busy count cuts nothing; the busy extras close as they are released.
    await m.configurePooling(1)
    expect(m.getStats()).toMatchObject({ poolSize: 1, activeConnections: 3, idleConnections: 0 })
    release.resolve()
    const results = await Promise.all(held)
    expect(results.every((r) => r.success)).toBe(true)
    await waitFor(() => m.getStats().totalConnections === 1, { what: 'the pool back at 1' })
    expect(await m.client.account.count()).toBe(2)
    expect(m.getStats().transactions).toMatchObject({ total: 3, successful: 3 })
  })

  it('closes idle connections above a smaller size at once', async () => {
    const m = manager({ poolSize: 4 })
    const release = deferred()
    const held = await hold(m, 4, release.promise)
    release.resolve()
    await Promise.all(held)
    await waitFor(() => m.getStats().idleConnections === 4, { what: 'four idle connections' })
    await m.configurePooling(2)
    expect(m.getStats()).toMatchObject({ poolSize: 2, totalConnections: 2, idleConnections: 2 })
  })

  it('applies connectionTimeout to a request waiting for the full pool', async () => {
    const m = manager({ poolSize: 1, connectionTimeout: 150 })
    const release = deferred()
    const held = await hold(m, 1, release.promise)
    const started = performance.now()
    const error = await m.client.account.count().catch((thrown: unknown) => thrown)
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
    expect(String(error)).toContain('timeout exceeded when trying to connect')
    release.resolve()
    await Promise.all(held)
  })

  it('runs transactions with retries through its TransactionManager', async () => {
    const m = manager({ transactions: { maxRetries: 1 } })
    const result = await m.executeTransaction(async (tx) => {
      const from = await tx.account.update({
        where: { id: 1 },
        data: { balance: { decrement: 5 } },
      })
      await tx.account.update({ where: { id: 2 }, data: { balance: { increment: 5 } } })
      return from
    })
    expect(result).toMatchObject({ success: true, attempts: 1, data: { balance: 5 } })
    if (result.success) expectTypeOf(result.data).toEqualTypeOf<Account>()
    const failed = await m.executeTransaction(async () => {
      throw new Error('business rule')
    })
    expect(failed).toMatchObject({ success: false, attempts: 1, errorKind: 'other' })
    expect(m.getStats().transactions).toMatchObject({ total: 2, successful: 1, failed: 1 })
  })

  it('reports an unreachable database: connect() throws, status says not connected', async () => {
    const m = manager({ url: 'postgresql://postgres@127.0.0.1:1/test', connectionTimeout: 1000 })
    const error = await m.connect().catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(DatabaseUnavailableError)
    expect(error).toMatchObject({ code: 'ERR_DATABASE_UNAVAILABLE' })
    expect(String((error as Error).message)).toMatch(/cannot reach the database: .*ECONNREFUSED/)
    expect(await m.getConnectionStatus()).toMatchObject({ connected: false, totalConnections: 0 })
  })

  it('bounds the status ping by connectionTimeout when the server never answers', async () => {
    // A listener that accepts connections and never says a word: a hung server or a black hole.
    const silent = net.createServer(() => {})
    const sockets: net.Socket[] = []
    silent.on('connection', (socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const port = (silent.address() as net.AddressInfo).port
      const m = manager({
        url: `postgresql://postgres@127.0.0.1:${port}/test`,
        connectionTimeout: 200,
      })
      const status = await m.getConnectionStatus()
      expect(status).toMatchObject({ connected: false })
      expect(status.error).toMatch(/no answer within 200 ms|connection timeout/)
      expect(status.latencyMs).toBeGreaterThanOrEqual(190)
      expect(status.latencyMs).toBeLessThan(2_000)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })

  it('disconnect() ends the pool; the manager refuses work afterwards', async () => {
    const m = manager()
    await m.connect()
    await m.disconnect()
    await m.disconnect() // twice is fine
    expect(m.pool.ended).toBe(true)
    expect(await m.getConnectionStatus()).toMatchObject({ connected: false, error: 'disconnected' })
    expect(() => m.executeTransaction(async () => 1)).toThrow(
      expect.objectContaining({ code: 'ERR_CLOSED' }),
    )
    await expect(m.configurePooling(3)).rejects.toMatchObject({ code: 'ERR_CLOSED' })
  })

  it('fromEnv reads DATABASE_URL, DATABASE_POOL_SIZE and DATABASE_CONNECTION_TIMEOUT (ms)', async () => {
    const env = {
      DATABASE_URL: DATABASE_URL,
      DATABASE_POOL_SIZE: ' 3 ',
      DATABASE_CONNECTION_TIMEOUT: '1500',
    }
    const extra = {
      pool: { options: `-c search_path=${db.schema}` },
      adapter: { schema: db.schema },
    }
    const m = ConnectionManager.fromEnv({ PrismaClient, ...extra }, env)
    managers.push(m)
    await m.connect()
    expect(await m.client.account.count()).toBe(2)
    expect((await m.getConnectionStatus()).poolSize).toBe(3)
    expect(m.pool.options.connectionTimeoutMillis).toBe(1500)
    // Options win over the environment.
    const overridden = ConnectionManager.fromEnv({ PrismaClient, ...extra, poolSize: 7 }, env)
    managers.push(overridden)
    expect(overridden.getStats().poolSize).toBe(7)
  })

  it('fromEnv names the variable at fault', () => {
    const url = { DATABASE_URL: DATABASE_URL }
    const cases: [Record<string, string>, string][] = [
      [{}, 'DATABASE_URL'],
      [{ DATABASE_URL: '   ' }, 'DATABASE_URL'],
      [{ DATABASE_URL: 'mysql://db/shop' }, 'DATABASE_URL'],
      [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
      [{ ...url, DATABASE_POOL_SIZE: 'ten' }, 'DATABASE_POOL_SIZE'],
      [{ ...url, DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE'],
      [{ ...url, DATABASE_POOL_SIZE: '1001' }, 'DATABASE_POOL_SIZE'],
      [{ ...url, DATABASE_POOL_SIZE: '2.5' }, 'DATABASE_POOL_SIZE'],
      [{ ...url, DATABASE_CONNECTION_TIMEOUT: '5s' }, 'DATABASE_CONNECTION_TIMEOUT'],
      [{ ...url, DATABASE_CONNECTION_TIMEOUT: '-1' }, 'DATABASE_CONNECTION_TIMEOUT'],
      [{ ...url, DATABASE_CONNECTION_TIMEOUT: '0' }, 'DATABASE_CONNECTION_TIMEOUT'],
    ]
    for (const [env, field] of cases) {
      const error = (() => {
        try {
          managers.push(ConnectionManager.fromEnv({ PrismaClient }, env))
        } catch (thrown) {
          return thrown
        }
      })()
      expect(error, JSON.stringify(env)).toBeInstanceOf(ValidationError)
      expect((error as ValidationError).field, JSON.stringify(env)).toBe(field)
      expect((error as ValidationError).code).toBe('ERR_INVALID_ENV')
    }
    // The password of a bad URL stays out of the message.
    const secret = (() => {
      try {
        ConnectionManager.fromEnv({ PrismaClient }, { DATABASE_URL: 'mysql://u:hunter2@db/x' })
      } catch (thrown) {
        return thrown as Error
      }
    })()
    expect(secret?.message).not.toContain('hunter2')
  })

  it('rejects bad options with a ValidationError naming the field', async () => {
    const base = { PrismaClient, url: DATABASE_URL }
    const cases: [unknown, string][] = [
      [null, 'options'],
      [{ url: DATABASE_URL }, 'options.PrismaClient'],
      [{ ...base, createClient: () => null }, 'options.createClient'],
      [{ url: DATABASE_URL, createClient: () => ({}) }, 'options.createClient'],
      [{ url: DATABASE_URL, createClient: 'client' }, 'options.createClient'],
      [{ url: DATABASE_URL, PrismaClient: {} }, 'options.PrismaClient'],
      [{ PrismaClient }, 'options.url'],
      [{ ...base, url: 'mysql://db/x' }, 'options.url'],
      [{ ...base, poolSize: 0 }, 'options.poolSize'],
      [{ ...base, poolSize: '10' }, 'options.poolSize'],
      [{ ...base, connectionTimeout: -1 }, 'options.connectionTimeout'],
      [{ ...base, connectionTimeout: 0 }, 'options.connectionTimeout'],
      [{ ...base, pool: 'big' }, 'options.pool'],
      [{ ...base, transactions: { maxRetries: -1 } }, 'options.transactions.maxRetries'],
      [{ ...base, size: 3 }, 'options.size'],
    ]
    for (const [options, field] of cases) {
      const make = () => managers.push(new ConnectionManager(options as never))
      expect(make, field).toThrow(ValidationError)
      expect(make, field).toThrow(expect.objectContaining({ field }))
    }
    const m = manager()
    for (const size of [0, 1.5, 1001, '4']) {
      await expect(m.configurePooling(size as never), String(size)).rejects.toMatchObject({
        field: 'poolSize',
        code: 'ERR_INVALID_OPTION',
      })
    }
    expect(m.getStats().poolSize).toBe(10)
  })

  it('builds the client with createClient, e.g. an extended one', async () => {
    const m = new ConnectionManager({
      createClient: (adapter) =>
        new PrismaClient({ adapter }).$extends({
          result: { account: { label: { needs: { owner: true }, compute: (a) => `#${a.owner}` } } },
        }),
      url: DATABASE_URL,
      pool: { options: `-c search_path=${db.schema}` },
      adapter: { schema: db.schema },
    })
    try {
      const result = await m.executeTransaction((tx) =>
        tx.account.findFirstOrThrow({ orderBy: { id: 'asc' } }),
      )
      expect(result.data?.label).toBe('#a')
      expectTypeOf(result.data?.label).toEqualTypeOf<string | undefined>()
    } finally {
      await m.disconnect()
    }
  })
})
