import { describe, expect, it } from 'vitest'
import { TransactionManager } from '../../src/database/transactions/transaction-manager.js'
import type { RetryInfo } from '../../src/database/transactions/transaction-options.js'
import { backendPid, useAccounts } from '../support/transactions.js'
import { deferred, waitFor } from '../support/wait.js'

/**
 * Retries on real conflicts, produced on PostgreSQL and not mocked: serialization failures in a
 * query and at COMMIT, deadlocks. Lost connections are in
 * transactions-connections.test.ts; what is never retried and bad input in
 * transactions-errors.test.ts.
 */
describe('TransactionManager (PostgreSQL through Prisma)', () => {
  const bank = useAccounts('transactions')

  it('40 concurrent Serializable transfers all commit, some after retries, and no money is made or lost', async () => {
    const manager = new TransactionManager(bank.prisma, {
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
      const from = bank.ids[i % 4]!
      const to = bank.ids[(i * 7 + 1 + Math.floor(i / 4)) % 4]!
      return { from, to: to === from ? bank.ids[(i + 1) % 4]! : to, amount: 1 + ((i * 13) % 29) }
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
      expected[bank.ids.indexOf(from)]! -= amount
      expected[bank.ids.indexOf(to)]! += amount
    }
    const final = await bank.balances()
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
      const manager = new TransactionManager(bank.prisma, { timeout: '10s' })
      const [a, b] = [bank.ids[0]!, bank.ids[1]!]
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
      expect((await bank.balances()).slice(0, 2)).toEqual([1002, 1002])
    })
  }

  it('retries a serialization failure raised by an UPDATE (P2034, 40001)', async () => {
    const manager = new TransactionManager(bank.prisma, { isolationLevel: 'Serializable' })
    const id = bank.ids[0]!
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
          void bank.blockedOnLock(pid).then(secondBlocked.resolve, secondBlocked.reject)
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
    const manager = new TransactionManager(bank.prisma, { isolationLevel: 'Serializable' })
    const [a, b] = [bank.ids[0]!, bank.ids[1]!]
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
          if (attempt > 1) {
            // PostgreSQL refuses the second commit once the first is decided, which can be before
            // the first is visible: a retry that took its snapshot then would meet the same skew.
            // The retry reads once the other's write (2000: both rows of 1000) is visible.
            const other = mine === a ? b : a
            await waitFor(
              async () =>
                (await bank.prisma.account.findUnique({ where: { id: other } }))?.balance === 2000,
              { what: "the first transaction's commit to be visible" },
            )
          }
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
    expect((await bank.balances()).slice(0, 2).sort()).toEqual([2000, 3000])
  })
})
