/** Shared by the environment test files: the check that a reading of variables fails as it should. */
import { expect } from 'vitest'
import { cacheOptionsFromEnv } from '../../src/config/cache-env.js'
import { ErrorCodes, ValidationError } from '../../src/errors.js'

/**
 * Runs `fn`, expects an ERR_INVALID_ENV ValidationError on `field` (with `prefixed`, its message
 * opening with `<field>: `), and returns its message.
 */
export function envFailure(fn: () => unknown, field: string, { prefixed = false } = {}): string {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(ValidationError)
  const error = caught as ValidationError
  expect(error.code).toBe(ErrorCodes.INVALID_ENV)
  expect(error.field).toBe(field)
  if (prefixed) expect(error.message.startsWith(`${field}: `)).toBe(true)
  return error.message
}

/** Expects cacheOptionsFromEnv(env) to fail with ERR_INVALID_ENV on `field`; returns the message. */
export function cacheEnvFailure(env: Record<string, string>, field: string): string {
  return envFailure(() => cacheOptionsFromEnv(env), field)
}
