import { describe, expect, expectTypeOf, it } from 'vitest'
import type { Account, PrismaClient } from '../../prisma/generated/client.js'
import { classifyTransactionError } from '../../src/database/transactions/retryable-errors.js'
import { TransactionManager } from '../../src/database/transactions/transaction-manager.js'
import { backoffDelay } from '../../src/database/transactions/transaction-options.js'
import { ValidationError } from '../../src/errors.js'
import { useCachedShop } from '../support/shop-fixture.js'
import { useAccounts } from '../support/transactions.js'

/**
 * What the manager never retries (errors fn throws, constraint violations, an expired
 * transaction), the options it passes to Prisma, its types and its input checks; then the
 * backoff, the error classification and a withCache client.
 */
describe('TransactionManager (PostgreSQL through Prisma)', () => {
  const bank = useAccounts('transactions_errors')

  it('never retries an error fn throws, and rolls its writes back', async () => {
    const manager = new TransactionManager(bank.prisma)
    const business = new Error('insufficient funds')
    // Even one that looks like a conflict: it did not come from the database stack.
    const lookalike = Object.assign(new Error('not a real conflict'), { code: '40001' })
    for (const thrown of [business, lookalike]) {
      let calls = 0
      const result = await manager.execute(async (tx) => {
        calls++
        await tx.account.update({ where: { id: bank.ids[0]! }, data: { balance: 0 } })
        throw thrown
      })
      expect(result).toMatchObject({ success: false, attempts: 1, errorKind: 'other' })
      expect(result.error).toBe(thrown)
      expect(calls).toBe(1)
    }
    expect((await bank.balances())[0]).toBe(1000)
    // A constraint violation is a database error, but not one a retry can fix.
    const duplicate = await manager.execute((tx) =>
      tx.account.create({ data: { id: bank.ids[0]!, owner: 'dup', balance: 0 } }),
    )
    expect(duplicate).toMatchObject({ success: false, attempts: 1, error: { code: 'P2002' } })
  })

  it('passes timeout to Prisma: an attempt that outlives it fails (P2028 expired) and is not retried', async () => {
    const manager = new TransactionManager(bank.prisma, { maxRetries: 3 })
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
    const manager = new TransactionManager(bank.prisma, { isolationLevel: 'RepeatableRead' })
    const read = (tx: { $queryRaw: PrismaClient['$queryRaw'] }) =>
      tx.$queryRaw<{ level: string }[]>`SELECT current_setting('transaction_isolation') AS level`
    expect((await manager.execute(read)).data).toEqual([{ level: 'repeatable read' }])
    const serializable = await manager.execute(read, { isolationLevel: 'Serializable' })
    expect(serializable.data).toEqual([{ level: 'serializable' }])
  })

  it('types tx and data from the client, extended clients included', async () => {
    const manager = new TransactionManager(bank.prisma)
    const result = await manager.execute((tx) => tx.account.findMany())
    if (result.success) expectTypeOf(result.data).toEqualTypeOf<Account[]>()
    const extended = bank.prisma.$extends({
      result: { account: { cents: { needs: { balance: true }, compute: (a) => a.balance * 100 } } },
    })
    const viaExtended = await new TransactionManager(extended).execute((tx) =>
      tx.account.findFirstOrThrow({ where: { id: bank.ids[0]! } }),
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
      [() => new TransactionManager(bank.prisma, 'fast' as never), 'defaults'],
      [() => new TransactionManager(bank.prisma, { maxRetries: -1 }), 'defaults.maxRetries'],
      [() => new TransactionManager(bank.prisma, { name: 'x' } as never), 'defaults.name'],
      [() => new TransactionManager(bank.prisma, { retries: 3 } as never), 'defaults.retries'],
    ]
    for (const [make, field] of construct) {
      expect(make, field).toThrow(expect.objectContaining({ field }))
    }
    const manager = new TransactionManager(bank.prisma)
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
