import { assertKey } from '../cache/validate.js'
import { invalid } from '../errors.js'
import {
  type EventEmitterLike,
  errorInfo,
  type InvalidationRule,
  type RuleStats,
} from './invalidation-types.js'

const RULE_FIELDS = new Set(['id', 'pattern', 'triggers', 'dependencies', 'enabled'])
// Keys are checked for type, emptiness and the reserved prefix here; their length against the
// cache's own `maxKeyLength` is checked by the cache when they are deleted.
const ANY_LENGTH = Number.MAX_SAFE_INTEGER

/**
 * Validates a rule and returns a private normalised copy (arrays and RegExp copied), so that the
 * caller mutating its object later changes nothing. Errors name the field: `rule.triggers[1]`.
 */
export function validateRule(rule: unknown): InvalidationRule {
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
    throw invalid('rule', 'must be an object { id, pattern, triggers, dependencies?, enabled }')
  }
  const r = rule as Record<string, unknown>
  for (const field of Object.keys(r)) {
    if (!RULE_FIELDS.has(field)) throw invalid(`rule.${field}`, 'is not a rule field')
  }
  if (typeof r.id !== 'string' || r.id.length === 0) {
    throw invalid('rule.id', 'must be a non-empty string')
  }
  const pattern = r.pattern
  let patternCopy: string | RegExp
  if (pattern instanceof RegExp) patternCopy = new RegExp(pattern.source, pattern.flags)
  else if (typeof pattern === 'string' && pattern.length > 0) patternCopy = pattern
  else throw invalid('rule.pattern', 'must be a non-empty glob string or a RegExp')
  const triggers = r.triggers
  if (!Array.isArray(triggers) || triggers.length === 0) {
    throw invalid('rule.triggers', 'must be a non-empty array of event names')
  }
  triggers.forEach((trigger, i) => {
    if (typeof trigger !== 'string' || trigger.length === 0) {
      throw invalid(`rule.triggers[${i}]`, 'must be a non-empty string')
    }
    // A duplicate would attach two listeners and run the rule twice per event.
    if (triggers.indexOf(trigger) !== i) throw invalid(`rule.triggers[${i}]`, 'is a duplicate')
  })
  let dependencies: string[] | undefined
  if (r.dependencies !== undefined) {
    if (!Array.isArray(r.dependencies)) {
      throw invalid('rule.dependencies', 'must be an array of cache keys')
    }
    r.dependencies.forEach((key, i) => {
      assertKey(key, ANY_LENGTH, `rule.dependencies[${i}]`)
    })
    dependencies = [...new Set(r.dependencies as string[])]
  }
  if (r.enabled !== undefined && typeof r.enabled !== 'boolean') {
    throw invalid('rule.enabled', 'must be a boolean')
  }
  const copy: InvalidationRule = {
    id: r.id,
    pattern: patternCopy,
    triggers: [...(triggers as string[])],
    enabled: r.enabled ?? true,
  }
  if (dependencies !== undefined) copy.dependencies = dependencies
  return copy
}

/** A copy of a rule safe to hand out: mutating it does not reach the registered rule. */
export function copyRule(rule: InvalidationRule): InvalidationRule {
  const copy: InvalidationRule = {
    id: rule.id,
    pattern:
      rule.pattern instanceof RegExp
        ? new RegExp(rule.pattern.source, rule.pattern.flags)
        : rule.pattern,
    triggers: [...rule.triggers],
    enabled: rule.enabled,
  }
  if (rule.dependencies !== undefined) copy.dependencies = [...rule.dependencies]
  return copy
}

type Listener = (...args: unknown[]) => Promise<void> | undefined

interface Registration {
  readonly rule: InvalidationRule
  readonly listeners: [event: string, listener: Listener][]
  /** False once replaced or unregistered: a listener that could not be detached does nothing. */
  live: boolean
  running: Promise<void> | undefined
  queued: Promise<void> | undefined
  readonly stats: RuleStats
}

/** What a rule does when it fires; rejects when the invalidation failed. */
export type RuleAction = (rule: Readonly<InvalidationRule>, event: string) => Promise<void>
/** Where failures go (never thrown into the emitter). */
export type RuleFailure = (error: unknown, rule: Readonly<InvalidationRule>, event: string) => void

/**
 * The registered rules and their listeners on the application's emitter. A rule's handler never
 * throws into `emit`: failures are counted and handed to `onFailure`. Events arriving while the
 * rule runs are coalesced into one more run after it (not one per event), which keeps an event
 * storm from turning into a storm of Redis SCANs while still covering every event: the extra run
 * starts after the last coalesced event was emitted.
 *
 * Handlers return a promise that settles when the invalidation is done (and never rejects), so
 * `await emitter.emitAsync(...)` (EventEmitter2) waits for it.
 */
