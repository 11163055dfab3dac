/**
 * A lock file next to PGlite's data directory. PGlite is PostgreSQL in this process: unlike a
 * server, it has no postmaster to refuse a second opener, and two processes writing the same
 * files corrupt them. A second `npm start` (on another PORT) must stop with a clear message.
 */
import { open, readFile, rm } from 'node:fs/promises'

export interface DataDirLock {
  release(): Promise<void>
}

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = `${dataDir}.lock`
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx') // fails if the file exists: the check and the claim are one step
      await file.writeFile(String(process.pid))
      await file.close()
      return { release: () => rm(path, { force: true }) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10)
      if (isAlive(holder)) {
        throw new Error(
          `${dataDir} is in use by process ${holder} (another \`npm start\`?). ` +
            'Stop it, or give this one its own directory: SHOP_DATA_DIR=/tmp/shop npm start',
        )
      }
      // Left behind by a process that died without releasing it (kill -9, power loss).
      await rm(path, { force: true })
    }
  }
  throw new Error(`could not lock ${dataDir}: ${path} keeps coming back`)
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0) // signal 0 checks existence without sending anything
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
