/**
 * `pg` and `@prisma/adapter-pg`, loaded when a connection manager is made rather than when
 * `stratacache/database` is imported: they are optional peer dependencies, and an application
 * that uses only `QueryPatterns` or `TransactionManager` need not install them.
 */
import type { PrismaPg } from '@prisma/adapter-pg'
import type pg from 'pg'
import { invalid } from '../../errors.js'
import { packageRequire } from '../../module-url.js'

const load = packageRequire

function required<T>(name: string): T {
  try {
    return load(name) as T
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'MODULE_NOT_FOUND'
    if (!missing) throw error
    throw invalid(
      'ConnectionManager',
      `needs the optional peer dependencies pg and @prisma/adapter-pg: npm install pg @prisma/adapter-pg (${name} is missing)`,
    )
  }
}

/** The `pg` module. */
export function pgModule(): typeof pg {
  return required<typeof pg>('pg')
}

/** `@prisma/adapter-pg`'s adapter factory class. */
export function prismaPgClass(): typeof PrismaPg {
  return required<{ PrismaPg: typeof PrismaPg }>('@prisma/adapter-pg').PrismaPg
}
