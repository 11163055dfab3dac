/**
 * The database toolkit against what it replaces, on the real PostgreSQL (the Prisma group's seeded
 * schema: 10 000 products):
 *
 * - `db-deep-page`: page 251 of 20 (rows 5 001-5 020 by createdAt, id). Prisma `skip`/`take` (what
 *   offset pagination runs), `QueryPatterns.paginate` (the same plus `count` in one REPEATABLE
 *   READ batch), and `QueryPatterns.paginateWithCursor` from the cursor at row 5 000 (keyset: an
 *   index seek, whatever the depth).
 * - `db-transfer`: one transfer between two accounts in an interactive transaction, through
 *   `prisma.$transaction(fn)` and through `TransactionManager.execute(fn)`: the manager's cost
 *   when nothing conflicts.
 * - `db-bulk-create`: 200 notes, as 200 sequential `create` calls, as one `createMany`, and as
 *   `QueryPatterns.bulkCreate` (batches of 100).
 */
import type { PrismaClient } from '../../prisma/generated/client.js'
import { QueryPatterns } from '../../src/database/patterns/query-patterns.js'
import { TransactionManager } from '../../src/database/transactions/transaction-manager.js'
import { shopDatabase } from '../prisma/shop-database.js'
import type { CandidateSpec, Scenario } from '../scenario.js'

const PAGE = 251
const PAGE_SIZE = 20
const ORDER = [{ createdAt: 'asc' as const }, { id: 'asc' as const }]

/** A candidate with its own client on the shared schema. */
function onClient(
  name: string,
  kind: CandidateSpec['kind'],
  make: (prisma: PrismaClient) => Promise<() => Promise<unknown>>,
): CandidateSpec {
  return {
    name,
    kind,
    async init() {
      const prisma = (await shopDatabase.get()).client()
      try {
        const run = await make(prisma)
        await run() // warm: connections open, plans cached
        return { run, close: () => prisma.$disconnect() }
      } catch (error) {
        await prisma.$disconnect()
        throw error
      }
    },
  }
}

function expectPage(value: unknown): void {
  const rows = Array.isArray(value) ? value : (value as { data?: unknown[] }).data
  if (!Array.isArray(rows) || rows.length !== PAGE_SIZE) {
    throw new Error(
      `expected a page of ${PAGE_SIZE} rows, got ${JSON.stringify(value)?.slice(0, 80)}`,
    )
  }
}

const OFFSET = 'Prisma findMany skip/take'
const PAGINATE = 'QueryPatterns.paginate (+ total)'
const CURSOR = 'QueryPatterns.paginateWithCursor'

export const deepPage: Scenario = {
  id: 'db-deep-page',
  group: 'database',
  title: `Database: page ${PAGE} of ${PAGE_SIZE} products by createdAt (offset ${(PAGE - 1) * PAGE_SIZE})`,
  unit: 'per page',
  ratioTo: [OFFSET],
  expect: expectPage,
  needsRedis: false,
  notes: [
    'The cursor candidate starts from the cursor of the row before the page (what the previous page returned); the others compute the offset.',
    'Product has an index on createdAt; paginate and paginateWithCursor add id as a tie-breaker, so each runs ORDER BY createdAt, id.',
  ],
  candidates: [
    onClient(
      OFFSET,
      'baseline',
      async (prisma) => () =>
        prisma.product.findMany({ orderBy: ORDER, skip: (PAGE - 1) * PAGE_SIZE, take: PAGE_SIZE }),
    ),
    onClient(PAGINATE, 'subject', async (prisma) => {
      const patterns = new QueryPatterns(prisma)
      return () =>
        patterns.paginate(prisma.product, { page: PAGE, pageSize: PAGE_SIZE, orderBy: ORDER })
    }),
    onClient(CURSOR, 'subject', async (prisma) => {
      const patterns = new QueryPatterns(prisma)
      // The cursor the page before this one ends with, as the application got it.
      const before = await new QueryPatterns(prisma, { maxPageSize: 10_000 }).paginateWithCursor(
        prisma.product,
        { take: (PAGE - 1) * PAGE_SIZE, orderBy: ORDER },
      )
      const cursor = before.nextCursor
      if (cursor === null) throw new Error('no cursor after the pages before')
      return () =>
        patterns.paginateWithCursor(prisma.product, { take: PAGE_SIZE, orderBy: ORDER, cursor })
    }),
  ],
}

