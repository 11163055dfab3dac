import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import * as database from '../../src/database/index.js'
import * as prisma from '../../src/prisma/index.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

describe('stratacache/database, the module', () => {
  it('exports the toolkit a user calls', () => {
    for (const name of [
      'QueryPatterns',
      'TransactionManager',
      'DatabaseHealthCheck',
      'ConnectionManager',
      'QueryAnalyzer',
      'withReadReplicas',
    ]) {
      expect(typeof (database as Record<string, unknown>)[name], name).toBe('function')
    }
  })

  it('keeps its helpers internal, and batchFindMany in one place (stratacache/prisma)', () => {
    for (const name of ['batchFindMany', 'modelOf', 'checkField', 'classifyDatabaseError']) {
      expect(name in database, name).toBe(false)
    }
    expect(typeof prisma.batchFindMany).toBe('function')
  })

  it('loads neither pg nor @prisma/adapter-pg until a ConnectionManager is made (optional peers)', async () => {
    // A fresh process: this one has loaded pg for other tests.
    const script = `
      import { createRequire } from 'node:module'
      const require = createRequire(import.meta.url)
      await import('./src/database/index.ts')
      const loaded = Object.keys(require.cache).filter((p) => /node_modules[/](pg|pg-pool|@prisma[/]adapter-pg)[/]/.test(p))
      console.log(JSON.stringify(loaded))
    `
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: ROOT,
      },
    )
    expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null')).toEqual([])
  })
})
