#!/usr/bin/env node
// Generates the Prisma client of prisma/schema.prisma into prisma/generated (run by `npm install`
// through the `prepare` script, so a fresh clone type-checks and tests without another step).
// Prisma's CLI wants a native schema-engine binary it would download; `generate` never runs it,
// so any existing file satisfies the check and nothing is downloaded. Node's own binary is such
// a file.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let cli
try {
  cli = require.resolve('prisma/build/index.js')
} catch {
  // Installed as a dependency of another project (no devDependencies): nothing to generate.
  process.exit(0)
}
const env = { ...process.env }
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath
}
env.PRISMA_HIDE_UPDATE_MESSAGE = '1'
const result = spawnSync(process.execPath, [cli, 'generate', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env,
})
process.exit(result.status ?? 1)
