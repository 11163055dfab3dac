/**
 * Request validation with zod: a failure becomes a 400 whose message and `issues` name each
 * offending field as the client wrote it (`query.pageSize`, `body.items[1].quantity`), so a
 * client never has to guess what to fix.
 */
import type { z } from 'zod'
import { HttpError } from './http.js'

/** Where a value came from; the first part of every field name in an error. */
export type InputSource = 'path' | 'query' | 'body'

export interface InputIssue {
  readonly field: string
  readonly message: string
}

/** Parses `value` with `schema`, or throws a 400 listing every problem. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  source: InputSource,
): z.output<S> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issues: InputIssue[] = result.error.issues.flatMap((issue) => {
    // An unknown key is reported once per key, each under its own name.
    const names = issue.code === 'unrecognized_keys' ? issue.keys : [undefined]
    return names.map((key) => ({
      field: fieldName(source, key === undefined ? issue.path : [...issue.path, key]),
      message: key === undefined ? issue.message : 'unknown field',
    }))
  })
  const summary = issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ')
  throw new HttpError(400, 'invalid_request', summary, { details: { issues } })
}

/** The query string as a plain object, for a schema (a repeated key keeps its last value). */
export function queryObject(query: URLSearchParams): Record<string, string> {
  return Object.fromEntries(query)
}

function fieldName(source: InputSource, path: readonly PropertyKey[]): string {
  let name: string = source
  for (const part of path) {
    name += typeof part === 'number' ? `[${part}]` : `.${String(part)}`
  }
  return name
}
