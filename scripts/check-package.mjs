#!/usr/bin/env node
// What `npm publish` would ship, checked as an application receives it (`npm run check:package`;
// CI runs it after the build):
//
//   1. dist is built from the current src: built afresh here when missing, older than src, or
//      holding files that no source produces any more.
//   2. `npm pack` into a temporary folder. The tarball holds only dist (JavaScript and
//      declarations), bin, ops, README.md, LICENSE and package.json; every file that package.json
//      points at (exports, main, types, typesVersions, bin) is in it.
//   3. publint (strict) and Are the Types Wrong (every resolution mode, node10 included: it is what
//      a tsconfig with "module": "commonjs" and no moduleResolution uses, NestJS's default) on the
//      tarball.
//   4. A fresh project with the tarball unpacked in its node_modules and, beside it, only the
//      package's declared dependencies and peers (linked from this repository's node_modules, so no
//      download): every sub-path imported as an ES module and required as CommonJS, each through
//      the right half of the exports map; a cache round trip on the root; the bin run.
//      (test/integration/commonjs.test.ts, in the test suite, covers the CommonJS build of the current src
//      inside a NestJS application; this covers the tarball a user installs.)
//
//   node scripts/check-package.mjs [--keep]   --keep leaves the temporary folder for a look
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const keep = process.argv.includes('--keep')
const problems = []

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', ...options })
  if (result.error) throw result.error
  return result
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* walk(path)
    else yield path
  }
}

/**
 * The source a dist file is compiled from, or undefined for the CommonJS folder's type marker and
 * the chunks the ES module bundle's entry points share (scripts/bundle-esm.mjs).
 */
function sourceOf(distPath) {
  if (distPath === 'dist/cjs/package.json' || /^dist\/chunk-[\w-]+\.js$/.test(distPath)) {
    return undefined
  }
  const inSrc = distPath.replace(/^dist\/(cjs\/)?/, 'src/')
  return inSrc.replace(/\.d\.ts$|\.js$/, '.ts')
}

function orphansIn(distPaths) {
  return distPaths.filter((path) => {
    const source = sourceOf(path)
    return source !== undefined && !existsSync(join(root, source))
  })
}

// 1. A build of the current src.
const BUILD_CONFIG = [
  'tsconfig.json',
  'tsconfig.build.json',
  'tsconfig.cjs.json',
  'scripts/build-cjs.mjs',
  'scripts/bundle-esm.mjs',
]
function buildState() {
  const entries = ['dist/index.js', 'dist/cjs/index.js'].map((path) => join(root, path))
  if (!entries.every(existsSync)) return 'missing'
  const built = Math.min(...entries.map((path) => statSync(path).mtimeMs))
  const inputs = [...walk(join(root, 'src')), ...BUILD_CONFIG.map((path) => join(root, path))]
  const newestInput = Math.max(...inputs.map((path) => statSync(path).mtimeMs))
  if (newestInput > built) return 'older than src or its build settings'
  const distFiles = [...walk(join(root, 'dist'))].map((path) => relative(root, path))
  const orphans = orphansIn(distFiles)
  if (orphans.length > 0) return `holding ${orphans.length} files no source produces`
  return 'current'
}

const state = buildState()
if (state !== 'current') {
  console.log(`check-package: dist is ${state}; building afresh`)
  await rm(join(root, 'dist'), { recursive: true, force: true })
  const build = run('npm', ['run', 'build'], { stdio: 'inherit' })
  if (build.status !== 0) {
    console.error('check-package: npm run build failed')
    process.exit(1)
  }
}

// 2. The tarball and its contents.
const work = await mkdtemp(join(tmpdir(), 'stratacache-package-'))
const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work])
if (packed.status !== 0) {
  console.error(packed.stderr)
  console.error('check-package: npm pack failed')
  process.exit(1)
}
const [pack] = JSON.parse(packed.stdout)
const tarball = join(work, pack.filename)
const files = pack.files.map((file) => file.path)
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

const ROOT_FILES = new Set(['package.json', 'README.md', 'LICENSE'])
for (const path of files) {
  const allowed =
    ROOT_FILES.has(path) ||
    /^bin\/[^/]+\.mjs$/.test(path) ||
    /^ops\/[^/]+\.(json|ya?ml)$/.test(path) ||
    /^dist\/.+(\.js|\.d\.ts)$/.test(path) ||
    path === 'dist/cjs/package.json'
  if (!allowed) problems.push(`packed, but not meant to ship: ${path}`)
}
for (const orphan of orphansIn(files.filter((path) => path.startsWith('dist/')))) {
  problems.push(`packed from a source that no longer exists: ${orphan}`)
}

