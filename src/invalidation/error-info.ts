/** A failure as plain, JSON-serialisable data for stats. */
export interface ErrorInfo {
  /** The error's message. */
  message: string
  /** The error's `code`, when it has one. */
  code?: string
  /** Epoch ms. */
  at: number
}

/** Describes `error` for stats; keeps `code` (stratacache's and Node's errors carry one). */
export function errorInfo(error: unknown, at = Date.now()): ErrorInfo {
  const info: ErrorInfo = { message: error instanceof Error ? error.message : String(error), at }
  const code = (error as { code?: unknown } | null | undefined)?.code
  if (typeof code === 'string') info.code = code
  return info
}
