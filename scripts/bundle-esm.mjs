// Bundles the ES module build (`npm run build`, after `tsc -p tsconfig.build.json`): one file per
// entry point of the exports map, plus the chunks the entry points share, in place of tsc's one
// file per source. Node's ES module loader pays per file (resolving, reading, compiling, linking),
// and `import('stratacache')` reached some ninety files: bundled, a cold start takes about half
// as long (docs/BENCHMARKS.md, "Cold start"). Shared code lives in one chunk only, so each class
// exists once (`instanceof` holds across entry points). Packages stay external; the declarations
// (`.d.ts`) stay per file, as tsc wrote them. The CommonJS build (build-cjs.mjs) is per file: it
// loads faster than the ES one as it is, and `require` is what lazy loading there relies on.
//
// Chunks sit at the top of dist/, beside index.js, so that `import.meta.url` in the shared code
// (src/module-url.ts: packageRequire, ownPath) keeps pointing at dist/ as it did per file.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = join(root, 'dist')
const { build } = createRequire(import.meta.url)('esbuild')

function fail(message) {
  console.error(`bundle-esm: ${message}`)
  process.exit(1)
}

function* esmFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (path !== join(dist, 'cjs')) yield* esmFiles(path)
    } else if (entry.name.endsWith('.js')) yield path
  }
}

const { exports } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const entryPoints = Object.values(exports)
  .map((target) => target.import)
  .filter((target) => typeof target === 'string')
  .map((target) => join(root, target))

const result = await build({
  entryPoints,
  outdir: dist,
  outbase: dist,
  entryNames: '[dir]/[name]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  write: false,
  logLevel: 'warning',
})

const own = result.outputFiles.filter((file) => file.text.includes('import.meta.url'))
if (own.some((file) => dirname(file.path) !== dist)) {
  fail(`import.meta.url must stay at the top of dist/, found in ${own.map((f) => f.path)}`)
}
// The per-file output is replaced, not left beside the bundle: nothing may import it by accident.
for (const file of esmFiles(dist)) rmSync(file)
for (const file of result.outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true })
  writeFileSync(file.path, file.contents)
}
const chunks = result.outputFiles.length - entryPoints.length
console.log(
  `bundle-esm: ${entryPoints.length} entry points and ${chunks} shared chunks in ${relative(root, dist)}/`,
)
