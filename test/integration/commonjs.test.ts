import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * `require('stratacache')` in a CommonJS application on Node 20 (which cannot require() an ES
 * module), as a NestJS application does by default. The CommonJS build is made afresh by the
 * build's own script into a copy of the package (its package.json, so the real `exports` map, and
 * its dependencies through a symlink), rather than tested from whatever `dist/` holds: a stale
 * build must not pass. An application folder then gets the package through a symlink in its
 * node_modules, and plain `node` runs a `.cjs` file there.
 */
const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SUBPATHS = ['', '/prisma', '/database', '/http', '/nestjs', '/keyv']

const APP = `'use strict'
const assert = require('node:assert/strict')
const { CacheManager } = require('stratacache')
const nestLoaded = () => Object.keys(require.cache).some((file) => file.includes('@nestjs'))
assert.equal(nestLoaded(), false, 'the root entry point must not load NestJS')
const nest = require('stratacache/nestjs')
assert.equal(nestLoaded(), true)
const { Module } = require('@nestjs/common')
const { NestFactory } = require('@nestjs/core')

async function main() {
  const cache = new CacheManager({ ttl: '1m' })
  await cache.set('product:1', { id: 1, tags: ['a'] })
  assert.deepEqual(await cache.get('product:1'), { id: 1, tags: ['a'] })
  await cache.close()

  class AppModule {}
  Module({ imports: [nest.CacheModule.register({ defaultTtl: 60000 })] })(AppModule)
  const app = await NestFactory.createApplicationContext(AppModule, {
    logger: false,
    abortOnError: false,
  })
  const injected = app.get(CacheManager) // the root's class is the token: one module graph
  assert.ok(injected instanceof CacheManager)
  await injected.set('x', 42)
  assert.equal(await injected.get('x'), 42)
  await app.close()
  await assert.rejects(injected.get('x'), { code: 'ERR_CLOSED' })

  const loaded = {}
  for (const subpath of ${JSON.stringify(SUBPATHS)}) {
    const name = 'stratacache' + subpath
    loaded[name] = { file: require.resolve(name), exports: Object.keys(require(name)).length }
  }
  console.log(JSON.stringify(loaded))
}
main().catch((error) => {
  console.error(error)
  process.exit(1)
})
`

describe('CommonJS: require("stratacache") on Node 20', () => {
  let dir: string
  let pkg: string
  let app: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratacache-cjs-'))
    pkg = join(dir, 'stratacache')
    app = join(dir, 'app')
    await mkdir(pkg)
    await copyFile(join(ROOT, 'package.json'), join(pkg, 'package.json'))
    await symlink(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir')
    await run(process.execPath, [
      join(ROOT, 'scripts/build-cjs.mjs'),
      '--out-dir',
      join(pkg, 'dist/cjs'),
    ])
    await mkdir(join(app, 'node_modules'), { recursive: true })
    await symlink(pkg, join(app, 'node_modules/stratacache'), 'dir')
    await symlink(join(ROOT, 'node_modules/@nestjs'), join(app, 'node_modules/@nestjs'), 'dir')
    await writeFile(join(app, 'package.json'), '{ "type": "commonjs" }\n')
    await writeFile(join(app, 'main.cjs'), APP)
  }, 180_000)

  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('builds CommonJS with its own type marker and declarations', () => {
    const cjs = join(pkg, 'dist/cjs')
    expect(JSON.parse(readFileSync(join(cjs, 'package.json'), 'utf8'))).toEqual({
      type: 'commonjs',
    })
    for (const subpath of SUBPATHS) {
      const base = join(cjs, subpath === '' ? 'index' : `${subpath.slice(1)}/index`)
      expect(existsSync(`${base}.js`), `${base}.js`).toBe(true)
      expect(existsSync(`${base}.d.ts`), `${base}.d.ts`).toBe(true)
    }
    // The one import.meta of the sources, rewritten for CommonJS.
    const helper = readFileSync(join(cjs, 'module-url.js'), 'utf8')
    expect(helper).toContain("require('node:url').pathToFileURL(__filename).href")
  })

  it('requires every entry point through the exports map, and runs a cache and the Nest module', async () => {
    const { stdout } = await run(process.execPath, [join(app, 'main.cjs')], { cwd: app })
    const loaded = JSON.parse(stdout) as Record<string, { file: string; exports: number }>
    for (const subpath of SUBPATHS) {
      const entry = loaded[`stratacache${subpath}`]!
      const file = subpath === '' ? 'index.js' : `${subpath.slice(1)}/index.js`
      expect(entry.file).toBe(join(pkg, 'dist/cjs', file))
      expect(entry.exports).toBeGreaterThan(0)
    }
  })

  it('lists a require condition, with its types, before the ES module entries', () => {
    const exports = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).exports
    for (const subpath of SUBPATHS) {
      const entry = exports[`.${subpath}`]
      expect(Object.keys(entry)[0]).toBe('require')
      expect(Object.keys(entry.require)).toEqual(['types', 'default'])
      expect(entry.import).toMatch(/^\.\/dist\/(?!cjs\/)/)
    }
  })
})
