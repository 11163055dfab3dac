/**
 * Input pieces several routes share. Query-string and path values arrive as text, hence the
 * coercing variants; JSON bodies carry real numbers and are not coerced ("5" is not a quantity).
 */
import { z } from 'zod'

/** PostgreSQL's INTEGER, the type of every id and count column. */
const MAX_INT = 2_147_483_647

/** zod's message for a value of the wrong type, replaced; those of the checks are kept. */
function wrongType(message: string) {
  return (issue: { code?: string }) => (issue.code === 'invalid_type' ? message : undefined)
}

/** A number in a JSON body. */
export function jsonNumber() {
  return z.number({ error: wrongType('must be a number') })
}

/** A number in the query string or the path. */
export function textNumber() {
  return z.coerce.number({ error: wrongType('must be a number') })
}

/** A whole number from `min` to `max`, in a JSON body (`text`: in the query string or path). */
export function wholeNumber(min: number, max: number, { text = false } = {}) {
  return (text ? textNumber() : jsonNumber())
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
}

/** A database id in a JSON body. */
export const idField = wholeNumber(1, MAX_INT)

/** The `:id` of a path such as `/products/42`. */
export const pathWithId = z.strictObject({ id: wholeNumber(1, MAX_INT, { text: true }) })

/**
 * A price as the API takes it: a JSON number or a decimal string, at most two decimals, within
 * the column's DECIMAL(10, 2). Kept as a string so that 19.99 stays 19.99 on its way to the
 * database.
 */
export const priceField = z
  .union([z.number(), z.string()], { error: 'must be a number or a decimal string' })
  .transform(String)
  .pipe(
    z
      .string()
      .regex(/^\d{1,8}(\.\d{1,2})?$/, 'must be an amount with at most 2 decimals, e.g. 19.99')
      .refine((amount) => Number(amount) > 0, 'must be greater than 0'),
  )
