import { PrismaClient } from '../../prisma/generated/client.js'
import { ConnectionManager } from '../../src/database/connection/connection-manager.js'
import type { ConnectionManagerOptions } from '../../src/database/connection/connection-options.js'
import { DATABASE_URL, type TestDatabase } from './database.js'

/**
 * ConnectionManagers on a test database's schema, kept so that a test file can disconnect them
 * all (after each test or after all). `db` is read when a manager is made: the database is
 * created in a `beforeAll`, after this is called.
 */
export function connectionManagers(db: () => TestDatabase) {
  const made: ConnectionManager<PrismaClient>[] = []
  return {
    /** Every manager made (or kept with `keep`) and not yet disconnected. */
    made,
    /** A manager on the test's schema, with `options` over the defaults. */
    manager(
      options: Partial<ConnectionManagerOptions<PrismaClient>> = {},
    ): ConnectionManager<PrismaClient> {
      const { schema } = db()
      const manager = new ConnectionManager({
        PrismaClient,
        url: DATABASE_URL,
        pool: { options: `-c search_path=${schema}` },
        adapter: { schema },
        ...options,
      })
      made.push(manager)
      return manager
    },
    /** Disconnects every manager made so far. */
    async disconnectAll(): Promise<void> {
      await Promise.all(made.splice(0).map((manager) => manager.disconnect()))
    },
  }
}
