import { SerializationError } from '../errors.js'

/**
 * How deep a value may nest. msgpackr packs recursively and overflows the stack somewhere past
 * 1,400 levels (less when the caller's own stack is deep, and a `Map` costs two levels); 256 is
 * far beyond any real record and leaves that headroom. Walks also use it to detect cycles for free.
 */
export const MAX_DEPTH = 256

/** How a step along a path reached its child. */
export const PROP = 0
export const INDEX = 1
export const MAP_KEY = 2
export const MAP_VALUE = 3
export const SET_MEMBER = 4
/** Into the data a registered type's `serialize` returned; the step holds the type's name. */
export const SERIALIZED = 5

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/

/**
 * Where a walk is inside a value, kept as raw steps so the happy path never builds a string: a
 * failure renders the exact path (`value.items[2].fn`) only when it throws.
 *
 * Index `d` describes the node at depth `d` (the root is depth 0): `kinds[d]`/`steps[d]` say how
 * it was reached from its parent, `nodes[d]` is the container being walked at that depth.
 */
export class Trail {
  readonly kinds: number[] = []
  readonly steps: unknown[] = []
  readonly nodes: object[] = []
  readonly root: string
  /**
   * True when something added an enumerable property to `Object.prototype`, so that for-in also
   * lists inherited keys and walks must check `Object.hasOwn`. Walks use for-in because it needs
   * no array per object (a fifth faster than `Object.keys` here); an empty for-in costs nanoseconds.
   */
  readonly inheritedKeys: boolean

  constructor(root: string) {
    this.root = root
    this.inheritedKeys = hasEnumerables(Object.prototype)
  }

  /** Records how the child at `depth` is reached; returns `depth` for call-site brevity. */
  at(depth: number, kind: number, step: unknown): number {
    this.kinds[depth] = kind
    this.steps[depth] = step
    return depth
  }

  /** The path of the node at `depth`, e.g. `value.items[2].fn`. */
  path(depth: number): string {
    let out = this.root
    for (let d = 1; d <= depth; d++) {
      const step = this.steps[d]
      switch (this.kinds[d]) {
        case PROP:
          out += IDENTIFIER.test(step as string)
            ? `.${step as string}`
            : `[${JSON.stringify(step)}]`
          break
        case INDEX:
          out += `[${step as number}]`
          break
        case MAP_KEY:
          out += `.keys()[${step as number}]`
          break
        case MAP_VALUE:
          out += mapValueStep(this.nodes[d - 1] as Map<unknown, unknown>, step as number)
          break
        case SET_MEMBER:
          out += `.values()[${step as number}]`
          break
        default:
          out += `<serialized by "${step as string}">`
      }
    }
    return out
  }

  /** Throws a {@link SerializationError} for the node at `depth`. */
  fail(depth: number, reason: string, cause?: unknown): never {
    throw new SerializationError(this.path(depth), reason, cause)
  }

  /**
   * Called when a walk is about to enter `node` deeper than {@link MAX_DEPTH}. Walks keep no set
   * of visited objects (that would cost on every value); a cycle simply nests forever, so this is
   * where it is told apart from a genuinely deep value and reported where it closes.
   */
  tooDeep(depth: number, node: object): never {
    const nodes = this.nodes
    nodes[depth] = node
    for (let j = 1; j <= depth; j++) {
      for (let i = 0; i < j; i++) {
        if (nodes[i] === nodes[j]) {
          this.fail(j, `circular reference (points back to ${this.path(i)})`)
        }
      }
    }
    return this.fail(depth, `nested deeper than ${MAX_DEPTH} levels`)
  }
}

function mapValueStep(map: Map<unknown, unknown>, index: number): string {
  let i = 0
  for (const key of map.keys()) {
    if (i++ !== index) continue
    if (typeof key === 'string') return `.get(${JSON.stringify(key)})`
    if (typeof key === 'bigint') return `.get(${key}n)`
    if (typeof key === 'number' || typeof key === 'boolean' || key == null) {
      return `.get(${String(key)})`
    }
    break
  }
  return `.values()[${index}]`
}

function hasEnumerables(object: object): boolean {
  for (const _key in object) return true
  return false
}

/** Names what kind of object `value` is, for error messages. */
export function describeObject(value: object): string {
  const proto: unknown = Object.getPrototypeOf(value)
  const ctor = (proto as { constructor?: unknown } | null)?.constructor
  const name = typeof ctor === 'function' && ctor.name !== '' ? ctor.name : undefined
  return name === undefined ? 'an object with a custom prototype' : `an instance of ${name}`
}

/** Why an object that is neither plain, native nor registered cannot be cached. */
export function unsupportedReason(value: object): string {
  if (value instanceof Promise) return 'a Promise cannot be cached: await it and cache the result'
  if (value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) {
    return `${describeObject(value)} cannot be cached: its contents cannot be enumerated`
  }
  return (
    `${describeObject(value)} is not supported: cache plain data, or teach the cache this class ` +
    'with registerType({ name, is, serialize, deserialize })'
  )
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
