/**
 * Checks of user options and request bodies, every layer's (drivers included: this file imports
 * only `errors.ts`), written by hand rather than with a schema library: the cache's own options
 * are checked on every `new CacheManager()`, and a validation library would cost a cold start more
 * than everything else the cache loads (zod: over 100 ms, measured in `bench/cold-start.ts`).
 * Each check passes `undefined` (an option left out) and throws a `ValidationError` whose `field`
 * is the option's full path (`options.local.maxEntries`), with a reason in one style:
 * `must be ..., got ...`.
 */
import { invalid } from './errors.js'

/** What a value is, for messages: `"abc"`, `-1`, `null`, `an array`, `an object`, `a function`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value)
  }
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/**
 * Whether `value` is an object to read fields from (an option bag, Prisma's arguments, a row):
 * not `null`, not an array. Class instances (`Date`, `Decimal`) pass; a walk that must not look
 * inside them says so itself.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** An object whose keys are all in `known`; a misspelt option fails rather than being ignored. */
export function checkObject(
  value: unknown,
  field: string,
  known: readonly string[],
): asserts value is Record<string, unknown> {
  if (!isRecord(value)) throw invalid(field, `must be an object, got ${describeValue(value)}`)
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw invalid(`${field}.${key}`, 'is not a known option')
  }
}

export function checkBoolean(value: unknown, field: string): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw invalid(field, `must be true or false, got ${describeValue(value)}`)
  }
}

/** A finite number in `min..max`; `integer` for counts and sizes. */
export function checkNumber(
  value: unknown,
  field: string,
  { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false } = {},
): void {
  if (value === undefined) return
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!integer || Number.isSafeInteger(value)) &&
    value >= min &&
    value <= max
  if (ok) return
  const kind = integer ? 'an integer' : 'a number'
  const range =
    max === Number.POSITIVE_INFINITY
      ? min === Number.NEGATIVE_INFINITY
        ? ''
        : ` of at least ${min}`
      : ` in ${min}..${max}`
  throw invalid(field, `must be ${kind}${range}, got ${describeValue(value)}`)
}

/** A string of `minLength..maxLength` characters, matching `pattern` when given. */
export function checkString(
  value: unknown,
  field: string,
  {
    minLength = 1,
    maxLength = Number.POSITIVE_INFINITY,
    pattern = undefined as RegExp | undefined,
    what = '',
  } = {},
): void {
  if (value === undefined) return
  if (typeof value !== 'string')
    throw invalid(field, `must be a string, got ${describeValue(value)}`)
  if (value.length < minLength) throw invalid(field, 'must not be empty')
  if (value.length > maxLength) {
    throw invalid(field, `must be at most ${maxLength} characters, got ${value.length}`)
  }
  if (pattern !== undefined && !pattern.test(value)) {
    throw invalid(field, `must be ${what}, got ${describeValue(value)}`)
  }
}

/**
 * A duration's type (milliseconds, or a string such as `'5m'`); its value is read, and a bad one
 * reported, where it is converted (`toMs`).
 */
export function checkDuration(value: unknown, field: string): void {
  if (value !== undefined && typeof value !== 'number' && typeof value !== 'string') {
    throw invalid(
      field,
      `must be a duration (milliseconds or a string such as "5m"), got ${describeValue(value)}`,
    )
  }
}

/** One of `choices`. */
export function checkChoice(value: unknown, field: string, choices: readonly unknown[]): void {
  if (value !== undefined && !choices.includes(value)) {
    throw invalid(
      field,
      `must be ${choices.map((c) => JSON.stringify(c)).join(' or ')}, got ${describeValue(value)}`,
    )
  }
}

/** An optional integer of at least `min`, `fallback` when left out (the drivers' and the bus's). */
export function integerOption(value: unknown, field: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  checkNumber(value, field, { min, integer: true })
  return value as number
}

export function checkFunction(value: unknown, field: string): void {
  if (value !== undefined && typeof value !== 'function') {
    throw invalid(field, `must be a function, got ${describeValue(value)}`)
  }
}

/** An object with every one of `methods` (a duck-typed collaborator: `what` names it). */
export function checkMethods(
  value: unknown,
  field: string,
  methods: readonly string[],
  what: string,
): void {
  if (value === undefined) return
  const ok =
    typeof value === 'object' &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  if (!ok) throw invalid(field, `must be ${what}, got ${describeValue(value)}`)
}

/** An environment: an object whose values are strings (or `undefined`, an unset variable). */
export function checkEnv(value: unknown, field: string): void {
  if (value === undefined) return
  if (!isRecord(value)) {
    throw invalid(field, `must be an object of strings, got ${describeValue(value)}`)
  }
  for (const [name, text] of Object.entries(value)) {
    if (text !== undefined && typeof text !== 'string') {
      throw invalid(`${field}.${name}`, `must be a string, got ${describeValue(text)}`)
    }
  }
}

/** An option that must be given: `what` says what it must be (`a CacheManager`). */
export function checkRequired(value: unknown, field: string, what: string): void {
  if (value === undefined) throw invalid(field, `must be ${what}, got undefined`)
}
