/**
 * Runs the writes of a model-based test and counts how they end. A write the database refuses
 * (a unique key taken, a row already deleted, a foreign key, a deliberate rollback) is part of the
 * model: the cache must stay right through it. Anything else is a fault the test would otherwise
 * swallow, and a run whose writes nearly all fail checks the cache against an unchanging
 * database: so the applied ones are counted, and the test asks for enough of them.
 */
export class WriteTally {
  /** Writes that the database applied (committed). */
  applied = 0
  /** Refused writes, by Prisma error code (or the message of a deliberate rollback). */
  readonly refused = new Map<string, number>()

  constructor(
    /** Messages of errors a test throws on purpose (to roll a transaction back). */
    private readonly deliberate: readonly string[] = [],
  ) {}

  /** Runs `write`; rethrows any failure that is not a refusal the model allows. */
  async run(write: () => Promise<unknown>): Promise<void> {
    try {
      await write()
      this.applied++
    } catch (error) {
      const reason = refusal(error, this.deliberate)
      if (reason === undefined) throw error
      this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1)
    }
  }

  /** All writes run so far. */
  get total(): number {
    let n = this.applied
    for (const count of this.refused.values()) n += count
    return n
  }

  toString(): string {
    const refused = [...this.refused].map(([reason, n]) => `${reason} ${n}`).join(', ')
    return `${this.applied} of ${this.total} writes applied (refused: ${refused || 'none'})`
  }
}

/**
 * Why the database refused a write, if it did: a Prisma known-request error (P2xxx: constraint,
 * missing record, raw query failed) or one of the deliberate messages. Undefined otherwise.
 */
function refusal(error: unknown, deliberate: readonly string[]): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^P2\d{3}$/.test(code)) return code
  const message = (error as { message?: unknown } | null)?.message
  if (typeof message === 'string' && deliberate.includes(message)) return message
  return undefined
}
