/**
 * The line of an error message that says what failed. Prisma's messages open with the call site
 * ("Invalid `prisma.user.create()` invocation:" and a blank line) and end with the cause; a
 * health result and its report want the cause, on one line, bounded.
 *
 * @example
 * ```ts
 * errorLine(new Error('Invalid `prisma.user.create()` invocation:\n\n\nUnique constraint failed on the fields: (`email`)'))
 * // 'Unique constraint failed on the fields: (`email`)'
 * ```
 */
export function errorLine(error: unknown, max = 500): string {
  const text = error instanceof Error ? error.message : textOf(error)
  const lines = text.split('\n').filter((line) => line.trim() !== '')
  const line = (lines.at(-1) ?? text).trim()
  return line.length > max ? `${line.slice(0, max)}…` : line
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
