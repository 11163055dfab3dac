/**
 * The parameter values of a captured statement, recovered from what `captureSql` keeps: with
 * `withParams: true` it keeps a bounded summary of them (see `summarizeArgs`), which is the
 * values themselves for the numbers, booleans, short strings and short lists Prisma sends for
 * filters, limits and keys. Where the summary cut something (a long string, bytes, a long `IN`
 * list), the values are lost and the statement can only be planned generically.
 */

/** The values to run a statement with, or why they cannot be had. */
export type RecoveredParams =
  | { readonly ok: true; readonly values: unknown[] }
  | { readonly ok: false; readonly reason: string }

const CUT_STRING = /…\(\+\d+ chars\)$/
const CUT_LIST = /^…\(\+\d+ (items|keys)\)$/
const LOST =
  /^(<\w+ \d+ bytes>|<(Map|Set) \d+>|\[Circular\]|…|\{…\}|\[…\]|<Function .*>|<unreadable>)$/

class Lost extends Error {}

function recover(value: unknown): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value
  if (typeof value === 'string') {
    if (CUT_STRING.test(value) || CUT_LIST.test(value) || LOST.test(value)) throw new Lost(value)
    return value
  }
  if (Array.isArray(value)) return value.map(recover)
  if (typeof value === 'object' && !('$type' in value) && !('…' in value)) {
    // A JSON parameter: PostgreSQL reads it from its text.
    return JSON.stringify(value, (_key, inner: unknown) => {
      if (typeof inner === 'string' && (CUT_STRING.test(inner) || LOST.test(inner))) {
        throw new Lost(inner)
      }
      return inner
    })
  }
  throw new Lost(String(value))
}

/**
 * The values of `params` (a captured statement's `params`), or the reason they are not all there.
 *
 * @example
 * ```ts
 * recoverParams([100, '2026-12-01T10:00:00.000Z', '10']) // { ok: true, values: [100, '2026-...', '10'] }
 * recoverParams(undefined) // { ok: false, reason: 'no parameter values were captured ...' }
 * ```
 */
export function recoverParams(params: unknown): RecoveredParams {
  if (params === undefined) {
    return {
      ok: false,
      reason:
        'no parameter values were captured: wrap the adapter with captureSql(adapter, { withParams: true })',
    }
  }
  if (!Array.isArray(params)) return { ok: false, reason: 'the captured parameters are not a list' }
  try {
    return { ok: true, values: params.map(recover) }
  } catch (error) {
    if (!(error instanceof Lost)) throw error
    return {
      ok: false,
      reason: `a parameter value was cut from the capture (${error.message.slice(0, 40)})`,
    }
  }
}
