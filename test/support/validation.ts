/** The checks that a call refuses its input as it should: a ValidationError with a code and a field. */
import { expect } from 'vitest'
import { cacheOptionsFromEnv } from '../../src/config/cache-env.js'
import { ErrorCodes, ValidationError } from '../../src/errors.js'

/** The ValidationError `fn` throws; fails the test when it throws nothing, or another error. */
export function validationErrorOf(fn: () => unknown): ValidationError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError)
    return error as ValidationError
  }
  throw new Error('expected a ValidationError, and nothing was thrown')
}

/**
 * Runs `fn`, expects a ValidationError with `code` on `field` (with `prefixed`, its message
 * opening with `<field>: `), and returns its message.
 */
export function validationFailure(
  fn: () => unknown,
  field: string,
  code: string = ErrorCodes.INVALID_OPTION,
  { prefixed = false } = {},
): string {
  const error = validationErrorOf(fn)
  expect(error.code).toBe(code)
  expect(error.field).toBe(field)
  if (prefixed) expect(error.message.startsWith(`${field}: `)).toBe(true)
  return error.message
}

/** {@link validationFailure} for a reading of environment variables (ERR_INVALID_ENV). */
export function envFailure(fn: () => unknown, field: string, options = {}): string {
  return validationFailure(fn, field, ErrorCodes.INVALID_ENV, options)
}

/** Expects cacheOptionsFromEnv(env) to fail with ERR_INVALID_ENV on `field`; returns the message. */
export function cacheEnvFailure(env: Record<string, string>, field: string): string {
  return envFailure(() => cacheOptionsFromEnv(env), field)
}
