/**
 * Typed errors with stable codes. Callers branch on `error.code`, never on the message:
 * messages may be reworded, codes may not.
 *
 * @example
 * ```ts
 * try {
 *   await cache.set('', 1)
 * } catch (error) {
 *   if (error instanceof StrataCacheError && error.code === 'ERR_INVALID_KEY') { ... }
 * }
 * ```
 */
export const ErrorCodes = {
  /** A key is empty, not a string, or longer than `maxKeyLength`. */
  INVALID_KEY: 'ERR_INVALID_KEY',
  /** A TTL or duration is negative, not a number, or an unparseable string. */
  INVALID_TTL: 'ERR_INVALID_TTL',
  /** A constructor or method option is of the wrong type or out of range. */
  INVALID_OPTION: 'ERR_INVALID_OPTION',
  /** An environment variable has a bad value or conflicts with another one. */
  INVALID_ENV: 'ERR_INVALID_ENV',
  /** A value holds something the codec cannot carry (function, symbol, cycle, unknown class). */
  UNSERIALIZABLE: 'ERR_UNSERIALIZABLE',
  /** A stored value could not be decoded (corrupted, or written by something else). */
  CORRUPTED_VALUE: 'ERR_CORRUPTED_VALUE',
  /** `getOrCompute` waited longer than its `timeout` for the loader. */
  LOADER_TIMEOUT: 'ERR_LOADER_TIMEOUT',
  /** A Redis command did not answer within `redis.commandTimeout`. */
  L2_TIMEOUT: 'ERR_L2_TIMEOUT',
  /** A Redis command failed, or was not sent because the circuit breaker is open. */
  L2_UNAVAILABLE: 'ERR_L2_UNAVAILABLE',
  /** The cache was used after `close()`. */
  CLOSED: 'ERR_CLOSED',
  /** The database did not answer (connection refused, or no answer within the timeout). */
  DATABASE_UNAVAILABLE: 'ERR_DATABASE_UNAVAILABLE',
} as const

/** One of the stable `code` values of {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** Base class of every error stratacache throws or emits. */
export class StrataCacheError extends Error {
  /** Stable machine-readable code, one of {@link ErrorCodes}. */
  readonly code: ErrorCode
  /** The option, argument or environment variable at fault, when there is one. */
  readonly field: string | undefined

  constructor(code: ErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.field = options?.field
  }
}

/** An argument or option failed validation. `field` names it; the message says why. */
export class ValidationError extends StrataCacheError {}

/** A value could not be encoded; `field` is the path inside the value (e.g. `value.items[2].fn`). */
export class SerializationError extends StrataCacheError {
  constructor(path: string, reason: string, cause?: unknown) {
    super(ErrorCodes.UNSERIALIZABLE, `cannot serialize ${path}: ${reason}`, { field: path, cause })
  }
}

/** A value read from a tier could not be decoded. Reads treat it as a miss and count an error. */
export class CorruptedValueError extends StrataCacheError {
  constructor(key: string, reason: string, cause?: unknown) {
    super(ErrorCodes.CORRUPTED_VALUE, `value at key "${key}" is corrupted: ${reason}`, {
      field: key,
      cause,
    })
  }
}

/** `getOrCompute` gave up waiting for its loader. */
export class LoaderTimeoutError extends StrataCacheError {
  constructor(key: string, timeoutMs: number) {
    super(
      ErrorCodes.LOADER_TIMEOUT,
      `loader for key "${key}" did not finish within ${timeoutMs} ms`,
      {
        field: 'timeout',
      },
    )
  }
}

/** An L2 (Redis) operation failed or timed out. Never thrown to callers of read/write methods. */
export class L2Error extends StrataCacheError {
  /** The operation that failed, e.g. `get`, `setBatch`. */
  readonly operation: string
  constructor(
    code: typeof ErrorCodes.L2_TIMEOUT | typeof ErrorCodes.L2_UNAVAILABLE,
    operation: string,
    message: string,
    cause?: unknown,
  ) {
    super(code, `redis ${operation}: ${message}`, { cause })
    this.operation = operation
  }
}

/** The database could not be reached: `ConnectionManager.connect()` when `SELECT 1` fails. */
export class DatabaseUnavailableError extends StrataCacheError {
  constructor(reason: string, cause?: unknown) {
    super(ErrorCodes.DATABASE_UNAVAILABLE, `cannot reach the database: ${reason}`, { cause })
  }
}

/** Builds a {@link ValidationError} for `field` with code `INVALID_OPTION` unless told otherwise. */
export function invalid(
  field: string,
  reason: string,
  code: ErrorCode = ErrorCodes.INVALID_OPTION,
): ValidationError {
  return new ValidationError(code, `${field}: ${reason}`, { field })
}
