import { type CallTracker, DRIVER_VALUE, FAILED, INVALID, READ } from './l2-calls.js'
import type { L2Driver } from './l2-driver.js'
import type { L2Health } from './l2-health.js'

const OP = 'scanKeys'

/**
 * `ResilientL2.scanKeys`: the driver's listing (`L2Driver.scanKeys`, which the caller checked it
 * has) with each step bounded by the command timeout and counted by the circuit breaker like any
 * read. Empty batches are passed over. A step that fails or times out ends the listing (the failure
 * is reported like any failed read), and so does L2 leaving use meanwhile: no step is sent while
 * the circuit is open. Never rejects.
 */
export async function* resilientScan(
  driver: L2Driver,
  pattern: string,
  calls: CallTracker,
  health: L2Health,
): AsyncGenerator<string[], void, undefined> {
  let source: AsyncIterator<string[]>
  try {
    source = driver.scanKeys!(pattern)[Symbol.asyncIterator]()
  } catch (error) {
    await calls.thrown(OP, READ, FAILED, undefined, error)
    return
  }
  let done = false
  try {
    while (health.accepting) {
      let step: Promise<IteratorResult<string[]>>
      try {
        step = source.next()
      } catch (error) {
        await calls.thrown(OP, READ, FAILED, undefined, error)
        return
      }
      const result = await calls.track<IteratorResult<string[]> | typeof FAILED | typeof INVALID>(
        step,
        OP,
        READ,
        DRIVER_VALUE,
        FAILED,
        undefined,
      )
      if (result === FAILED || result === INVALID) return
      if (result.done === true) {
        done = true
        return
      }
      if (result.value.length > 0) yield result.value
    }
  } finally {
    // Stopped early (by the consumer, a failure or a timeout): the driver stops scanning, once any
    // step still in flight settled. Its answer no longer matters.
    if (!done) closeQuietly(source)
  }
}

function closeQuietly(source: AsyncIterator<string[]>): void {
  try {
    source.return?.()?.catch(() => {})
  } catch {
    // A driver whose iterator cannot be closed keeps nothing open that we could release.
  }
}