export class RuleSet {
  readonly #rules = new Map<string, Registration>()
  readonly #inFlight = new Set<Promise<void>>()
  readonly #events: EventEmitterLike | undefined
  readonly #action: RuleAction
  readonly #onFailure: RuleFailure

  constructor(events: EventEmitterLike | undefined, action: RuleAction, onFailure: RuleFailure) {
    this.#events = events
    this.#action = action
    this.#onFailure = onFailure
  }

  /** Validates and registers `rule`, replacing (and detaching) any rule with the same id. */
  register(rule: unknown): void {
    const valid = validateRule(rule)
    const events = this.#events
    if (events === undefined) {
      throw invalid('events', 'rules need an event emitter: pass { events } to CacheInvalidation')
    }
    this.unregister(valid.id)
    const registration: Registration = {
      rule: valid,
      listeners: [],
      live: true,
      running: undefined,
      queued: undefined,
      stats: { runs: 0, failures: 0 },
    }
    const fire = this.#fire.bind(this)
    for (const trigger of valid.triggers) {
      // A regular function: EventEmitter2 passes the concrete event name (for wildcard
      // triggers) as `this.event`.
      const listener: Listener = function (this: unknown) {
        if (!registration.live || !registration.rule.enabled) return undefined
        const event = (this as { event?: unknown } | undefined)?.event
        return fire(registration, typeof event === 'string' ? event : trigger)
      }
      events.on(trigger, listener)
      registration.listeners.push([trigger, listener])
    }
    this.#rules.set(valid.id, registration)
  }

  /** Removes the rule and its listeners. Returns `false` when no rule had that id. */
  unregister(id: string): boolean {
    const registration = this.#rules.get(id)
    if (registration === undefined) return false
    this.#rules.delete(id)
    this.#detach(registration)
    return true
  }

  /**
   * Turns a rule on or off without removing it.
   * @throws `ValidationError` (field `id`) for an unknown id.
   */
  setEnabled(id: string, enabled: boolean): void {
    if (typeof enabled !== 'boolean') throw invalid('enabled', 'must be a boolean')
    const registration = this.#rules.get(id)
    if (registration === undefined) throw invalid('id', `no rule is registered as "${String(id)}"`)
    registration.rule.enabled = enabled
  }

  /** Copies of the registered rules, in registration order. */
  list(): InvalidationRule[] {
    return [...this.#rules.values()].map((r) => copyRule(r.rule))
  }

  /** Counters per rule id. */
  stats(): Record<string, RuleStats> {
    return Object.fromEntries(
      [...this.#rules].map(([id, r]) => [
        id,
        { ...r.stats, ...(r.stats.lastError && { lastError: { ...r.stats.lastError } }) },
      ]),
    )
  }

  /** Resolves once no rule run is in flight, including runs queued meanwhile. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight])
  }

  /** Detaches every listener and waits for runs in flight. */
  async close(): Promise<void> {
    for (const registration of this.#rules.values()) this.#detach(registration)
    this.#rules.clear()
    await this.settled()
  }

  #detach(registration: Registration): void {
    registration.live = false
    const events = this.#events
    const off = events?.off ?? events?.removeListener
    if (typeof off !== 'function') return
    for (const [trigger, listener] of registration.listeners) off.call(events, trigger, listener)
  }

  #fire(registration: Registration, event: string): Promise<void> {
    if (registration.queued !== undefined) return registration.queued
    if (registration.running !== undefined) {
      const queued = registration.running.then(() => {
        registration.queued = undefined
        return this.#start(registration, event)
      })
      registration.queued = queued
      return this.#track(queued)
    }
    return this.#start(registration, event)
  }

  #start(registration: Registration, event: string): Promise<void> {
    // Re-checked here: a queued run may start after the rule was disabled or replaced.
    if (!registration.live || !registration.rule.enabled) return Promise.resolve()
    const { rule, stats } = registration
    stats.runs++
    stats.lastRunAt = Date.now()
    const running = this.#action(rule, event)
      .catch((error: unknown) => {
        stats.failures++
        stats.lastError = errorInfo(error)
        try {
          this.#onFailure(error, rule, event)
        } catch {
          // A throwing 'error' listener must not turn into an unhandled rejection either.
        }
      })
      .finally(() => {
        if (registration.running === running) registration.running = undefined
      })
    registration.running = running
    return this.#track(running)
  }

  #track(promise: Promise<void>): Promise<void> {
    this.#inFlight.add(promise)
    void promise.finally(() => this.#inFlight.delete(promise))
    return promise
  }
}
