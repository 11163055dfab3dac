#!/usr/bin/env node
// Every package in package-lock.json must carry the registry's sha512 `integrity`, so that
// `npm ci` verifies each tarball it downloads on any platform, the other platforms' optional
// builds (Biome's, msgpackr-extract's) included. `npm ci` itself accepts an entry without one and
// installs it unverified, hence this check (`npm run check:lock`; CI runs it before `npm ci`).
//
// npm writes these entries itself, from the registry's metadata, on `npm install`. An entry
// without integrity was written by hand or by a tool: delete it and run
// `npm install --package-lock-only` to have npm record it from the registry.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const path = fileURLToPath(new URL('../package-lock.json', import.meta.url))
const lock = JSON.parse(readFileSync(path, 'utf8'))
const unverifiable = []
let checked = 0
for (const [location, entry] of Object.entries(lock.packages ?? {})) {
  if (location === '' || entry.link === true) continue // the project itself, and workspace links
  checked++
  if (typeof entry.version !== 'string' || !/^sha512-[A-Za-z0-9+/]+={0,2}$/.test(entry.integrity)) {
    unverifiable.push(`${location}@${entry.version ?? '?'}`)
  }
}
if (lock.lockfileVersion !== 3 || checked === 0) {
  console.error(`check-lock: ${path} is not an npm lock file of version 3 with packages`)
  process.exit(1)
}
if (unverifiable.length > 0) {
  console.error(
    `check-lock: ${unverifiable.length} of ${checked} entries have no sha512 integrity:\n  ` +
      `${unverifiable.join('\n  ')}\n` +
      'Delete them from package-lock.json and run `npm install --package-lock-only`.',
  )
  process.exit(1)
}
console.log(`check-lock: all ${checked} entries carry a sha512 integrity`)
