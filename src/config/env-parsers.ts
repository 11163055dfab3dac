/**
 * Parsers for environment variables, shared by every `fromEnv` in the library. Each takes
 * `(env, name)` and reads `env[name]` itself, so an error can always name the variable; absent,
 * empty or whitespace-only reads as `undefined` (`.env` files carry `FOO=` placeholders that mean
 * "unset"); anything else that does not parse is a {@link ValidationError} with code
 * `ERR_INVALID_ENV`, `field` = the variable, and a message that quotes the value.
 */
import { ErrorCodes, invalid, type ValidationError } from '../errors.js'

/** The shape of `process.env`; any record of optional strings works (handy in tests). */
export type Env = Readonly<Record<string, string | undefined>>

/** Longest slice of a value quoted in an error message; a pasted certificate need not be echoed whole. */
const MAX_QUOTED = 80

/** Quotes a value for an error message: JSON quoting shows stray whitespace and control characters. */
export function quoteEnvValue(value: string): string {
  const shown = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value
  return JSON.stringify(shown)
}

/**
 * Builds the error every parser throws: code `ERR_INVALID_ENV`, `field` = `name`.
 *
 * @example
 * ```ts
 * throw envError('REDIS_DB', 'must be set together with REDIS_HOST')
 * ```
 */
export function envError(name: string, reason: string): ValidationError {
  return invalid(name, reason, ErrorCodes.INVALID_ENV)
}

/**
 * The variable exactly as set (no trimming), or `undefined` when absent or empty. For secrets such
 * as passwords, where a leading or trailing space may be part of the value.
 */
export function readRaw(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value === '' ? undefined : value
}

/** The variable trimmed, or `undefined` when absent, empty or only whitespace. */
export function readString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim()
  return value === undefined || value === '' ? undefined : value
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on'])
const FALSE_WORDS = new Set(['false', '0', 'no', 'off'])

/**
 * A switch: `true/false`, `1/0`, `yes/no`, `on/off`, case-insensitive, surrounding whitespace
 * ignored. Anything else is an error rather than `false`, so that `ENABLE_X=ture` does not
 * silently turn X off.
 *
 * @example
 * ```ts
 * parseBoolean({ CACHE_ENABLED: 'Off' }, 'CACHE_ENABLED') // false
 * parseBoolean({}, 'CACHE_ENABLED') // undefined
 * ```
 */
export function parseBoolean(env: Env, name: string): boolean | undefined {
  const value = readString(env, name)
  if (value === undefined) return undefined
  const word = value.toLowerCase()
  if (TRUE_WORDS.has(word)) return true
  if (FALSE_WORDS.has(word)) return false
  throw envError(
    name,
    `${quoteEnvValue(value)} is not a boolean (expected true/false, 1/0, yes/no, on/off)`,
  )
}

/** Bounds for {@link parseInteger}; both inclusive. */
export interface IntegerBounds {
  /** Smallest accepted value. Default `0`. */
  min?: number
  /** Largest accepted value. Default `Number.MAX_SAFE_INTEGER`. */
  max?: number
  /** Unit named in error messages, e.g. `ms`, `bytes`. */
  unit?: string
}

/** Plain decimal digits only: no sign, exponent, hex, separators or fraction, which `Number()` would accept. */
const DIGITS = /^\d+$/

/**
 * A base-10 integer within `[min, max]` (default `[0, MAX_SAFE_INTEGER]`). Only plain digits are
 * accepted: `Number('1e3')`, `Number('0x10')` and `parseInt('12abc')` all "work", which is exactly
 * how a typo becomes a surprising setting.
 */