const PLAIN_TX = 'prisma.$transaction(fn)'
const MANAGED_TX = 'TransactionManager.execute(fn)'

/** Moves 1 between two of the accounts, alternating direction: balances stay bounded. */
function transfer(ids: [number, number]) {
  let flip = false
  return async (tx: Pick<PrismaClient, 'account'>) => {
    flip = !flip
    const [from, to] = flip ? ids : [ids[1], ids[0]]
    await tx.account.update({ where: { id: from }, data: { balance: { decrement: 1 } } })
    return tx.account.update({ where: { id: to }, data: { balance: { increment: 1 } } })
  }
}

/** Two accounts of this candidate's own, so candidates never wait on each other's row locks. */
async function accounts(prisma: PrismaClient, owner: string): Promise<[number, number]> {
  const a = await prisma.account.create({ data: { owner, balance: 1_000_000 } })
  const b = await prisma.account.create({ data: { owner, balance: 1_000_000 } })
  return [a.id, b.id]
}

export const transferScenario: Scenario = {
  id: 'db-transfer',
  group: 'database',
  title: 'Database: a transfer in an interactive transaction (2 updates, no conflict)',
  unit: 'per transaction',
  ratioTo: [PLAIN_TX],
  showOverhead: true,
  expect: (value) => {
    const row = value as { balance?: unknown; data?: { balance?: unknown } }
    if (typeof (row.data ?? row).balance !== 'number') throw new Error('no account returned')
  },
  needsRedis: false,
  notes: ['Each candidate moves money between two accounts of its own, ReadCommitted.'],
  candidates: [
    onClient(PLAIN_TX, 'baseline', async (prisma) => {
      const move = transfer(await accounts(prisma, 'bench-plain'))
      return () => prisma.$transaction((tx) => move(tx))
    }),
    onClient(MANAGED_TX, 'subject', async (prisma) => {
      const move = transfer(await accounts(prisma, 'bench-managed'))
      const manager = new TransactionManager(prisma)
      return async () => {
        const result = await manager.execute((tx) => move(tx), { maxRetries: 3 })
        if (!result.success) throw result.error
        return result
      }
    }),
  ],
}

const NOTES = 200
const CREATE_LOOP = `${NOTES} x create (sequential)`
const CREATE_MANY = 'createMany (one statement)'
const BULK_CREATE = 'QueryPatterns.bulkCreate (batches of 100)'

function notes(label: string): { title: string; body: string }[] {
  return Array.from({ length: NOTES }, (_, i) => ({ title: `${label} ${i}`, body: 'bench' }))
}

function expectCount(value: unknown): void {
  const count = typeof value === 'number' ? value : (value as { count?: unknown }).count
  if (count !== NOTES) throw new Error(`expected ${NOTES} rows created, got ${String(count)}`)
}

export const bulkCreateScenario: Scenario = {
  id: 'db-bulk-create',
  group: 'database',
  title: `Database: insert ${NOTES} notes`,
  unit: `per ${NOTES} rows`,
  ratioTo: [CREATE_LOOP],
  expect: expectCount,
  needsRedis: false,
  notes: [
    "Rows accumulate in the run's schema (dropped at the end); Note has no index but its key.",
  ],
  candidates: [
    onClient(CREATE_LOOP, 'baseline', async (prisma) => {
      const rows = notes('loop')
      return async () => {
        for (const data of rows) await prisma.note.create({ data })
        return rows.length
      }
    }),
    onClient(CREATE_MANY, 'baseline', async (prisma) => {
      const rows = notes('many')
      return () => prisma.note.createMany({ data: rows })
    }),
    onClient(BULK_CREATE, 'subject', async (prisma) => {
      const patterns = new QueryPatterns(prisma)
      const rows = notes('bulk')
      return () => patterns.bulkCreate(prisma.note, rows, { batchSize: 100 })
    }),
  ],
}
