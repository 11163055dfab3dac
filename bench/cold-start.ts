/**
 * Cold start as a user of the published package meets it, outside the main harness:
 * `npx tsx bench/cold-start.ts` (`COLD_START_RUNS`, default 7, runs of each case).
 *
 * Builds the package if `dist/` is older than `src/`, packs it, installs the tarball into a fresh
 * project in a temporary folder (from the npm cache; `--ignore-scripts`, as the package needs
 * none), and times each case in fresh `node` processes, from the first line of the script (node's
 * own start-up excluded), one run of each case in turn, median and spread:
 *
 * - `import`: `await import('stratacache')` alone.
 * - `memory`: that, `new CacheManager()` and a first `get` (memory only).
 * - `memory-set`: the same with a `set` before the `get`: a memory-only cache measures what it
 *   stores without encoding it, so this loads no more packages than `memory`.
 * - `redis`: the same with `redis:` configured (127.0.0.1:6379), to the first `get`'s answer.
 * - `prisma` / `prisma+withCache`: a Prisma app (this repository's generated client, compiled to
 *   JavaScript, on `@prisma/adapter-pg` and the shared PostgreSQL, in a schema of its own) to its
 *   first query's answer, plain and with `withCache`; the difference is withCache's set-up.
 *
 * Then which packages each case loads (an ES module resolve hook, and `require.cache`), and what
 * each dependency costs imported alone in a fresh process: ioredis, msgpackr and lru-cache.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { transformSync } from 'esbuild'
import pg from 'pg'
import { applyMigrations } from '../scripts/migrations.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RUNS = Number(process.env.COLD_START_RUNS ?? 7)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'
const DEPENDENCIES = ['ioredis', 'msgpackr', 'lru-cache']

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

function ensureBuilt(): void {
  const built = (() => {
    try {
      return statSync(join(ROOT, 'dist/cjs/index.js')).mtimeMs
    } catch {
      return 0
    }
  })()
  if (built >= newestMtime(join(ROOT, 'src'))) return
  console.log('dist/ is older than src/: npm run build')
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' })
}

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function versionOf(name: string): string {
  return (
    JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string
    }
  ).version
}

/** A fresh project with the packed tarball and the Prisma app's packages installed. */
function freshProject(dir: string): void {
  const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', dir], ROOT)
    .trim()
    .split('\n')
    .at(-1)!
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'cold-start', private: true, type: 'module' }),
  )
  const started = performance.now()
  npm(
    [
      'install',
      join(dir, tarball),
      ...['@prisma/client', '@prisma/adapter-pg', 'pg'].map((name) => `${name}@${versionOf(name)}`),
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--ignore-scripts',
    ],
    dir,
  )
  console.log(`installed ${tarball} in ${Math.round(performance.now() - started)} ms`)
  // The repository's generated Prisma client, compiled to JavaScript for plain node.
  const from = join(ROOT, 'prisma/generated')
  const walk = (sub: string): void => {
    for (const entry of readdirSync(join(from, sub), { withFileTypes: true })) {
      const path = join(sub, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts')) {
        const out = join(dir, 'generated', path.replace(/\.ts$/, '.js'))
        mkdirSync(dirname(out), { recursive: true })
        const source = readFileSync(join(from, path), 'utf8')
        writeFileSync(out, transformSync(source, { loader: 'ts', format: 'esm' }).code)
      }
    }
  }
  walk('')
}

