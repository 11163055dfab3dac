// The CommonJS build (`npm run build`, after the ES module one): `require('stratacache')` on
// Node 20, which cannot require() an ES module, and in NestJS applications, CommonJS by default.
//
//   node scripts/build-cjs.mjs                  -> dist/cjs (emptied first)
//   node scripts/build-cjs.mjs --out-dir <dir>  -> <dir>, which must be empty or absent
//
// It compiles src with tsconfig.cjs.json, marks the folder CommonJS with a package.json of its
// own (the package's is "type": "module"), and rewrites the one `import.meta.url` of
// src/module-url.ts, a syntax error in CommonJS, into the URL of `__filename`. Then every file
// must parse as CommonJS, or the build fails.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compileFunction } from 'node:vm'

const root = fileURLToPath(new URL('..', import.meta.url))
const HELPER = 'module-url.js'
const ESM_URL = 'import.meta.url'
const CJS_URL = "require('node:url').pathToFileURL(__filename).href"
const CJS_PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname']

function fail(message) {
  console.error(`build-cjs: ${message}`)
  process.exit(1)
}

function outDirOf(args) {
  const at = args.indexOf('--out-dir')
  if (at === -1) {
    const dir = join(root, 'dist', 'cjs')
    rmSync(dir, { recursive: true, force: true })
    return dir
  }
  const given = args[at + 1]
  if (given === undefined || given.startsWith('--')) fail('--out-dir needs a directory')
  const dir = resolve(given)
  // Never empties a folder it was pointed at: a wrong argument must not delete anything.
  if (existsSync(dir) && readdirSync(dir).length > 0) fail(`${dir} is not empty`)
  return dir
}

function* jsFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* jsFiles(path)
    else if (entry.name.endsWith('.js')) yield path
  }
}

const outDir = outDirOf(process.argv.slice(2))
mkdirSync(outDir, { recursive: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const compiled = spawnSync(
  process.execPath,
  [tsc, '-p', join(root, 'tsconfig.cjs.json'), '--outDir', outDir],
  { stdio: 'inherit' },
)
if (compiled.status !== 0) fail(`tsc -p tsconfig.cjs.json exited with ${compiled.status}`)

writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`)

const helper = join(outDir, HELPER)
const text = readFileSync(helper, 'utf8')
const uses = text.split(ESM_URL).length - 1
if (uses !== 1) fail(`${HELPER} should hold ${ESM_URL} once, found ${uses}`)
writeFileSync(helper, text.replace(ESM_URL, CJS_URL))

// Every file must parse as CommonJS: an `import.meta` or a top-level `await` would otherwise only
// fail later, when an application requires it.
const broken = []
for (const file of jsFiles(outDir)) {
  try {
    compileFunction(readFileSync(file, 'utf8'), CJS_PARAMETERS, { filename: file })
  } catch (error) {
    broken.push(`${relative(outDir, file)}: ${error instanceof Error ? error.message : error}`)
  }
}
if (broken.length > 0) {
  fail(`not valid CommonJS (for import.meta, use src/module-url.ts):\n  ${broken.join('\n  ')}`)
}
const shown = relative(root, outDir)
console.log(`build-cjs: CommonJS build in ${shown.startsWith('..') ? outDir : shown}`)
