import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { PrismaClient } from '../../prisma/generated/client.js'
import { connectionSettingsFromEnv } from '../../src/database/connection/connection-env.js'
import { ConnectionManager } from '../../src/database/connection/connection-manager.js'
import type { CapturedStatement } from '../../src/prisma/sql-capture.js'
import { connectionManagers } from '../support/connection-managers.js'
import { createTestDatabase, DATABASE_URL, type TestDatabase } from '../support/database.js'

// Query logging of the connection manager (DATABASE_LOG_QUERIES, DATABASE_LOG_QUERY_PARAMS).

describe('ConnectionManager query logging (PostgreSQL through Prisma)', () => {
  let db: TestDatabase
  const { made: managers, manager, disconnectAll } = connectionManagers(() => db)

  beforeAll(async () => {
    db = await createTestDatabase('connection_logging')
  })

  afterAll(async () => {
    await disconnectAll()
    await db?.drop()
  })

  it('logs each statement to the given logger, with values only when asked', async () => {
    const plain: CapturedStatement[] = []
    const withValues: CapturedStatement[] = []
    const quiet = manager({ logQueries: { log: (s) => plain.push(s) } })
    const loud = manager({ logQueries: { params: true, log: (s) => withValues.push(s) } })
    for (const { client } of [quiet, loud]) {
      await client.account.create({ data: { owner: 'logged', balance: 7 } })
      await client.account.findMany({ where: { owner: 'logged' } })
    }
    for (const log of [plain, withValues]) {
      expect(log.some((s) => /INSERT INTO .*"Account"/.test(s.sql))).toBe(true)
      expect(log.some((s) => /SELECT .*FROM .*"Account"/.test(s.sql))).toBe(true)
      expect(log.every((s) => s.durationMs >= 0 && s.args === undefined)).toBe(true)
    }
    expect(plain.every((s) => s.params === undefined)).toBe(true)
    const select = withValues.find((s) => /SELECT .*FROM .*"Account"/.test(s.sql))
    expect(select?.params).toContain('logged')
  })

  it('logQueries: true writes to console.debug; off by default', async () => {
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {})
    try {
      await manager({}).client.account.count()
      expect(debug).not.toHaveBeenCalled()
      await manager({ logQueries: true }).client.account.count()
      expect(debug).toHaveBeenCalledWith(
        expect.stringMatching(/^\[stratacache\] [\d.]+ ms SELECT COUNT/),
      )
    } finally {
      debug.mockRestore()
    }
  })

  it('reads DATABASE_LOG_QUERIES and DATABASE_LOG_QUERY_PARAMS, and names a bad or conflicting one', () => {
    expect(
      connectionSettingsFromEnv({ DATABASE_LOG_QUERIES: 'true', DATABASE_LOG_QUERY_PARAMS: '1' }),
    ).toMatchObject({ logQueries: true, logQueryParams: true })
    expect(() => connectionSettingsFromEnv({ DATABASE_LOG_QUERIES: 'loud' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ENV', field: 'DATABASE_LOG_QUERIES' }),
    )
    expect(() => connectionSettingsFromEnv({ DATABASE_LOG_QUERY_PARAMS: 'true' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ENV', field: 'DATABASE_LOG_QUERY_PARAMS' }),
    )
    for (const [logQueries, field] of [
      ['yes', 'options.logQueries'],
      [{ params: 'yes' }, 'options.logQueries.params'],
      [{ log: 'console' }, 'options.logQueries.log'],
    ] as const) {
      expect(() => manager({ logQueries: logQueries as never })).toThrow(
        expect.objectContaining({ field }),
      )
    }
  })

  it('fromEnv turns logging on from the environment', async () => {
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {})
    try {
      const made = ConnectionManager.fromEnv(
        {
          PrismaClient,
          pool: { options: `-c search_path=${db.schema}` },
          adapter: { schema: db.schema },
        },
        { DATABASE_URL, DATABASE_LOG_QUERIES: 'true', DATABASE_LOG_QUERY_PARAMS: 'true' },
      )
      managers.push(made)
      await made.client.account.findMany({ where: { owner: 'from-env' } })
      expect(debug).toHaveBeenCalledWith(expect.stringMatching(/SELECT .*"Account".*"from-env"/))
    } finally {
      debug.mockRestore()
    }
  })
})