export function parseInteger(
  env: Env,
  name: string,
  bounds: IntegerBounds = {},
): number | undefined {
  const value = readString(env, name)
  if (value === undefined) return undefined
  const min = bounds.min ?? 0
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER
  const unit = bounds.unit === undefined ? '' : ` (${bounds.unit})`
  const range =
    max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`
  const n = DIGITS.test(value) ? Number(value) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw envError(name, `${quoteEnvValue(value)} is not ${range}${unit}`)
  }
  return n
}

/** An integer >= 0 (a count, a size in bytes, a database index). */
export function parseNonNegativeInt(env: Env, name: string, unit?: string): number | undefined {
  return parseInteger(env, name, { min: 0, unit })
}

/** An integer >= 1 (a TTL, a pool size). */
export function parsePositiveInt(env: Env, name: string, unit?: string): number | undefined {
  return parseInteger(env, name, { min: 1, unit })
}

/** A TCP port, 1 to 65535 (0 means "any port" to the OS, never what a client wants to connect to). */
export function parsePort(env: Env, name: string): number | undefined {
  return parseInteger(env, name, { min: 1, max: 65_535, unit: 'TCP port' })
}

/**
 * A whole number of seconds, returned in milliseconds, for the variables given in
 * seconds (`CACHE_DEFAULT_TTL`, `DATABASE_QUERY_CACHE_TTL`, ...). `min` is in seconds, default 1.
 */
export function parseSecondsAsMs(env: Env, name: string, min = 1): number | undefined {
  const seconds = parseInteger(env, name, {
    min,
    max: Math.floor(Number.MAX_SAFE_INTEGER / 1000),
    unit: 'seconds',
  })
  return seconds === undefined ? undefined : seconds * 1000
}

/**
 * The URL with its password replaced by `***`, for error messages: a bad `REDIS_URL` must not put
 * the Redis password into logs.
 */
export function redactUrl(value: string): string {
  const start = value.indexOf('//')
  const at = value.lastIndexOf('@')
  if (start === -1 || at < start) return value
  try {
    const url = new URL(value)
    // Trusted only where the parser ends the userinfo at the same '@': a '/', '?' or '#' in a
    // password (unencoded) ends the authority early, and the password would be read as the host.
    if (url.password !== '' && value.slice(at + 1).startsWith(url.host)) {
      url.password = '***'
      return url.href
    }
  } catch {
    // Not a URL at all: below.
  }
  // Everything up to the last '@' may be userinfo: show nothing of it.
  return `${value.slice(0, start + 2)}***${value.slice(at)}`
}

/** What {@link parseUrl} accepts. */
export interface UrlRules {
  /** Accepted schemes without `:` or `//`, e.g. `['redis', 'rediss']`. Default: any. */
  protocols?: readonly string[]
  /** Reject URLs without a host name (`redis:///0`). Default `true`. */
  requireHost?: boolean
}

/**
 * An absolute URL, returned as written (trimmed), not normalised: `new URL().href` would add a
 * trailing slash to `https://host`, which changes what the user sees in logs for no gain. A
 * password inside the URL is redacted from error messages.
 *
 * @example
 * ```ts
 * parseUrl(process.env, 'REDIS_URL', { protocols: ['redis', 'rediss'] })
 * ```
 */
export function parseUrl(env: Env, name: string, rules: UrlRules = {}): string | undefined {
  const value = readString(env, name)
  if (value === undefined) return undefined
  const schemes = rules.protocols?.map((p) => `${p}://`).join(' or ')
  const expected = schemes === undefined ? 'an absolute URL' : `a ${schemes} URL`
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw envError(name, `${quoteEnvValue(redactUrl(value))} is not ${expected}`)
  }
  if (rules.protocols !== undefined && !rules.protocols.includes(url.protocol.slice(0, -1))) {
    throw envError(name, `${quoteEnvValue(redactUrl(value))} is not ${expected}`)
  }
  if ((rules.requireHost ?? true) && url.hostname === '') {
    throw envError(name, `${quoteEnvValue(redactUrl(value))} has no host (expected ${expected})`)
  }
  return value
}

/**
 * One of a fixed set of words, matched case-insensitively and returned in the spelling of
 * `allowed`, so `CACHE_STRATEGY_QUERIES=Short` reads as `'short'`.
 *
 * @example
 * ```ts
 * parseEnum(process.env, 'CACHE_STRATEGY_QUERIES', ['short', 'medium', 'long'] as const)
 * ```
 */