/** The scripts each case runs; each prints `{ ms }`, and with TRACE set the packages it loaded. */
function writeScripts(dir: string, schema: string): void {
  const finish = `
const ms = performance.now() - t0
const { user, system } = process.cpuUsage(c0)
const cpuMs = (user + system) / 1000
if (process.env.TRACE) await new Promise((r) => setTimeout(r, 100))
console.log(JSON.stringify({ ms, cpuMs, packages: [...(globalThis.__loaded ?? new Map())].map(([name, files]) => name + ' (' + files + ')') }))`
  const prismaApp = (cached: boolean) => `
const t0 = performance.now(), c0 = process.cpuUsage()
const { PrismaClient } = await import('./generated/client.js')
const { PrismaPg } = await import('@prisma/adapter-pg')
const adapter = new PrismaPg({ connectionString: ${JSON.stringify(DATABASE_URL)}, options: '-c search_path=${schema}' }, { schema: '${schema}' })
let prisma = new PrismaClient({ adapter })
${
  cached
    ? `const { CacheManager } = await import('stratacache')
const { withCache } = await import('stratacache/prisma')
const cache = new CacheManager()
prisma = prisma.$extends(withCache({ cache, env: false }))`
    : ''
}
await prisma.category.findMany({ take: 1 })
${finish}
await prisma.$disconnect()`
  const scripts: Record<string, string> = {
    'import.mjs': `const t0 = performance.now(), c0 = process.cpuUsage()\nawait import('stratacache')${finish}`,
    'memory.mjs': `const t0 = performance.now(), c0 = process.cpuUsage()
const { CacheManager } = await import('stratacache')
const cache = new CacheManager()
await cache.get('cold')${finish}
await cache.close()`,
    'memory-set.mjs': `const t0 = performance.now(), c0 = process.cpuUsage()
const { CacheManager } = await import('stratacache')
const cache = new CacheManager()
await cache.set('cold', { id: 1, at: new Date() })
await cache.get('cold')${finish}
await cache.close()`,
    'redis.mjs': `const t0 = performance.now(), c0 = process.cpuUsage()
const { CacheManager } = await import('stratacache')
const cache = new CacheManager({ redis: ${JSON.stringify(REDIS_URL)}, prefix: 'bench:cold:' })
await cache.get('cold')${finish}
await cache.close()`,
    'prisma.mjs': prismaApp(false),
    'prisma-cached.mjs': prismaApp(true),
    // The packages loaded, by ES module resolution (hook) and by require().
    'trace.mjs': `import { register, createRequire } from 'node:module'
import { MessageChannel } from 'node:worker_threads'
const loaded = (globalThis.__loaded = new Map())\nconst seen = new Set()\nconst add = (path) => { const name = packageOf(path); if (!name || seen.has(path)) return; seen.add(path); loaded.set(name, (loaded.get(name) ?? 0) + 1) }
const packageOf = (path) => path.match(/node_modules\\/((?:@[^/]+\\/)?[^/]+)/)?.[1]
const { port1, port2 } = new MessageChannel()
port1.on('message', (url) => add(url.replace('file://', '')))
port1.unref()
register('./trace-hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] })
const require = createRequire(import.meta.url)
const Module = require('node:module')
const load = Module._load
Module._load = function (request, parent, isMain) {
  const result = load.apply(this, arguments)
  try { add(Module._resolveFilename(request, parent)) } catch {}
  return result
}`,
    'trace-hooks.mjs': `let port
export function initialize(data) { port = data.port }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  port.postMessage(result.url)
  return result
}`,
  }
  for (const name of DEPENDENCIES) {
    scripts[`dep-${name.replace(/\W/g, '_')}.mjs`] =
      `const t0 = performance.now(), c0 = process.cpuUsage()\nawait import(${JSON.stringify(name)})\nconst { user, system } = process.cpuUsage(c0)\nconsole.log(JSON.stringify({ ms: performance.now() - t0, cpuMs: (user + system) / 1000 }))`
  }
  for (const [name, text] of Object.entries(scripts)) writeFileSync(join(dir, name), text)
}

interface Sample {
  ms: number
  cpuMs: number
  packages: string[]
}

