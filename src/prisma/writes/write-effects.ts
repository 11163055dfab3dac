/**
 * What a write may have changed, per model: nothing but its lists (a create), some records named
 * by their identities, or records it cannot name. Turned into the tags to invalidate once the
 * write has committed.
 */
import type { TagNaming } from '../keys/tags.js'

const ALL = 'all' as const

export class WriteEffects {
  /** Per model: the identities of the records changed, or `ALL` when they cannot be named. */
  readonly #models = new Map<string, Set<string> | typeof ALL>()
  /** Set by a raw statement the extension cannot read: every cached read must go. */
  #everything = false

  /** Lists, counts and aggregates of `model` may have changed; no record anyone read did. */
  touch(model: string): this {
    if (!this.#models.has(model)) this.#models.set(model, new Set())
    return this
  }

  /** These records of `model` changed (identities as in `record-identity.ts`). */
  records(model: string, identities: Iterable<string>): this {
    const known = this.#models.get(model)
    if (known === ALL) return this
    const set = known ?? new Set<string>()
    for (const identity of identities) set.add(identity)
    this.#models.set(model, set)
    return this
  }

  /** Records of `model` changed and which ones is not known. */
  allRecords(model: string): this {
    this.#models.set(model, ALL)
    return this
  }

  /** Anything may have changed (raw SQL the extension cannot read). */
  everything(): this {
    this.#everything = true
    return this
  }

  get isEverything(): boolean {
    return this.#everything
  }

  get isEmpty(): boolean {
    return !this.#everything && this.#models.size === 0
  }

  /** Adds what `other` changed. */
  merge(other: WriteEffects): this {
    if (other.#everything) this.#everything = true
    for (const [model, records] of other.#models) {
      if (records === ALL) this.allRecords(model)
      else this.records(model, records)
    }
    return this
  }

  /** The models touched, for metrics and events. */
  models(): string[] {
    return [...this.#models.keys()]
  }

  /**
   * The tags to invalidate: each model's tag, plus its record tags or its all-records tag. For
   * `everything`, the caller passes every model of the schema.
   */
  tags(naming: TagNaming, allModels: () => Iterable<string>): string[] {
    const tags: string[] = []
    if (this.#everything) {
      for (const model of allModels()) tags.push(naming.model(model), naming.allRecords(model))
      return tags
    }
    for (const [model, records] of this.#models) {
      tags.push(naming.model(model))
      if (records === ALL) tags.push(naming.allRecords(model))
      else for (const identity of records) tags.push(naming.record(model, identity))
    }
    return tags
  }
}
