/**
 * stratacache/database: the database toolkit on Prisma 7 and PostgreSQL: query patterns, a
 * transaction manager that retries conflicts and deadlocks, the connection manager, health checks,
 * query analysis with index suggestions, and read replicas that keep the cache right.
 * @packageDocumentation
 */

export {
  type BatchFindManyOptions,
  type BatchRow,
  batchFindMany,
} from '../prisma/batch-find-many.js'
export { checkField, type FieldKinds, modelOf } from './model-of.js'
