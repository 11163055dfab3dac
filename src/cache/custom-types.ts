import { invalid } from '../errors.js'

/**
 * How the cache carries instances of a class it does not know natively (for example Prisma's
 * `Decimal`) through L1 copies and the L2 encoding.
 *
 * @typeParam T - the instances this type describes.
 */
export interface CustomType<T> {
  /**
   * Stable identifier written into every L2 entry that holds such a value. Every instance of the
   * application reading the same Redis must register the same name; renaming it makes existing
   * entries unreadable (they are then treated as misses).
   */
  name: string
  /**
   * Recognises an instance. Consulted only for objects that are not plain objects, arrays or a
   * natively supported type (`Date`, `Map`, `Set`, typed arrays, `Buffer`, `RegExp`, `ArrayBuffer`).
   */
  is(value: unknown): value is T
  /** Turns an instance into data the codec can encode itself (strings, numbers, plain objects...). */
  serialize(value: T): unknown
  /** Rebuilds an instance from what {@link CustomType.serialize} returned, after decoding. */
  deserialize(data: unknown): T
  /**
   * Returns an independent copy, used when a value enters the cache and on every L1 hit. Omit it
   * when instances are immutable (decimal.js `Decimal`, Temporal objects): they are then shared.
   */
  clone?(value: T): T
}

/** A registered type with the generic erased, as the codec walks values of unknown type. */
export interface RegisteredType {
  readonly name: string
  readonly is: (value: unknown) => boolean
  readonly serialize: (value: unknown) => unknown
  readonly deserialize: (data: unknown) => unknown
  readonly clone: ((value: unknown) => unknown) | undefined
}

const MAX_NAME_LENGTH = 200

/**
 * Registered types in registration order. Mutated in place so the clone and encode paths can hold
 * a reference and loop over it without a function call; read-only outside this module.
 */
export const registeredTypes: readonly RegisteredType[] = []
const byName = new Map<string, RegisteredType>()

/**
 * Teaches the cache a class it cannot carry natively. The registry is process-wide, because the
 * msgpack extensions that carry the values are; register each type once at start-up, before the
 * first value of that type is cached or read. Registering a name again replaces the earlier one.
 *
 * @throws ValidationError (`ERR_INVALID_OPTION`) when a field is missing or of the wrong type.
 *
 * @example
 * ```ts
 * import { Decimal } from 'decimal.js'
 * import { registerType } from 'stratacache'
 *
 * registerType<Decimal>({
 *   name: 'decimal.js',
 *   is: (value): value is Decimal => Decimal.isDecimal(value),
 *   serialize: (value) => value.toString(),
 *   deserialize: (data) => new Decimal(data as string),
 *   // no clone: Decimal instances are immutable, so they are shared safely
 * })
 * ```
 */
export function registerType<T>(type: CustomType<T>): void {
  if (typeof type !== 'object' || type === null) {
    throw invalid('type', 'must be an object { name, is, serialize, deserialize, clone? }')
  }
  const { name, is, serialize, deserialize, clone } = type
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw invalid(
      'type.name',
      `must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`,
    )
  }
  for (const [field, fn] of [
    ['is', is],
    ['serialize', serialize],
    ['deserialize', deserialize],
  ] as const) {
    if (typeof fn !== 'function')
      throw invalid(`type.${field}`, `must be a function (type "${name}")`)
  }
  if (clone !== undefined && typeof clone !== 'function') {
    throw invalid('type.clone', `must be a function or omitted (type "${name}")`)
  }
  const entry: RegisteredType = {
    name,
    // Bound once here so the hot paths call plain functions, whatever `this` the user's methods use.
    is: is.bind(type),
    serialize: serialize.bind(type) as (value: unknown) => unknown,
    deserialize: deserialize.bind(type),
    clone: clone === undefined ? undefined : (clone.bind(type) as (value: unknown) => unknown),
  }
  const list = registeredTypes as RegisteredType[]
  const previous = byName.get(name)
  if (previous === undefined) list.push(entry)
  else list[list.indexOf(previous)] = entry
  byName.set(name, entry)
}

/** The registered type that recognises `value`, first registered first. */
export function typeOf(value: object): RegisteredType | undefined {
  const list = registeredTypes
  for (let i = 0; i < list.length; i++) {
    const type = list[i]!
    if (type.is(value)) return type
  }
  return undefined
}

/** The registered type called `name`, as written in an L2 entry. */
export function typeNamed(name: string): RegisteredType | undefined {
  return byName.get(name)
}
