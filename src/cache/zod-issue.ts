import type { z } from 'zod'
import { invalid, type ValidationError } from '../errors.js'

/**
 * zod's first complaint about an options object as a {@link ValidationError} whose `field` is the
 * option's path under `root` (`options.local.maxEntries`), so every layer's options report bad
 * input the same way.
 */
export function validationErrorOf(error: z.ZodError, root: string): ValidationError {
  let issue = error.issues[0]!
  let prefix: PropertyKey[] = []
  // A union (e.g. `local: boolean | {...}`) reports "Invalid input" at its own path; the branch
  // that got furthest into the value says what is really wrong.
  while (issue.code === 'invalid_union') {
    const deepest = issue.errors
      .flat()
      .sort((a, b) => b.path.length - a.path.length)
      .find((inner) => inner.path.length > 0)
    if (deepest === undefined) break
    prefix = [...prefix, ...issue.path]
    issue = deepest
  }
  if (prefix.length > 0) issue = { ...issue, path: [...prefix, ...issue.path] }
  if (issue.code === 'unrecognized_keys') {
    const path = [root, ...issue.path.map(String), issue.keys[0]].join('.')
    return invalid(path, 'is not a known option')
  }
  return invalid([root, ...issue.path.map(String)].join('.'), issue.message)
}
