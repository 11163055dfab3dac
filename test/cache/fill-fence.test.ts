import { expect, it } from 'vitest'
import { FillFence } from '../../src/cache/fill-fence.js'

it('a loader that hangs stops holding the log back once it is older than the fence window', () => {
  let now = 0
  const fence = new FillFence({ maxLog: 100, maxAgeMs: 1_000, now: () => now })
  const hung = fence.acquire()
  fence.touchKey('a')
  now = 2_000 // the hung fill is now older than the window
  for (let i = 0; i < 1_000; i++) {
    const fill = fence.acquire()
    fence.touchKey(`written:${i}`)
    // A fill that started after every touch so far stores; one across a touch of its key does not.
    const fresh = fence.acquire()
    expect(fence.canStore(fresh, `k:${i}`, [])).toBe(true)
    expect(fence.canStore(fill, `written:${i}`, [])).toBe(false)
    expect(fence.canStore(fill, `other:${i}`, [])).toBe(true)
    fence.release(fill)
    fence.release(fresh)
  }
  // The hung fill cannot store any more (it would be refused by the window anyway) ...
  expect(fence.canStore(hung, 'z', [])).toBe(false)
  // ... and nothing else was refused wholesale, as a log collapsed into "everything" would.
  const late = fence.acquire()
  fence.touchKey('x')
  expect(fence.canStore(late, 'y', [])).toBe(true)
})

it('within the window a long fill still holds the log: its invalidations are all there', () => {
  let now = 0
  const fence = new FillFence({ maxLog: 10, maxAgeMs: 60_000, now: () => now })
  const slow = fence.acquire()
  for (let i = 0; i < 5; i++) fence.touchKey(`k${i}`)
  now = 30_000
  expect(fence.canStore(slow, 'k3', [])).toBe(false)
  expect(fence.canStore(slow, 'other', [])).toBe(true)
})
