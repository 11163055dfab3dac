#!/usr/bin/env node
// The npm registry mirror on our machines lacks the other-platform builds of some optional
// packages (Biome's and msgpackr-extract's), so `npm install` writes a lock without them and
// `npm ci` then refuses it. This adds the missing optional entries, marked with their os/cpu so
// that npm skips them on other platforms. Run it after changing dependencies: npm run lock:fix
import { readFileSync, writeFileSync } from 'node:fs'

const path = process.argv[2] ?? 'package-lock.json'
const lock = JSON.parse(readFileSync(path, 'utf8'))
const pkgs = lock.packages
let added = 0
for (const [loc, meta] of Object.entries(pkgs)) {
  for (const [name, range] of Object.entries(meta.optionalDependencies ?? {})) {
    const base = loc === '' ? '' : `${loc}/`
    const candidates = [`${base}node_modules/${name}`, `node_modules/${name}`]
    if (candidates.some((c) => pkgs[c])) continue
    const m =
      /(android|darwin|linux|win32|freebsd|openbsd|sunos|aix)-(arm64|x64|arm|ia32|ppc64|s390x|riscv64)(-musl)?/.exec(
        name,
      )
    if (!m) {
      console.error('cannot infer platform for', name)
      continue
    }
    pkgs[`node_modules/${name}`] = {
      version: range.replace(/^[\^~]/, ''),
      optional: true,
      os: [m[1]],
      cpu: [m[2]],
      ...(m[3] ? { libc: ['musl'] } : {}),
      ...(meta.dev ? { dev: true } : {}),
    }
    added++
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`added ${added} entries`)
