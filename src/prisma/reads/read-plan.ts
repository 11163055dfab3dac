/**
 * What caching one read needs: its key, the tags its arguments name, and how to load it so that
 * its result names the rest (`row-spec.ts`). See `read-dependencies.ts` for what the tags are.
 */
import { canonicalArgs, readKey } from '../keys/canonical-args.js'
import { pinnedKey } from '../keys/record-identity.js'
import type { TagNaming } from '../keys/tags.js'
import type { ModelGraph, ModelNode } from '../schema/model-graph.js'
import { filterShape, isPlain } from './filter-shape.js'
import { ReadDependencies } from './read-dependencies.js'
import { type RowSpec, resultTags } from './row-spec.js'

/** The read operations the extension caches. */
export const READ_OPERATIONS = [
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
] as const

export type ReadOperation = (typeof READ_OPERATIONS)[number]

/**
 * Aggregations get the `aggregation` strategy (counts and stats, 60 s). Compared directly: it
 * runs on every cached read, where a Set lookup costs more.
 */
export function isAggregation(operation: string): boolean {
  return operation === 'count' || operation === 'aggregate' || operation === 'groupBy'
}

const UNIQUE_READS: ReadonlySet<string> = new Set(['findUnique', 'findUniqueOrThrow'])
const FIRST_READS: ReadonlySet<string> = new Set(['findFirst', 'findFirstOrThrow'])

export interface ReadPlan {
  readonly key: string
  /** The tags the arguments name. */
  readonly tags: readonly string[]
  /** A read of one record by a unique key (a miss that finds nothing is not cached). */
  readonly record: boolean
  /** The arguments to load with (fields that identify rows added where a select left them out). */
  readonly loadArgs: unknown
  /** The tags the loaded value names; removes the fields `loadArgs` added. */
  readonly tagsOf: ((value: unknown) => string[]) | undefined
}

/**
 * The cache key of a read. Throws `UncacheableArgs` for arguments that cannot be named (the call
 * then goes to the database uncached). Custom `tags` are part of it: a read cached under other
 * tags (or none) must not answer one that `$cache.invalidate({ tags })` is expected to reach.
 */
export function readKeyOf(
  naming: TagNaming,
  model: ModelNode,
  operation: string,
  args: unknown,
  read: ReadOptions = {},
): string {
  let text = canonicalArgs(args ?? {})
  const { userTags, path } = read
  if (userTags !== undefined && userTags.length > 0) {
    text += `/tags:${canonicalArgs([...userTags].sort())}`
  }
  if (path !== undefined) text += `/path:${canonicalArgs(path)}`
  return readKey(naming.namespace, model.name, operation, text)
}

/** What else than its arguments names a read. */
export interface ReadOptions {
  /** `cacheStrategy.tags`. */
  readonly userTags?: readonly string[]
  /**
   * The fluent API's path (`findUnique(...).reviews()` selects `reviews` and Prisma hands the
   * query hook the reviews alone): such a read depends on its models as wholes.
   */
  readonly path?: readonly unknown[]
}

/** Key, tags and load of a read (`key` as {@link readKeyOf} makes it). */
export function planRead(
  graph: ModelGraph,
  naming: TagNaming,
  model: ModelNode,
  operation: string,
  args: unknown,
  read: ReadOptions,
  key: string,
): ReadPlan {
  const { userTags, path } = read
  const deps = new ReadDependencies(graph, naming)
  const a = isPlain(args) ? args : {}
  let spec: RowSpec | undefined
  let loadArgs: unknown = args
  const pinned = UNIQUE_READS.has(operation) ? pinnedKey(model, a.where) : undefined
  if (isAggregation(operation)) {
    aggregate(deps, graph, model, operation, a)
  } else {
    const level = UNIQUE_READS.has(operation)
      ? { unique: true, record: pinned }
      : { windowed: FIRST_READS.has(operation) }
    const read = deps.rows(model, a, level)
    spec = read.spec
    loadArgs = read.args === a ? args : read.args
  }
  if (path !== undefined) {
    const tags = [...deps.models].map((name) => naming.model(name))
    for (const tag of userTags ?? []) if (!tags.includes(tag)) tags.push(tag)
    return { key, tags, record: false, loadArgs: args, tagsOf: undefined }
  }
  const tags = [...deps.tags]
  for (const tag of userTags ?? []) if (!deps.tags.has(tag)) tags.push(tag)
  const walk = spec !== undefined && needsWalk(spec) ? spec : undefined
  return {
    key,
    tags,
    record: pinned !== undefined,
    loadArgs,
    tagsOf: walk === undefined ? undefined : (value) => resultTags(walk, value, naming),
  }
}

/** Whether a level or one below it tags rows, links children or strips fields. */
function needsWalk(spec: RowSpec): boolean {
  if (spec.tagRows || spec.added.length > 0) return true
  return spec.children.some(
    (child) => child.link !== undefined || (child.rows && needsWalk(child.rows)),
  )
}

/** Aggregations depend on the rows they count as a whole, and on the fields they compute on. */
function aggregate(
  deps: ReadDependencies,
  graph: ModelGraph,
  node: ModelNode,
  operation: string,
  a: Record<string, unknown>,
): void {
  const fields = new Set<string>()
  const addKeys = (value: unknown) => {
    if (isPlain(value))
      for (const key of Object.keys(value)) if (node.fields.has(key)) fields.add(key)
  }
  if (operation === 'count') addKeys(a.select)
  for (const op of ['_count', '_sum', '_avg', '_min', '_max']) addKeys(a[op])
  for (const field of [a.by].flat()) if (typeof field === 'string') fields.add(field)
  for (const field of filterShape(graph, node, a.having).fields) fields.add(field)
  for (const entry of [a.orderBy].flat()) {
    if (!isPlain(entry)) continue
    for (const [key, value] of Object.entries(entry)) {
      if (node.fields.has(key)) fields.add(key)
      else addKeys(value)
    }
  }
  const shape = filterShape(graph, node, a.where)
  const windowed = a.take !== undefined || a.skip !== undefined || isPlain(a.cursor)
  if (windowed && a.orderBy === undefined) shape.opaque = true
  deps.set(node, shape, undefined, fields)
}