export function parseEnum<const T extends string>(
  env: Env,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const value = readString(env, name)
  if (value === undefined) return undefined
  const lower = value.toLowerCase()
  const match = allowed.find((a) => a.toLowerCase() === lower)
  if (match !== undefined) return match
  throw envError(name, `${quoteEnvValue(value)} is not one of ${allowed.join(', ')}`)
}

/** A variable and the parser that reads it, for {@link readSpecificOrGeneral}. */
export interface EnvSource<T> {
  /** The variable name. */
  readonly name: string
  /** Reads it; `undefined` when unset. Must already convert to the common unit (e.g. ms). */
  readonly read: (env: Env, name: string) => T | undefined
}

/** Options of {@link readSpecificOrGeneral}. */
export interface SpecificOrGeneralOptions<T> {
  /** When two readings "say the same thing". Default `Object.is`. */
  equals?: (a: T, b: T) => boolean
  /** Keep the values out of the conflict message (passwords, tokens). Default `false`. */
  secret?: boolean
}

/**
 * Reads two variables that mean the same thing (e.g. `CACHE_TTL` in ms and `CACHE_DEFAULT_TTL` in
 * seconds), each with its own reader, and returns the one set. Both set and agreeing gives the
 * specific one's value; disagreeing is an error (`field` = the specific one), not a silent pick:
 * guessing which was meant is how a 10-second TTL becomes 10 hours.
 *
 * @example
 * ```ts
 * const ttlMs = readSpecificOrGeneral(
 *   env,
 *   { name: 'CACHE_TTL', read: parsePositiveInt },
 *   { name: 'CACHE_DEFAULT_TTL', read: parseSecondsAsMs },
 * )
 * ```
 */
export function readSpecificOrGeneral<T>(
  env: Env,
  specific: EnvSource<T>,
  general: EnvSource<T>,
  options: SpecificOrGeneralOptions<T> = {},
): T | undefined {
  const a = specific.read(env, specific.name)
  const b = general.read(env, general.name)
  if (a === undefined) return b
  if (b === undefined) return a
  const equals = options.equals ?? Object.is
  if (equals(a, b)) return a
  const shown = options.secret
    ? ''
    : ` (${specific.name}=${quoteEnvValue(readRaw(env, specific.name) ?? '')}, ${general.name}=${quoteEnvValue(readRaw(env, general.name) ?? '')})`
  throw envError(
    specific.name,
    `conflicts with ${general.name}${shown}: both say the same thing with different values; set only one, or make them agree`,
  )
}

/** One documented environment variable, for generated README tables and `--help` output. */
export interface EnvVariableDoc {
  /** The variable name. */
  readonly name: string
  /** What it does, one sentence. */
  readonly meaning: string
  /** Its unit or kind (`ms`, `seconds`, `bytes`, `boolean`, `URL`...), or `''`. */
  readonly unit: string
  /** What applies when it is not set, in words; `''` when nothing does. */
  readonly default: string
  /** A value to show in examples, if the variable deserves one. */
  readonly example?: string
}

/**
 * Renders variable docs as a Markdown table (`| variable | meaning | unit | default |`), so the
 * README's configuration table is generated from the same list the parser follows.
 */
export function formatEnvTable(variables: readonly EnvVariableDoc[]): string {
  const cell = (s: string) => s.replaceAll('|', '\\|')
  const rows = variables.map(
    (v) =>
      `| \`${v.name}\` | ${cell(v.meaning)} | ${cell(v.unit)} | ${v.default === '' ? '' : cell(v.default)} |`,
  )
  return ['| variable | meaning | unit | default |', '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  )
}

/** Renders variable docs as aligned plain text for a terminal (`--help`). */
export function formatEnvHelp(variables: readonly EnvVariableDoc[]): string {
  const width = Math.max(...variables.map((v) => v.name.length))
  return variables
    .map((v) => {
      const extras = [v.unit, v.default === '' ? '' : `default: ${v.default}`].filter(Boolean)
      const suffix = extras.length === 0 ? '' : ` [${extras.join('; ')}]`
      return `  ${v.name.padEnd(width)}  ${v.meaning}${suffix}`
    })
    .join('\n')
}
