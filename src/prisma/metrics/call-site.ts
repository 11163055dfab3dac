import { relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ownPath } from '../../module-url.js'

/**
 * Finds the line of user code that made a Prisma call, for N+1 reports. Capturing a stack costs
 * 5-30 µs, so it is only done when a report is about to be made, never per call.
 *
 * The call is usually several `await`s away from where the metrics run (the extension's query
 * hook runs after Prisma's own pipeline); V8's async stack traces (on by default) keep the
 * awaiting user functions as `at async fn (file:line:col)` frames, which is what is read here.
 */

/**
 * stratacache's own code (src/, dist/ or dist/cjs/): its frames are never the call site. The whole
 * folder, not its Prisma layer alone: the ES module build is bundled, the Prisma layer's code
 * partly in chunks shared with the other entry points (scripts/bundle-esm.mjs).
 */
const OWN_DIR = ownPath('./')
const FRAME_LIMIT = 60
const LOCATION = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?\s*$/

/** Frame files that are never user code. */
function isInternal(file: string): boolean {
  return (
    file.startsWith('node:') ||
    file.startsWith(OWN_DIR) ||
    file.includes(`${sep}node_modules${sep}`) ||
    file.includes('/node_modules/') ||
    !(file.startsWith('/') || /^[A-Za-z]:[\\/]/.test(file))
  )
}

function matches(file: string, patterns: readonly (string | RegExp)[]): boolean {
  for (const pattern of patterns) {
    if (typeof pattern === 'string' ? file.includes(pattern) : pattern.test(file)) return true
  }
  return false
}

/**
 * Picks the first user frame of a V8 stack: outside node_modules, `node:` internals, stratacache's
 * own src/prisma and the `ignore` patterns. Returns `file:line` with `file` relative to the working
 * directory when it is inside it, or `undefined` when no frame qualifies.
 *
 * @example
 * ```ts
 * firstUserFrame(new Error().stack ?? '') // 'src/routes/orders.ts:42'
 * ```
 */
export function firstUserFrame(
  stack: string,
  ignore: readonly (string | RegExp)[] = [],
): string | undefined {
  const lines = stack.split('\n')
  for (let i = 1; i < lines.length; i++) {
    const match = LOCATION.exec(lines[i]!)
    if (match === null) continue
    let file = match[1]!
    if (file.startsWith('file://')) {
      try {
        file = fileURLToPath(file)
      } catch {
        continue
      }
    }
    if (isInternal(file) || matches(file, ignore)) continue
    const shown = relative(process.cwd(), file)
    return `${shown.startsWith('..') ? file : shown}:${match[2]}`
  }
  return undefined
}

/**
 * Captures the current stack and returns its first user frame (see {@link firstUserFrame}).
 *
 * @example
 * ```ts
 * const where = captureCallSite() // 'test/orders.test.ts:31'
 * ```
 */
export function captureCallSite(ignore: readonly (string | RegExp)[] = []): string | undefined {
  const limit = Error.stackTraceLimit
  // The default of 10 frames is often all Prisma and stratacache: look deeper, then restore.
  Error.stackTraceLimit = FRAME_LIMIT
  const holder: { stack?: string } = {}
  Error.captureStackTrace(holder, captureCallSite)
  Error.stackTraceLimit = limit
  // The first line is the header ("Error"); firstUserFrame skips it.
  return firstUserFrame(holder.stack ?? '', ignore)
}

/**
 * Call-site captures for slow queries, at most `perSecond` of them a second. On a saturated
 * database every query is slow (pool waits count), and each capture costs 5-30 µs, more under
 * source maps: past the budget a slow query is logged without its call site rather than spending
 * CPU where there is none to spare. The first ones of each second still say where they come from.
 */
export class CallSiteBudget {
  #windowStart = Number.NEGATIVE_INFINITY
  #used = 0
  readonly #perSecond: number

  constructor(perSecond = 100) {
    this.#perSecond = perSecond
  }

  /** {@link captureCallSite}, or `undefined` once this second's budget is spent. */
  capture(ignore: readonly (string | RegExp)[] = []): string | undefined {
    const now = Date.now()
    if (now - this.#windowStart >= 1_000) {
      this.#windowStart = now
      this.#used = 0
    }
    if (this.#used >= this.#perSecond) return undefined
    this.#used++
    return captureCallSite(ignore)
  }
}
