/** What the JSON result records about the machine and the code: versions, revision. */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'

const HERE = dirname(fileURLToPath(import.meta.url))

export function packageVersion(name: string): string | undefined {
  try {
    const path = join(HERE, '..', 'node_modules', name, 'package.json')
    return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version
  } catch {
    return undefined
  }
}

export function gitRevision(): string | undefined {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], {
      cwd: HERE,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return undefined
  }
}

export async function redisVersion(admin: Redis | undefined): Promise<string | undefined> {
  if (admin === undefined) return undefined
  const info = await admin.info('server')
  return /redis_version:(\S+)/.exec(info)?.[1]
}
