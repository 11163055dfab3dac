import net from 'node:net'
import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest'
import { type Account, PrismaClient } from '../prisma/generated/client.js'
import { backoffDelay } from '../src/database/transactions/backoff.js'
import { classifyTransactionError } from '../src/database/transactions/retryable-errors.js'
import { TransactionManager } from '../src/database/transactions/transaction-manager.js'
import type { RetryInfo } from '../src/database/transactions/transaction-options.js'
import { ValidationError } from '../src/errors.js'
import { createTestDatabase, type TestDatabase } from './support/database.js'
import { useCachedShop } from './support/shop-fixture.js'
import { deferred, waitFor } from './support/wait.js'

/**
 * Every failure the manager tells apart is produced for real on PostgreSQL here (deadlocks,
 * serialization failures in a query and at COMMIT, no connection within maxWait, a backend
 * terminated inside the body and before COMMIT, an expired transaction); none is mocked.
 */
describe('TransactionManager (PostgreSQL through Prisma)', () => {
  let db: TestDatabase
  let prisma: PrismaClient
  /** A client whose pool has ONE connection, to make "no connection within maxWait" happen. */
  let single: PrismaClient

  beforeAll(async () => {
    db = await createTestDatabase('transactions')
    prisma = db.client()
    single = new PrismaClient({
      adapter: new PrismaPg({ ...db.config, max: 1 }, { schema: db.schema }),
    })
  })

  afterAll(async () => {
    await single?.$disconnect()
    await prisma?.$disconnect()
    await db?.drop()
  })

  /** Account ids, in creation order, each with `balance`. */
  let ids: number[]
  beforeEach(async () => {
    await db.pool.query('TRUNCATE "Account" RESTART IDENTITY')
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO "Account" (owner, balance) SELECT 'owner ' || i, 1000 FROM generate_series(1, 4) i RETURNING id`,
    )
    ids = rows.map((row) => row.id)
  })

  async function balances(): Promise<number[]> {
    const { rows } = await db.pool.query<{ balance: number }>(
      'SELECT balance FROM "Account" ORDER BY id',
    )
    return rows.map((row) => row.balance)
  }

  /** The PostgreSQL backend (session) a transaction runs on. */
  async function backendPid(tx: { $queryRaw: PrismaClient['$queryRaw'] }): Promise<number> {
    const rows = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`
    return rows[0]!.pid
  }

  /** Waits until the backend `pid` is blocked on a lock (seen by PostgreSQL itself). */
  async function blockedOnLock(pid: number): Promise<void> {
    await waitFor(
      async () => {
        const { rows } = await db.pool.query<{ wait: string | null }>(
          'SELECT wait_event_type AS wait FROM pg_stat_activity WHERE pid = $1',
          [pid],
        )
        return rows[0]?.wait === 'Lock'
      },
      { what: `backend ${pid} waiting for a lock` },
    )
  }

  it('40 concurrent Serializable transfers all commit, some after retries, and no money is made or lost', async () => {
    const manager = new TransactionManager(prisma, {
      isolationLevel: 'Serializable',
      maxRetries: 40,
      baseDelay: 2,
      maxDelay: 50,
      timeout: '10s',
      // 40 transactions share 8 connections: waiting for one is expected here, not a failure.
      maxWait: '10s',
    })
    // A deterministic pseudo-random plan of transfers between the four accounts.
    const transfers = Array.from({ length: 40 }, (_, i) => {
      const from = ids[i % 4]!
      const to = ids[(i * 7 + 1 + Math.floor(i / 4)) % 4]!
      return { from, to: to === from ? ids[(i + 1) % 4]! : to, amount: 1 + ((i * 13) % 29) }
    })
    // The first four first attempts read, then wait until all four have read before writing:
    // overlapping read-then-write transactions under Serializable cannot all commit, so at least
    // one conflict happens on every run, not only when the scheduler is kind.
    const readers = deferred()
    let waiting = 0
    const retries: RetryInfo[] = []
    const results = await Promise.all(
      transfers.map(({ from, to, amount }, index) => {
        let attempt = 0
        return manager.execute(
          async (tx) => {
            attempt++
            const [a, b] = await Promise.all([
              tx.account.findUniqueOrThrow({ where: { id: from } }),
              tx.account.findUniqueOrThrow({ where: { id: to } }),
            ])
            if (index < 4 && attempt === 1) {
              if (++waiting === 4) readers.resolve()
              await readers.promise
            }
            // Rows are written in id order, as a transfer service should: no lock cycles, so the
            // conflicts here are serialization failures, not deadlocks (tested on their own below).
            const writes = [
              { id: from, balance: a.balance - amount },
              { id: to, balance: b.balance + amount },
            ].sort((x, y) => x.id - y.id)
            for (const { id, balance } of writes) {
              await tx.account.update({ where: { id }, data: { balance } })
            }
            return amount
          },
          { name: `transfer-${index}`, onRetry: (info) => retries.push(info) },
        )
      }),
    )

    expect(results.map((r) => r.success)).toEqual(transfers.map(() => true))
    const expected = [1000, 1000, 1000, 1000]
    for (const { from, to, amount } of transfers) {
      expected[ids.indexOf(from)]! -= amount
      expected[ids.indexOf(to)]! += amount
    }
    const final = await balances()
    expect(final.reduce((sum, b) => sum + b, 0)).toBe(4000)
    expect(final).toEqual(expected)

    const stats = manager.getStats()
    expect(stats.retries).toBeGreaterThan(0)
    expect(stats.retries).toBe(results.reduce((sum, r) => sum + r.attempts - 1, 0))
    expect(stats.retried).toBe(results.filter((r) => r.attempts > 1).length)
    expect(stats).toMatchObject({ total: 40, successful: 40, failed: 0 })
    expect(stats.maxDurationMs).toBe(Math.max(...results.map((r) => r.durationMs)))
    const mean = results.reduce((sum, r) => sum + r.durationMs, 0) / 40
    expect(stats.averageDurationMs).toBeCloseTo(mean, 6)
    expect(stats.p95DurationMs).toBeGreaterThan(0)
    expect(stats.p95DurationMs).toBeLessThanOrEqual(stats.maxDurationMs)
    // Every retry was for a serialization failure, and each was counted.
    expect(new Set(retries.map((r) => r.kind))).toEqual(new Set(['serialization']))
    expect(stats.serializationFailures).toBe(retries.length)
    expect(retries.every((r) => r.name?.startsWith('transfer-'))).toBe(true)
  })

  for (const lock of ['SELECT ... FOR UPDATE ($queryRaw)', 'update (model query)'] as const) {
    it(`retries the victim of a deadlock (${lock}); both transactions commit`, async () => {
      const manager = new TransactionManager(prisma, { timeout: '10s' })
      const [a, b] = [ids[0]!, ids[1]!]
      const holds = { [a]: deferred(), [b]: deferred() }
      const seen: RetryInfo[] = []
      /** Locks `first`, waits until the other transaction holds its first row, then locks `second`. */
      const run = (first: number, second: number) => {
        let attempt = 0
        return manager.execute(
          async (tx) => {
            attempt++
            // The detector runs after deadlock_timeout (1 s by default); 50 ms keeps the test fast.
            await tx.$executeRaw`SET LOCAL deadlock_timeout = '50ms'`
            const take = async (id: number) => {
              if (lock === 'update (model query)') {
                await tx.account.update({ where: { id }, data: { balance: { increment: 1 } } })
              } else {
                await tx.$queryRaw`SELECT id FROM "Account" WHERE id = ${id} FOR UPDATE`
                await tx.$executeRaw`UPDATE "Account" SET balance = balance + 1 WHERE id = ${id}`
              }
            }
            await take(first)
            if (attempt === 1) {
              holds[first]!.resolve()
              await holds[second]!.promise
            }
            await take(second)
            return attempt
          },
          { onRetry: (info) => seen.push(info) },
        )
      }
      const [one, two] = await Promise.all([run(a, b), run(b, a)])

      expect(one.success && two.success).toBe(true)
      expect([one.attempts, two.attempts].sort()).toEqual([1, 2])
      expect(seen).toHaveLength(1)
      expect(seen[0]!.kind).toBe('deadlock')
      const error = seen[0]!.error as { code: string; meta: { driverAdapterError: unknown } }
      expect(error.code).toBe(lock === 'update (model query)' ? 'P2034' : 'P2010')
      expect(error.meta.driverAdapterError).toMatchObject({
        name: 'DriverAdapterError',
        cause: { originalCode: '40P01', kind: 'TransactionWriteConflict' },
      })
      expect(manager.getStats()).toMatchObject({ deadlocks: 1, retried: 1, successful: 2 })
      // Each transaction added 1 to both rows, once: the aborted attempt left nothing behind.
      expect((await balances()).slice(0, 2)).toEqual([1002, 1002])
    })
  }

  it('retries a serialization failure raised by an UPDATE (P2034, 40001)', async () => {
    const manager = new TransactionManager(prisma, { isolationLevel: 'Serializable' })
    const id = ids[0]!
    const firstUpdated = deferred()
    const secondBlocked = deferred()
    const seen: RetryInfo[] = []
    const first = manager.execute(async (tx) => {
      await tx.account.update({ where: { id }, data: { balance: { increment: 10 } } })
      firstUpdated.resolve()
      await secondBlocked.promise // commit only once the other one waits on our row lock
    })
    let attempt = 0
    const second = manager.execute(
      async (tx) => {
        attempt++
        const pid = await backendPid(tx)
        await tx.account.findMany() // takes the snapshot before the other transaction commits
        if (attempt === 1) {
          await firstUpdated.promise
          void blockedOnLock(pid).then(secondBlocked.resolve, secondBlocked.reject)
        }
        return tx.account.update({ where: { id }, data: { balance: { increment: 5 } } })
      },
      { onRetry: (info) => seen.push(info) },
    )
    const [one, two] = await Promise.all([first, second])

    expect(one.success).toBe(true)
    expect(two).toMatchObject({ success: true, attempts: 2 })
    expect(two.data?.balance).toBe(1015)
    expect(seen[0]!.kind).toBe('serialization')
    expect(seen[0]!.error).toMatchObject({
      code: 'P2034',
      meta: { driverAdapterError: { cause: { originalCode: '40001' } } },
    })
    expect(manager.getStats()).toMatchObject({ serializationFailures: 1, deadlocks: 0 })
  })

  it('retries a serialization failure raised at COMMIT (a bare DriverAdapterError)', async () => {
    const manager = new TransactionManager(prisma, { isolationLevel: 'Serializable' })
    const [a, b] = [ids[0]!, ids[1]!]
    const bothRead = { n: 0, done: deferred() }
    const bothWrote = { n: 0, done: deferred() }
    const seen: RetryInfo[] = []
    // Write skew: each reads both rows and writes a different one. Neither UPDATE waits (no
    // shared row), so PostgreSQL can only refuse the pair when the second one commits.
    const run = (mine: number) => {
      let attempt = 0
      return manager.execute(
        async (tx) => {
          attempt++
          const rows = await tx.account.findMany({ where: { id: { in: [a, b] } } })
          const gate = async (step: typeof bothRead) => {
            if (attempt > 1) return
            if (++step.n === 2) step.done.resolve()
            await step.done.promise
          }
          await gate(bothRead)
          const total = rows.reduce((sum, row) => sum + row.balance, 0)
          await tx.$executeRaw`UPDATE "Account" SET balance = ${total} WHERE id = ${mine}`
          await gate(bothWrote)
          return total
        },
        { onRetry: (info) => seen.push(info) },
      )
    }
    const results = await Promise.all([run(a), run(b)])

    expect(results.every((r) => r.success)).toBe(true)
    expect(results.map((r) => r.attempts).sort()).toEqual([1, 2])
    expect(seen).toHaveLength(1)
    expect(seen[0]!.kind).toBe('serialization')
    expect(seen[0]!.error).toMatchObject({
      name: 'DriverAdapterError',
      cause: { originalCode: '40001', kind: 'TransactionWriteConflict' },
    })
    // Serial result: the second sees the first's write (2000 + 1000 = 3000).
    expect((await balances()).slice(0, 2).sort()).toEqual([2000, 3000])
  })

  it('retries when no connection frees up within maxWait (P2028 "Unable to start")', async () => {
    const manager = new TransactionManager(single, { maxWait: 50 })
    const holding = deferred()
    const release = deferred()
    // The single connection is busy in another transaction until the first retry is announced.
    const holder = single.$transaction(async () => {
      holding.resolve()
      await release.promise
    })
    await holding.promise
    const seen: RetryInfo[] = []
    const result = await manager.execute((tx) => tx.account.count(), {
      onRetry: (info) => {
        seen.push(info)
        release.resolve()
      },
    })
    await holder

    expect(result).toMatchObject({ success: true, data: 4, attempts: 2 })
    expect(seen[0]!.kind).toBe('start-timeout')
    expect(seen[0]!.error).toMatchObject({
      code: 'P2028',
      message: expect.stringContaining('Unable to start a transaction in the given time'),
    })
    expect(manager.getStats().startTimeouts).toBe(1)
  })

  it('gives up after maxRetries + 1 attempts with the last error', async () => {
    const manager = new TransactionManager(single, { maxWait: 20, baseDelay: 1, maxDelay: 5 })
    const holding = deferred()
    const release = deferred()
    const holder = single.$transaction(async () => {
      holding.resolve()
      await release.promise
    })
    await holding.promise
    const errors: unknown[] = []
    const result = await manager.execute((tx) => tx.account.count(), {
      maxRetries: 2,
      onRetry: (info) => errors.push(info.error),
    })
    release.resolve()
    await holder

    expect(result).toMatchObject({ success: false, attempts: 3, errorKind: 'start-timeout' })
    expect(result.error).toMatchObject({ code: 'P2028' })
    expect(errors).toHaveLength(2)
    expect(result.error).not.toBe(errors[1]) // the third attempt's own error, not an earlier one
    expect(manager.getStats()).toMatchObject({
      total: 1,
      failed: 1,
      retried: 1,
      retries: 2,
      startTimeouts: 3,
    })
    manager.resetStats()
    expect(manager.getStats()).toMatchObject({
      total: 0,
      failed: 0,
      startTimeouts: 0,
      averageDurationMs: 0,
      maxDurationMs: 0,
    })
  })

  /** A client of its own for the tests that kill sessions, so no dead connection outlives them. */
  async function withOwnClient(test: (client: PrismaClient) => Promise<void>): Promise<void> {
    const client = db.client()
    try {
      await test(client)
    } finally {
      await client.$disconnect()
    }
  }

  it('retries a transaction whose backend was terminated in the body (57P01), once committed', () =>
    withOwnClient(async (client) => {
      const manager = new TransactionManager(client)
      const seen: RetryInfo[] = []
      let attempt = 0
      const result = await manager.execute(
        async (tx) => {
          attempt++
          await tx.account.update({ where: { id: ids[0]! }, data: { balance: { increment: 7 } } })
          if (attempt === 1) {
            const pid = await backendPid(tx)
            await db.pool.query('SELECT pg_terminate_backend($1)', [pid])
          }
          return tx.account.findUniqueOrThrow({ where: { id: ids[0]! } })
        },
        { onRetry: (info) => seen.push(info) },
      )

      expect(result).toMatchObject({ success: true, attempts: 2 })
      expect(seen.map((r) => r.kind)).toEqual(['connection-lost'])
      expect((await balances())[0]).toBe(1007) // the first attempt's increment died with it
      expect(manager.getStats().connectionLosses).toBe(1)
    }))

  it('does NOT retry a connection lost at COMMIT: whether it committed is unknown', () =>
    withOwnClient(async (client) => {
      const manager = new TransactionManager(client)
      const result = await manager.execute(async (tx) => {
        await tx.account.update({ where: { id: ids[0]! }, data: { balance: { increment: 1 } } })
        const pid = await backendPid(tx)
        // Ends the session after the body's last query; Prisma then sends COMMIT on a dead socket.
        await db.pool.query('SELECT pg_terminate_backend($1)', [pid])
      })

      expect(result).toMatchObject({ success: false, attempts: 1, errorKind: 'connection-lost' })
      expect(manager.getStats()).toMatchObject({ failed: 1, retries: 0, connectionLosses: 1 })
    }))

  /**
   * A TCP proxy to PostgreSQL that can reset (RST) every connection through it: how a real
   * ECONNRESET (a load balancer or NAT dropping a connection) reaches pg. Yields a client on it.
   */
  async function throughResettingProxy(
    test: (client: PrismaClient, resetAll: () => void) => Promise<void>,
  ): Promise<void> {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      const upstream = net.connect(Number(new URL(db.config.connectionString!).port || 5432))
      sockets.add(socket)
      socket.pipe(upstream).pipe(socket)
      socket.on('error', () => {})
      upstream.on('error', () => socket.destroy())
      socket.on('close', () => {
        sockets.delete(socket)
        upstream.destroy()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = new URL(db.config.connectionString!)
    url.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`
    const client = new PrismaClient({
      adapter: new PrismaPg({ ...db.config, connectionString: url.href }, { schema: db.schema }),
    })
    try {
      await test(client, () => {
        for (const socket of sockets) socket.resetAndDestroy()
      })
    } finally {
      await client.$disconnect()
      await new Promise((resolve) => server.close(resolve))
    }
  }

  it('retries a connection reset (ECONNRESET) during a query in the body', () =>
    throughResettingProxy(async (client, resetAll) => {
      const manager = new TransactionManager(client)
      const seen: RetryInfo[] = []
      let attempt = 0
      const result = await manager.execute(
        async (tx) => {
          attempt++
          await tx.account.update({ where: { id: ids[0]! }, data: { balance: { increment: 3 } } })
          if (attempt === 1) setTimeout(resetAll, 50)
          await tx.$executeRaw`SELECT pg_sleep(0.3)` // in flight when the reset comes
          return attempt
        },
        { onRetry: (info) => seen.push(info) },
      )
      expect(result).toMatchObject({ success: true, data: 2, attempts: 2 })
      expect(seen.map((r) => r.kind)).toEqual(['connection-lost'])
      // Prisma reports the reset as "Server has closed the connection" (adapter: ConnectionClosed).
      expect(seen[0]!.error).toMatchObject({
        meta: { driverAdapterError: { cause: { kind: 'ConnectionClosed' } } },
      })
      expect((await balances())[0]).toBe(1003)
    }))

  it('does NOT retry a connection reset at COMMIT', () =>
    throughResettingProxy(async (client, resetAll) => {
      const manager = new TransactionManager(client)
      const result = await manager.execute(async (tx) => {
        await tx.account.update({ where: { id: ids[0]! }, data: { balance: { increment: 1 } } })
        resetAll() // the body is done: Prisma sends COMMIT next, into the reset connection
      })
      expect(result).toMatchObject({ success: false, attempts: 1, errorKind: 'connection-lost' })
    }))

  it('never retries an error fn throws, and rolls its writes back', async () => {
    const manager = new TransactionManager(prisma)
    const business = new Error('insufficient funds')
    // Even one that looks like a conflict: it did not come from the database stack.
    const lookalike = Object.assign(new Error('not a real conflict'), { code: '40001' })
    for (const thrown of [business, lookalike]) {
      let calls = 0
      const result = await manager.execute(async (tx) => {
        calls++
        await tx.account.update({ where: { id: ids[0]! }, data: { balance: 0 } })
        throw thrown
      })
      expect(result).toMatchObject({ success: false, attempts: 1, errorKind: 'other' })
      expect(result.error).toBe(thrown)
      expect(calls).toBe(1)
    }
    expect((await balances())[0]).toBe(1000)
    // A constraint violation is a database error, but not one a retry can fix.
    const duplicate = await manager.execute((tx) =>
      tx.account.create({ data: { id: ids[0]!, owner: 'dup', balance: 0 } }),
    )
    expect(duplicate).toMatchObject({ success: false, attempts: 1, error: { code: 'P2002' } })
  })

  it('passes timeout to Prisma: an attempt that outlives it fails (P2028 expired) and is not retried', async () => {
    const manager = new TransactionManager(prisma, { maxRetries: 3 })
    const slowBody = async (tx: Parameters<Parameters<typeof manager.execute>[0]>[0]) => {
      await new Promise((resolve) => setTimeout(resolve, 300))
      return tx.account.count()
    }
    const expired = await manager.execute(slowBody, { timeout: 100 })
    expect(expired).toMatchObject({ success: false, attempts: 1, errorKind: 'timeout' })
    expect(expired.error).toMatchObject({ code: 'P2028', meta: { timeout: 100 } })
    // The same body within a longer timeout commits.
    const inTime = await manager.execute(slowBody, { timeout: '2s' })
    expect(inTime).toMatchObject({ success: true, data: 4, attempts: 1 })
    expect(manager.getStats()).toMatchObject({ timeouts: 1, total: 2, successful: 1 })
  })

  it('applies isolationLevel to the transaction', async () => {
    const manager = new TransactionManager(prisma, { isolationLevel: 'RepeatableRead' })
    const read = (tx: { $queryRaw: PrismaClient['$queryRaw'] }) =>
      tx.$queryRaw<{ level: string }[]>`SELECT current_setting('transaction_isolation') AS level`
    expect((await manager.execute(read)).data).toEqual([{ level: 'repeatable read' }])
    const serializable = await manager.execute(read, { isolationLevel: 'Serializable' })
    expect(serializable.data).toEqual([{ level: 'serializable' }])
  })

  it('types tx and data from the client, extended clients included', async () => {
    const manager = new TransactionManager(prisma)
    const result = await manager.execute((tx) => tx.account.findMany())
    if (result.success) expectTypeOf(result.data).toEqualTypeOf<Account[]>()
    const extended = prisma.$extends({
      result: { account: { cents: { needs: { balance: true }, compute: (a) => a.balance * 100 } } },
    })
    const viaExtended = await new TransactionManager(extended).execute((tx) =>
      tx.account.findFirstOrThrow({ where: { id: ids[0]! } }),
    )
    expect(viaExtended.data?.cents).toBe(100_000)
    expectTypeOf(viaExtended.data?.cents).toEqualTypeOf<number | undefined>()
    // @ts-expect-error a transaction client cannot disconnect the client
    await manager.execute((tx) => tx.$disconnect())
  })

  it('rejects bad input with a ValidationError naming the field', async () => {
    const construct: [() => unknown, string][] = [
      [() => new TransactionManager(null as never), 'prisma'],
      [() => new TransactionManager({} as never), 'prisma'],
      [() => new TransactionManager(prisma, 'fast' as never), 'defaults'],
      [() => new TransactionManager(prisma, { maxRetries: -1 }), 'defaults.maxRetries'],
      [() => new TransactionManager(prisma, { name: 'x' } as never), 'defaults.name'],
      [() => new TransactionManager(prisma, { retries: 3 } as never), 'defaults.retries'],
    ]
    for (const [make, field] of construct) {
      expect(make, field).toThrow(expect.objectContaining({ field }))
    }
    const manager = new TransactionManager(prisma)
    const count = (tx: { account: PrismaClient['account'] }) => tx.account.count()
    const calls: [() => Promise<unknown>, string, string][] = [
      [() => manager.execute('x' as never), 'fn', 'ERR_INVALID_OPTION'],
      [() => manager.execute(count, [] as never), 'options', 'ERR_INVALID_OPTION'],
      [
        () => manager.execute(count, { maxRetries: 1.5 }),
        'options.maxRetries',
        'ERR_INVALID_OPTION',
      ],
      [
        () => manager.execute(count, { maxRetries: 101 }),
        'options.maxRetries',
        'ERR_INVALID_OPTION',
      ],
      [() => manager.execute(count, { timeout: 0 }), 'options.timeout', 'ERR_INVALID_TTL'],
      [() => manager.execute(count, { timeout: '5 min' }), 'options.timeout', 'ERR_INVALID_TTL'],
      [() => manager.execute(count, { maxWait: -5 }), 'options.maxWait', 'ERR_INVALID_TTL'],
      [() => manager.execute(count, { maxWait: 2 ** 31 }), 'options.maxWait', 'ERR_INVALID_TTL'],
      [
        () => manager.execute(count, { isolationLevel: 'serializable' as never }),
        'options.isolationLevel',
        'ERR_INVALID_OPTION',
      ],
      [() => manager.execute(count, { name: ' ' }), 'options.name', 'ERR_INVALID_OPTION'],
      [
        () => manager.execute(count, { onRetry: 1 as never }),
        'options.onRetry',
        'ERR_INVALID_OPTION',
      ],
      [
        () => manager.execute(count, { baseDelay: 500, maxDelay: 100 }),
        'options.maxDelay',
        'ERR_INVALID_OPTION',
      ],
      [
        () => manager.execute(count, { baseDelay: '2s' }),
        'options.baseDelay',
        'ERR_INVALID_OPTION',
      ],
    ]
    for (const [call, field, code] of calls) {
      const error = await call().catch((thrown: unknown) => thrown)
      expect(error, field).toBeInstanceOf(ValidationError)
      expect((error as ValidationError).field, field).toBe(field)
      expect((error as ValidationError).code, field).toBe(code)
    }
    expect(manager.getStats().total).toBe(0) // bad input is not a transaction
  })
})

describe('backoffDelay (full jitter)', () => {
  const window = { baseDelayMs: 20, maxDelayMs: 1000 }
  it('draws from [0, base * 2^(retry-1)), capped at maxDelay', () => {
    const top = () => 0.999_999
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, window, top))).toEqual([
      19, 39, 79, 159, 319, 639, 999,
    ])
    expect(backoffDelay(60, window, top)).toBe(999)
    expect(backoffDelay(3, window, () => 0)).toBe(0)
    expect(backoffDelay(3, window, () => 0.5)).toBe(40)
  })
  it('spreads real draws over the whole window', () => {
    const draws = Array.from({ length: 2000 }, () => backoffDelay(4, window))
    expect(Math.min(...draws)).toBeLessThan(16)
    expect(Math.max(...draws)).toBeGreaterThan(144)
    expect(draws.every((d) => d >= 0 && d < 160)).toBe(true)
  })
})

describe('classifyTransactionError', () => {
  it('retries connection loss before COMMIT only, and start timeouts only at start', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), {
      code: 'ECONNRESET',
      syscall: 'read',
      errno: -104,
    })
    expect(classifyTransactionError(reset, 'body')).toEqual({
      kind: 'connection-lost',
      retryable: true,
    })
    expect(classifyTransactionError(reset, 'commit').retryable).toBe(false)
    // A user error with a socket-like code but no syscall is not a socket error.
    expect(classifyTransactionError({ code: 'ECONNRESET' }, 'body').kind).toBe('other')
    expect(classifyTransactionError('boom', 'body')).toEqual({ kind: 'other', retryable: false })
  })
})

describe('TransactionManager on a withCache client', () => {
  const shop = useCachedShop('transactions_cache')
  const read = () =>
    shop.prisma.product.findUnique({ where: { id: 1 }, select: { name: true } }).withCacheInfo()

  it("invalidates the cache with the committed attempt's writes, not the aborted one's", async () => {
    await read()
    expect((await read()).info.cacheStatus).toBe('hit')
    const manager = new TransactionManager(shop.prisma)
    let attempt = 0
    let seenBeforeRetry: unknown
    const result = await manager.execute(async (tx) => {
      attempt++
      // The aborted attempt invalidated nothing: the cache still serves the committed row.
      if (attempt === 2) seenBeforeRetry = await read()
      await tx.product.update({ where: { id: 1 }, data: { name: `attempt ${attempt}` } })
      if (attempt === 1) {
        const rows = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`
        await shop.db.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid])
      }
      return tx.product.count()
    })
    expect(result).toMatchObject({ success: true, attempts: 2 })
    expect(seenBeforeRetry).toMatchObject({
      data: { name: 'Product 1' },
      info: { cacheStatus: 'hit' },
    })
    const after = await read()
    expect(after.data?.name).toBe('attempt 2')
    expect(after.info.cacheStatus).toBe('miss')
  })
})
