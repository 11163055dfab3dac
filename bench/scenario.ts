/** What a scenario file exports: candidates that the runner builds, checks, measures and closes. */

export interface CandidateInstance {
  /**
   * One call; its resolved value is checked once before measuring (see {@link Scenario.expect}).
   * A thenable is fine: Prisma's queries are awaited as they are, as their callers do.
   */
  run(): PromiseLike<unknown>
  /**
   * Reads the value of one fixed key, for the semantic probes: does a `Date` come back as a
   * `Date`, and does mutating a value read change what the next reader sees?
   */
  read?(): Promise<unknown>
  /** Facts reported next to the timings, e.g. loader calls during a hit benchmark (expect 0). */
  facts?(): Record<string, number | string | boolean>
  close?(): Promise<void>
}

export interface CandidateSpec {
  name: string
  /** `baseline`: the floor a target names; `subject`: stratacache; `peer`: another library. */
  kind: 'baseline' | 'subject' | 'peer'
  /** Ops reported per call, e.g. 100 for a `Promise.all` of 100 gets. Default 1. */
  opsPerCall?: number
  note?: string
  /** Builds and preloads the candidate. May throw: the candidate is then reported as failed. */
  init(ctx: ScenarioContext): Promise<CandidateInstance>
}

export interface ScenarioContext {
  /** The Redis prefix for one candidate of this scenario, under `stratabench:<scenario id>:`. */
  prefix(candidate: string): string
}

export interface Scenario {
  /** Stable id, used by the filter, the JSON output and the Redis prefix, e.g. `l2-get`. */
  id: string
  /** The file group (`l1-hit`, `l2-hit`, `batch`, `miss`), also matched by the filter. */
  group: string
  title: string
  /** What one op is, e.g. `per get`, `per getBatch of 100 keys`. */
  unit: string
  /** Candidate names that get a "x time of ..." column (the first one sorts nothing, just labels). */
  ratioTo: string[]
  /**
   * What `run()` must resolve to: one row, or an array of 100 rows (of the `ROW` fixture), or
   * whatever this function accepts (it throws, saying why, on a wrong value).
   */
  expect: 'row' | 'rows' | ((value: unknown) => void)
  /** Whether the scenario needs Redis (it is skipped with a message when Redis is down). */
  needsRedis: boolean
  notes?: string[]
  /** Print each ratio with the overhead it means (`1.06x (+6.0%)`), e.g. for writes. */
  showOverhead?: boolean
  candidates: CandidateSpec[]
}

/**
 * A performance target, checked on the medians of two candidates of one scenario.
 * `max-ratio`: time(subject) / time(against) <= limit. `min-speedup`: time(against) /
 * time(subject) >= limit.
 */
export interface Target {
  label: string
  scenario: string
  subject: string
  against: string
  kind: 'max-ratio' | 'min-speedup'
  limit: number
  /** Not a target: a like-for-like reading printed next to one (result "info"). */
  informational?: boolean
}

/** A measurement that runs once (not sample by sample) and prints its own table. */
export interface Study {
  id: string
  group: string
  title: string
  needsRedis: boolean
  run(ctx: {
    quick: boolean
    prefix: string
    log(message: string): void
  }): Promise<{ text: string; data: unknown }>
}

/** Cycles through `items` forever. */
export function cycle<T>(items: readonly T[]): () => T {
  let i = 0
  const n = items.length
  return () => {
    const item = items[i]!
    i = i + 1 === n ? 0 : i + 1
    return item
  }
}

/** A loader that counts its calls. */
export function countingLoader<T>(value: T): { load: () => Promise<T>; calls: () => number } {
  let calls = 0
  return {
    load: async () => {
      calls++
      return value
    },
    calls: () => calls,
  }
}