function run(dir: string, script: string, trace = false): Sample {
  const args = trace ? ['--import', './trace.mjs', script] : [script]
  const child = spawnSync(process.execPath, args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...(trace ? { TRACE: '1' } : {}) },
    timeout: 60_000,
  })
  const line = child.stdout
    .trim()
    .split('\n')
    .find((l) => l.startsWith('{'))
  if (child.status !== 0 || line === undefined) {
    throw new Error(`${script} exited with ${child.status}:\n${child.stdout}\n${child.stderr}`)
  }
  return JSON.parse(line) as Sample
}

function summary(samples: number[]): { median: number; min: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b)
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)! }
}

const format = ({ median, min, max }: { median: number; min: number; max: number }) =>
  `${median.toFixed(1).padStart(7)} ms  (${min.toFixed(1)}–${max.toFixed(1)})`

async function main(): Promise<void> {
  ensureBuilt()
  const dir = mkdtempSync(join(tmpdir(), 'stratacache-cold-'))
  const schema = `bench_cold_${randomBytes(4).toString('hex')}`
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 })
  try {
    freshProject(dir)
    await admin.query(`CREATE SCHEMA ${schema}`)
    const pool = new pg.Pool({
      connectionString: DATABASE_URL,
      options: `-c search_path=${schema}`,
      max: 1,
    })
    await applyMigrations(pool)
    await pool.end()
    writeScripts(dir, schema)

    const cases: [label: string, script: string][] = [
      ['import', 'import.mjs'],
      ['import + new CacheManager() + get (memory)', 'memory.mjs'],
      ['the same with a set before the get', 'memory-set.mjs'],
      ['the same with redis: configured', 'redis.mjs'],
      ['Prisma app to its first query', 'prisma.mjs'],
      ['the same with withCache', 'prisma-cached.mjs'],
    ]
    console.log(
      `\nfresh node processes, ${RUNS} runs each, from the script's first line (node's start-up excluded):` +
        '\nwall-clock and CPU time (user + system, less sensitive to a busy machine), median (min–max)',
    )
    const medians = new Map<string, Sample>()
    for (const [, script] of cases) run(dir, script) // warms the file system cache
    // Round robin, one run of each case in turn: on a machine whose load varies, every case (and
    // the two Prisma cases whose difference is reported) sees the same spread of it.
    const samplesOf = new Map<string, Sample[]>(cases.map(([, script]) => [script, []]))
    for (let i = 0; i < RUNS; i++) {
      for (const [, script] of cases) samplesOf.get(script)!.push(run(dir, script))
    }
    for (const [label, script] of cases) {
      const samples = samplesOf.get(script)!
      const wall = summary(samples.map((s) => s.ms))
      const cpu = summary(samples.map((s) => s.cpuMs))
      medians.set(script, { ms: wall.median, cpuMs: cpu.median, packages: [] })
      console.log(`${label.padEnd(44)} wall ${format(wall)}   cpu ${format(cpu)}`)
    }
    const plain = medians.get('prisma.mjs')!
    const cached = medians.get('prisma-cached.mjs')!
    console.log(
      `${'withCache set-up over plain Prisma'.padEnd(44)} wall ${(cached.ms - plain.ms).toFixed(1).padStart(7)} ms` +
        `${' '.repeat(17)}cpu ${(cached.cpuMs - plain.cpuMs).toFixed(1).padStart(7)} ms`,
    )

    console.log('\npackages loaded (files of each)')
    for (const [label, script] of cases) {
      const packages = run(dir, script, true).packages.sort()
      console.log(`${label.padEnd(44)} ${packages.join(', ') || '(none)'}`)
    }

    console.log('\neach dependency imported alone in a fresh process')
    for (const name of DEPENDENCIES) {
      const script = `dep-${name.replace(/\W/g, '_')}.mjs`
      run(dir, script)
      const samples = Array.from({ length: RUNS }, () => run(dir, script))
      const wall = format(summary(samples.map((s) => s.ms)))
      console.log(
        `${name.padEnd(44)} wall ${wall}   cpu ${format(summary(samples.map((s) => s.cpuMs)))}`,
      )
    }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {})
    await admin.end()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