/** Every file path package.json names for a consumer, from any nesting of conditions. */
function* targets(value) {
  if (typeof value === 'string') yield value
  else if (Array.isArray(value)) for (const item of value) yield* targets(item)
  else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) yield* targets(item)
  }
}
const named = [pkg.exports, pkg.main, pkg.types, pkg.typesVersions, pkg.bin]
const shipped = new Set(files)
for (const target of new Set([...targets(named)])) {
  if (!shipped.has(target.replace(/^\.\//, ''))) problems.push(`named but not packed: ${target}`)
}
console.log(
  `check-package: ${pack.filename}, ${files.length} files, ` +
    `${(pack.size / 1024).toFixed(0)} KB packed, ${(pack.unpackedSize / 1024).toFixed(0)} KB unpacked`,
)

// 3. publint and Are the Types Wrong on the tarball.
const bin = (name) => join(root, 'node_modules/.bin', name)
for (const [name, args] of [
  ['publint', [bin('publint'), 'run', tarball, '--strict']],
  ['attw', [bin('attw'), tarball, '--no-emoji', '--no-color', '--format', 'table-flipped']],
]) {
  const result = run(args[0], args.slice(1))
  const output = `${result.stdout}${result.stderr}`.trim()
  if (result.status !== 0) problems.push(`${name} failed:\n${output}`)
  else console.log(`check-package: ${name} clean`)
}

// 4. A fresh project: the tarball in node_modules, with only what the package declares beside it.
const app = join(work, 'app')
const installed = join(app, 'node_modules/stratacache')
await mkdir(installed, { recursive: true })
const untar = run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'])
if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`)
const declared = [
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {}),
]
for (const name of declared) {
  const link = join(app, 'node_modules', name)
  await mkdir(dirname(link), { recursive: true })
  await symlink(join(root, 'node_modules', name), link, 'dir')
}
await writeFile(join(app, 'package.json'), '{ "name": "app", "private": true }\n')

const subpaths = Object.keys(pkg.exports)
  .filter((key) => key !== './package.json')
  .map((key) => `stratacache${key.slice(1)}`)
// Each entry point loads and has exports; the root's cache works. Prints where each resolved.
const appSource = (header, load, where) => `${header}
async function main() {
  const seen = {}
  for (const name of ${JSON.stringify(subpaths)}) {
    const loaded = await ${load('name')}
    assert.ok(Object.keys(loaded).length > 0, name + ' has no exports')
    seen[name] = ${where}
  }
  const { CacheManager } = await ${load("'stratacache'")}
  const cache = new CacheManager({ ttl: '1m' })
  await cache.set('product:1', { id: 1 })
  assert.deepEqual(await cache.get('product:1'), { id: 1 })
  await cache.close()
  console.log(JSON.stringify(seen))
}
main().catch((error) => {
  console.error(error)
  process.exit(1)
})
`
const esm = appSource(
  "import assert from 'node:assert/strict'\nimport { fileURLToPath } from 'node:url'",
  (name) => `import(${name})`,
  'fileURLToPath(import.meta.resolve(name))',
)
await writeFile(join(app, 'main.mjs'), esm)
const cjs = appSource(
  "'use strict'\nconst assert = require('node:assert/strict')",
  (name) => `require(${name})`,
  'require.resolve(name)',
)
await writeFile(join(app, 'main.cjs'), cjs)

for (const [file, folder] of [
  ['main.mjs', 'dist/'],
  ['main.cjs', 'dist/cjs/'],
]) {
  const result = run(process.execPath, [file], { cwd: app, timeout: 60_000 })
  if (result.status !== 0) {
    problems.push(`fresh project, ${file}:\n${result.stderr.trim()}`)
    continue
  }
  const seen = JSON.parse(result.stdout)
  const misplaced = subpaths.filter((name) => {
    const at = relative(installed, seen[name] ?? '')
    return !at.startsWith(folder) || (folder === 'dist/' && at.startsWith('dist/cjs/'))
  })
  for (const name of misplaced) {
    problems.push(`fresh project, ${file}: ${name} resolved to ${seen[name]}, not ${folder}`)
  }
  if (misplaced.length === 0) {
    console.log(`check-package: ${file} loads ${subpaths.length} entry points from ${folder}`)
  }
}

// The bin: it loads the Prisma entry point, then reports the refused connection as its own error.
const [binPath] = Object.values(pkg.bin)
const cli = run(
  process.execPath,
  [join(installed, binPath), 'change-feed', 'status', '--url', 'postgresql://127.0.0.1:1/none'],
  { cwd: app, timeout: 30_000 },
)
if (cli.status !== 1 || !cli.stderr.startsWith('stratacache change-feed status: ')) {
  problems.push(`bin ${binPath} (exit ${cli.status}):\n${cli.stderr.trim()}`)
} else console.log(`check-package: bin ${binPath} runs`)

if (keep) console.log(`check-package: left ${work}`)
else await rm(work, { recursive: true, force: true })
if (problems.length > 0) {
  console.error(`check-package: ${problems.length} problems\n- ${problems.join('\n- ')}`)
  process.exit(1)
}
console.log('check-package: the package is fit to publish')
