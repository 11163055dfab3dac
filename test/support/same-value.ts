/**
 * Exact structural comparison for codec tests. Vitest's `toStrictEqual` is close but not exact
 * enough here: it treats two invalid Dates as different and does not check key order, `-0`, or
 * whether a binary is a `Buffer` or a plain `Uint8Array` in every position.
 */

export interface SameOptions {
  /** Accept a null-prototype object (or an array hole) where the copy has a plain object (or `undefined`). */
  canonicalised?: boolean
}

/** Throws an error naming the first path where `actual` and `expected` differ. */
export function expectSame(
  actual: unknown,
  expected: unknown,
  options: SameOptions = {},
  path = 'value',
): void {
  const fail = (reason: string): never => {
    throw new Error(`${path}: ${reason}`)
  }
  if (typeof actual !== typeof expected) {
    fail(`type ${typeof actual} !== ${typeof expected}`)
  }
  if (typeof expected !== 'object' || expected === null) {
    if (!Object.is(actual, expected)) fail(`${show(actual)} is not ${show(expected)}`)
    return
  }
  if (actual === null) fail('null instead of an object')
  const a = actual as object
  const e = expected as object
  const aProto: unknown = Object.getPrototypeOf(a)
  const eProto: unknown = Object.getPrototypeOf(e)
  const lenientProto =
    options.canonicalised === true && eProto === null && aProto === Object.prototype
  if (aProto !== eProto && !lenientProto) {
    fail(`prototype ${protoName(aProto)} !== ${protoName(eProto)}`)
  }
  if (Array.isArray(e)) {
    const arr = a as unknown[]
    if (arr.length !== e.length) fail(`length ${arr.length} !== ${e.length}`)
    for (let i = 0; i < e.length; i++) {
      if (!(i in arr)) fail(`hole at [${i}]`)
      if (!(i in e) && !options.canonicalised) fail(`expected a hole at [${i}]`)
      expectSame(arr[i], e[i], options, `${path}[${i}]`)
    }
    return
  }
  if (e instanceof Date) {
    if (!Object.is((a as Date).getTime(), e.getTime())) fail(`Date ${String(a)} !== ${String(e)}`)
    return
  }
  if (e instanceof RegExp) {
    const r = a as RegExp
    if (r.source !== e.source || r.flags !== e.flags) fail(`${String(r)} !== ${String(e)}`)
    return
  }
  if (e instanceof Map) {
    const m = a as Map<unknown, unknown>
    if (m.size !== e.size) fail(`Map size ${m.size} !== ${e.size}`)
    const aEntries = [...m]
    const eEntries = [...e]
    for (let i = 0; i < eEntries.length; i++) {
      expectSame(aEntries[i]![0], eEntries[i]![0], options, `${path}.keys()[${i}]`)
      expectSame(aEntries[i]![1], eEntries[i]![1], options, `${path}.values()[${i}]`)
    }
    return
  }
  if (e instanceof Set) {
    const s = a as Set<unknown>
    if (s.size !== e.size) fail(`Set size ${s.size} !== ${e.size}`)
    const aMembers = [...s]
    const eMembers = [...e]
    for (let i = 0; i < eMembers.length; i++) {
      expectSame(aMembers[i], eMembers[i], options, `${path}.values()[${i}]`)
    }
    return
  }
  if (ArrayBuffer.isView(e) || e instanceof ArrayBuffer) {
    if (!Buffer.from(bytesOf(a)).equals(Buffer.from(bytesOf(e)))) fail('binary contents differ')
    return
  }
  const aKeys = Object.keys(a)
  const eKeys = Object.keys(e)
  if (aKeys.join('\u0000') !== eKeys.join('\u0000')) {
    fail(`keys [${aKeys.map(show)}] !== [${eKeys.map(show)}]`)
  }
  for (const key of eKeys) {
    expectSame(
      (a as Record<string, unknown>)[key],
      (e as Record<string, unknown>)[key],
      options,
      `${path}[${show(key)}]`,
    )
  }
}

/**
 * Throws if `b` holds any mutable object (or binary memory) that `a` also holds, except instances
 * for which `shared` says sharing is fine (immutable registered types).
 */
export function expectNoSharedReferences(
  a: unknown,
  b: unknown,
  shared: (value: object) => boolean = () => false,
): void {
  const objects = new Set<object>()
  const regions: { buffer: ArrayBufferLike; start: number; end: number }[] = []
  walk(a, (value) => {
    objects.add(value)
    if (ArrayBuffer.isView(value)) {
      regions.push({
        buffer: value.buffer,
        start: value.byteOffset,
        end: value.byteOffset + value.byteLength,
      })
    }
  })
  walk(b, (value) => {
    if (shared(value)) return
    if (objects.has(value)) throw new Error(`shared reference: ${describe(value)}`)
    if (ArrayBuffer.isView(value)) {
      const start = value.byteOffset
      const end = start + value.byteLength
      for (const region of regions) {
        if (region.buffer === value.buffer && start < region.end && region.start < end) {
          throw new Error(`shared binary memory: ${describe(value)}`)
        }
      }
    }
  })
}

function walk(value: unknown, visit: (value: object) => void, seen = new Set<object>()): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return
  seen.add(value)
  visit(value)
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return
  if (value instanceof Map) {
    for (const [k, v] of value) {
      walk(k, visit, seen)
      walk(v, visit, seen)
    }
  } else if (value instanceof Set) {
    for (const member of value) walk(member, visit, seen)
  } else {
    for (const key of Object.keys(value)) walk((value as Record<string, unknown>)[key], visit, seen)
  }
}

function bytesOf(value: object): Uint8Array {
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  const view = value as ArrayBufferView
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
}

function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'string') return JSON.stringify(value)
  if (Object.is(value, -0)) return '-0'
  return String(value)
}

function protoName(proto: unknown): string {
  if (proto === null) return 'null'
  const ctor = (proto as { constructor?: { name?: string } }).constructor
  return ctor?.name ?? 'anonymous'
}

function describe(value: object): string {
  return `${protoName(Object.getPrototypeOf(value))} ${String(value).slice(0, 40)}`
}
