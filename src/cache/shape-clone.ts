import { cloneValue } from './clone.js'

/**
 * Clone functions specialised to the shape of one value, for the L1 hit path.
 *
 * A cached value is private and never changes, so its shape (keys, nesting, which fields are
 * Dates or arrays) is known when it enters L1. For that shape we generate, once, a function that
 * copies it with object literals of fixed keys, which V8 builds several times faster than the
 * generic {@link cloneValue} walk (spread, key list, per-key type checks). Values of the same shape
 * share one function (cached by a signature string). Anything unusual (Maps, Sets, binaries,
 * registered types, null-prototype objects, an own `__proto__` key, ragged arrays, deep nesting)
 * is left to `cloneValue` inside the generated code, so the result is always the same as
 * `cloneValue`'s.
 */
export type Cloner = (value: unknown) => unknown

const MAX_SHAPES = 1_000
const MAX_DEPTH = 6
const MAX_KEYS = 64
const cloners = new Map<string, Cloner>()
let disabled = false

interface Shape {
  /** Identifies the shape; equal signatures mean the same generated code. */
  signature: string
  /** A JavaScript expression that copies the value found at `s`, for a given source expression. */
  copy(source: string): string
}

const GENERIC: Shape = { signature: '?', copy: (source) => `g(${source})` }
const PRIMITIVE: Shape = { signature: 'p', copy: (source) => source }
const DATE: Shape = { signature: 'd', copy: (source) => `new Date(${source}.getTime())` }

/**
 * The clone function for `value`'s shape, or `undefined` when the generic clone is as good
 * (primitives, exotic values) or code generation is not available.
 */
export function clonerFor(value: unknown): Cloner | undefined {
  if (disabled || typeof value !== 'object' || value === null) return undefined
  const shape = shapeOf(value, 0)
  if (shape === GENERIC) return undefined
  const found = cloners.get(shape.signature)
  if (found !== undefined || cloners.size >= MAX_SHAPES) return found
  let cloner: Cloner
  try {
    // The code contains only property names as JSON string literals, and fixed syntax.
    cloner = new Function('g', `return function clone(s){return ${shape.copy('s')}}`)(
      cloneValue,
    ) as Cloner
  } catch {
    // Code generation forbidden (e.g. --disallow-code-generation-from-strings): stay generic.
    disabled = true
    return undefined
  }
  cloners.set(shape.signature, cloner)
  return cloner
}

function shapeOf(value: unknown, depth: number): Shape {
  if (typeof value !== 'object' || value === null) return PRIMITIVE
  if (depth >= MAX_DEPTH) return GENERIC
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === Date.prototype) return DATE
  if (proto === Array.prototype) return arrayShape(value as unknown[], depth)
  if (proto === Object.prototype) return objectShape(value as Record<string, unknown>, depth)
  return GENERIC
}

function objectShape(value: Record<string, unknown>, depth: number): Shape {
  const keys = Object.keys(value)
  if (keys.length > MAX_KEYS || keys.includes('__proto__')) return GENERIC
  const fields = keys.map((key) => ({ key, shape: shapeOf(value[key], depth + 1) }))
  const signature = `{${fields.map((f) => `${JSON.stringify(f.key)}:${f.shape.signature}`).join(',')}}`
  return {
    signature,
    copy: (source) =>
      `{${fields.map((f) => `${JSON.stringify(f.key)}:${f.shape.copy(`${source}[${JSON.stringify(f.key)}]`)}`).join(',')}}`,
  }
}

function arrayShape(value: unknown[], depth: number): Shape {
  if (value.length === 0) return { signature: '[]', copy: (source) => `${source}.slice()` }
  let element: Shape | undefined
  for (let i = 0; i < value.length; i++) {
    // Holes would read as undefined here but must stay as cloneValue leaves them.
    if (!(i in value)) return GENERIC
    const shape = shapeOf(value[i], depth + 1)
    if (element === undefined) element = shape
    else if (shape.signature !== element.signature) return GENERIC
  }
  const item = element!
  if (item === PRIMITIVE) return { signature: '[p]', copy: (source) => `${source}.slice()` }
  if (item === GENERIC) return GENERIC
  return {
    signature: `[${item.signature}]`,
    copy: (source) => `${source}.map(function(e){return ${item.copy('e')}})`,
  }
}
