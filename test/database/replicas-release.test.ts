import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('an extended client that is dropped gives back its cache listeners (and its poll timer)', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'test/support/replica-release-child.ts'],
    { timeout: 60_000 },
  )
  const { before, held, after } = JSON.parse(stdout.trim().split('\n').at(-1)!)
  // Each extension holds listeners on the cache while it is referenced, and gives them back, with
  // its poll timer (unref'd, so not listed among active resources), once it is garbage.
  expect(held.listeners).toBeGreaterThanOrEqual(before.listeners + 20)
  expect(after.listeners).toBe(before.listeners)
})
