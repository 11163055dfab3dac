#!/usr/bin/env node
// Runs the Prisma tests against the newest Prisma 7 release as well as the pinned one
// (`npm run test:prisma-latest`; CI runs it after `npm test`). The extension leans on parts of
// Prisma Client that are not public API (listed in src/prisma/prisma-internals.ts) while its peer
// range lets a user install any 7.x: a 7.x release that changes one of them fails here first.
//
//   1. The newest stable 7.x that @prisma/client, prisma and @prisma/adapter-pg all publish is
//      asked from the registry now, not written down, so a new release is picked up without an edit.
//   2. A temporary copy of the working tree (the files git tracks or would track, as they are on
//      disk, uncommitted edits included; no node_modules, dist or generated client).
//   3. `npm ci --ignore-scripts` there, then the three packages at that version on top, unsaved:
//      package.json and the lock file keep the pinned version.
//   4. The Prisma client generated afresh by that version's CLI, and the versions that ended up
//      installed printed (and checked: a resolution that quietly kept the pinned one would prove
//      nothing).
//   5. vitest on the Prisma test files: every test file whose path under test/ has a `prisma`
//      folder or a name starting with `prisma-`, and the change feed's tests (the change feed is
//      part of the Prisma integration). They need the same PostgreSQL and Redis as `npm test`.
//
// Exits non-zero when any step or test fails; removes the copy either way.
//
//   node scripts/test-prisma-latest.mjs [--keep] [vitest args...]
//     --keep   leaves the temporary copy for a look
//     other arguments are passed to vitest (e.g. -t 'transaction')
import { spawn, spawnSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const PACKAGES = ['@prisma/client', 'prisma', '@prisma/adapter-pg']
const args = process.argv.slice(2)
const keep = args.includes('--keep')
const vitestArgs = args.filter((arg) => arg !== '--keep')
const started = performance.now()

function seconds(since) {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`
}

// A step runs as a child process; an interrupt (Ctrl-C, or a CI runner's SIGTERM to this process
// alone) stops the running step and fails the run, so the copy is still removed.
let running
let interruptedBy
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    interruptedBy = signal
    running?.kill(signal)
  })
}

/** Runs a step, its output shown as it comes; resolves to its exit status. */
function run(command, commandArgs, options = {}) {
  if (interruptedBy) throw new Error(`interrupted by ${interruptedBy}`)
  return new Promise((resolve, reject) => {
    running = spawn(command, commandArgs, { stdio: 'inherit', ...options })
    running.on('error', reject)
    running.on('exit', (code, signal) => {
      running = undefined
      if (interruptedBy || signal)
        reject(new Error(`${command} stopped by ${interruptedBy ?? signal}`))
      else resolve(code ?? 1)
    })
  })
}

function capture(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, { encoding: 'utf8', ...options })
  if (result.error) throw result.error
  if (result.status !== 0) {
    throw new Error(`${command} ${commandArgs.join(' ')} failed:\n${result.stderr}`)
  }
  return result.stdout
}

/** `a` before `b` for plain `major.minor.patch` versions. */
function compareVersions(a, b) {
  const [x, y] = [a, b].map((version) => version.split('.').map(Number))
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]
}

/** The newest stable 7.x (no dev, integration or other pre-release) published for every package. */
function newestCommon7x() {
  const sets = PACKAGES.map((name) => {
    const versions = JSON.parse(capture('npm', ['view', name, 'versions', '--json']))
    return new Set(versions.filter((version) => /^7\.\d+\.\d+$/.test(version)))
  })
  const common = [...sets[0]].filter((version) => sets.every((set) => set.has(version)))
  if (common.length === 0) throw new Error(`no 7.x release common to ${PACKAGES.join(', ')}`)
  return common.sort(compareVersions).at(-1)
}

function installedVersion(dir, name) {
  const manifest = join(dir, 'node_modules', name, 'package.json')
  return existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')).version : 'missing'
}

/** Every test file of the Prisma integration, in the flat layout and in one mirroring src/. */
function prismaTestFiles(dir) {
  const files = []
  const walk = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.test.ts')) files.push(relative(dir, path).split(sep).join('/'))
    }
  }
  walk(join(dir, 'test'))
  return files.filter((file) => /(^|\/)(prisma\/|prisma-|change-feed\/)/.test(file)).sort()
}

/** The working tree's files (tracked or untracked, not ignored) copied into a new folder. */
function copyWorkingTree() {
  const copy = mkdtempSync(join(tmpdir(), 'stratacache-prisma-latest-'))
  const listed = capture('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  })
  let count = 0
  for (const file of new Set(listed.split('\0').filter(Boolean))) {
    const from = join(root, file)
    if (!existsSync(from)) continue // deleted in the working tree, not yet in the index
    mkdirSync(dirname(join(copy, file)), { recursive: true })
    cpSync(from, join(copy, file), { verbatimSymlinks: true })
    count++
  }
  return { copy, count }
}

const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies[
  '@prisma/client'
]
const target = newestCommon7x()
console.log(`== Prisma ${target}: the newest 7.x on the registry (pinned: ${pinned})`)
if (target === pinned) {
  console.log(`   the newest 7.x is the pinned version; running anyway so the step stays exercised`)
}

const { copy, count } = copyWorkingTree()
let status = 1
try {
  console.log(`== copy of the working tree: ${count} files in ${copy}`)
  const npmOptions = { cwd: copy, env: { ...process.env, npm_config_fund: 'false' } }
  let step = performance.now()
  status = await run(
    'npm',
    ['ci', '--ignore-scripts', '--no-audit', '--prefer-offline'],
    npmOptions,
  )
  if (status !== 0) throw new Error('npm ci failed')
  const specs = PACKAGES.map((name) => `${name}@${target}`)
  status = await run(
    'npm',
    ['install', '--no-save', '--ignore-scripts', '--no-audit', '--prefer-offline', ...specs],
    npmOptions,
  )
  if (status !== 0) throw new Error(`npm install ${specs.join(' ')} failed`)
  console.log(`   installed in ${seconds(step)}`)

  status = await run(process.execPath, ['scripts/prisma-generate.mjs'], { cwd: copy })
  if (status !== 0) throw new Error('prisma generate failed')

  const installed = PACKAGES.map((name) => [name, installedVersion(copy, name)])
  console.log(`== installed: ${installed.map(([name, version]) => `${name}@${version}`).join(' ')}`)
  const wrong = installed.filter(([, version]) => version !== target)
  if (wrong.length > 0) {
    status = 1
    throw new Error(`expected ${target} of every package, got ${wrong.map((w) => w.join('@'))}`)
  }

  const files = prismaTestFiles(copy)
  if (files.length === 0) throw new Error('no Prisma test files found under test/')
  console.log(`== vitest on ${files.length} Prisma test files`)
  step = performance.now()
  const vitest = join(copy, 'node_modules', 'vitest', 'vitest.mjs')
  status = await run(process.execPath, [vitest, 'run', ...files, ...vitestArgs], { cwd: copy })
  console.log(`   tests ${status === 0 ? 'passed' : 'FAILED'} in ${seconds(step)}`)
} catch (error) {
  console.error(`test-prisma-latest: ${error.message}`)
  if (status === 0) status = 1
} finally {
  if (keep) console.log(`== kept ${copy}`)
  else rmSync(copy, { recursive: true, force: true })
}
console.log(`== Prisma ${target}: ${status === 0 ? 'passed' : 'FAILED'} in ${seconds(started)}`)
process.exit(status)
