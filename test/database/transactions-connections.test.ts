import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { TransactionManager } from '../../src/database/transactions/transaction-manager.js'
import type { RetryInfo } from '../../src/database/transactions/transaction-options.js'
import { backendPid, useAccounts } from '../support/transactions.js'
import { deferred } from '../support/wait.js'

/**
 * Connections failing under a transaction, for real on PostgreSQL and not mocked: no connection
 * within maxWait, a backend terminated inside the body and before COMMIT, a connection reset
 * (ECONNRESET) in the body and at COMMIT.
 */
describe('TransactionManager (PostgreSQL through Prisma)', () => {
  const bank = useAccounts('transactions_connections')
  /** A client whose pool has ONE connection, to make "no connection within maxWait" happen. */
  let single: PrismaClient

  beforeAll(() => {
    single = new PrismaClient({
      adapter: new PrismaPg({ ...bank.db.config, max: 1 }, { schema: bank.db.schema }),
    })
  })

  afterAll(async () => {
    await single?.$disconnect()
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
    // Released at the first retry; the holder still has to commit before the connection is back,
    // which on a loaded machine may take longer than one maxWait: then that attempt times out too.
    const result = await manager.execute((tx) => tx.account.count(), {
      maxRetries: 10,
      onRetry: (info) => {
        seen.push(info)
        release.resolve()
      },
    })
    await holder

    expect(result).toMatchObject({ success: true, data: 4 })
    expect(result.attempts).toBeGreaterThanOrEqual(2)
    expect(seen).toHaveLength(result.attempts - 1)
    for (const retry of seen) {
      expect(retry.kind).toBe('start-timeout')
      expect(retry.error).toMatchObject({
        code: 'P2028',
        message: expect.stringContaining('Unable to start a transaction in the given time'),
      })
    }
    expect(manager.getStats().startTimeouts).toBe(result.attempts - 1)
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

  it('retries a transaction whose backend was terminated in the body (57P01), once committed', () =>
    bank.withOwnClient(async (client) => {
      const manager = new TransactionManager(client)
      const seen: RetryInfo[] = []
      let attempt = 0
      const result = await manager.execute(
        async (tx) => {
          attempt++
          await tx.account.update({
            where: { id: bank.ids[0]! },
            data: { balance: { increment: 7 } },
          })
          if (attempt === 1) {
            const pid = await backendPid(tx)
            await bank.db.pool.query('SELECT pg_terminate_backend($1)', [pid])
          }
          return tx.account.findUniqueOrThrow({ where: { id: bank.ids[0]! } })
        },
        { onRetry: (info) => seen.push(info) },
      )

      expect(result).toMatchObject({ success: true, attempts: 2 })
      expect(seen.map((r) => r.kind)).toEqual(['connection-lost'])
      expect((await bank.balances())[0]).toBe(1007) // the first attempt's increment died with it
      expect(manager.getStats().connectionLosses).toBe(1)
    }))

  it('does NOT retry a connection lost at COMMIT: whether it committed is unknown', () =>
    bank.withOwnClient(async (client) => {
      const manager = new TransactionManager(client)
      const result = await manager.execute(async (tx) => {
        await tx.account.update({
          where: { id: bank.ids[0]! },
          data: { balance: { increment: 1 } },
        })
        const pid = await backendPid(tx)
        // Ends the session after the body's last query; Prisma then sends COMMIT on a dead socket.
        await bank.db.pool.query('SELECT pg_terminate_backend($1)', [pid])
      })

      expect(result).toMatchObject({ success: false, attempts: 1, errorKind: 'connection-lost' })
      expect(manager.getStats()).toMatchObject({ failed: 1, retries: 0, connectionLosses: 1 })
    }))

  it('retries a connection reset (ECONNRESET) during a query in the body', () =>
    bank.throughResettingProxy(async (client, resetAll) => {
      const manager = new TransactionManager(client)
      const seen: RetryInfo[] = []
      let attempt = 0
      const result = await manager.execute(
        async (tx) => {
          attempt++
          await tx.account.update({
            where: { id: bank.ids[0]! },
            data: { balance: { increment: 3 } },
          })
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
      expect((await bank.balances())[0]).toBe(1003)
    }))

  it('does NOT retry a connection reset at COMMIT', () =>
    bank.throughResettingProxy(async (client, resetAll) => {
      const manager = new TransactionManager(client)
      const result = await manager.execute(async (tx) => {
        await tx.account.update({
          where: { id: bank.ids[0]! },
          data: { balance: { increment: 1 } },
        })
        resetAll() // the body is done: Prisma sends COMMIT next, into the reset connection
      })
      expect(result).toMatchObject({ success: false, attempts: 1, errorKind: 'connection-lost' })
    }))
})
