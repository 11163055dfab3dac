/**
 * What caching one read needs: its key, and the tags that let writes find it. A `findUnique` by
 * a unique key is a record read (invalidated by writes to that record); every other read depends
 * on its model as a whole. Both depend on every model reached through relations.
 */
import { canonicalArgs, readKey } from '../keys/canonical-args.js'
import { pinnedKey } from '../keys/record-identity.js'
import type { TagNaming } from '../keys/tags.js'
import type { ModelGraph, ModelNode } from '../schema/model-graph.js'
import { linkedRecords } from './linked-records.js'
import { ReachedModels } from './reached-models.js'

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
 * Aggregations get the `aggregation` strategy (seed 004: counts and stats, 60 s). Compared
 * directly: it runs on every cached read, where a Set lookup costs more.
 */
export function isAggregation(operation: string): boolean {
  return operation === 'count' || operation === 'aggregate' || operation === 'groupBy'
}

const RECORD_READS: ReadonlySet<string> = new Set(['findUnique', 'findUniqueOrThrow'])

export interface ReadPlan {
  readonly key: string
  readonly tags: readonly string[]
  /** A read of one record by a unique key (a miss that finds nothing is not cached). */
  readonly record: boolean
}

/**
 * Key and tags of a read. Throws `UncacheableArgs` for arguments that cannot be named (the call
 * then goes to the database uncached).
 */
export function planRead(
  graph: ModelGraph,
  naming: TagNaming,
  model: ModelNode,
  operation: string,
  args: unknown,
  userTags: readonly string[] | undefined,
): ReadPlan {
  const key = readKey(naming.namespace, model.name, operation, canonicalArgs(args ?? {}))
  const pinned = RECORD_READS.has(operation)
    ? pinnedKey(model, (args as { where?: unknown } | undefined)?.where)
    : undefined
  const linked = pinned === undefined ? undefined : linkedRecords(graph, model, pinned, args)
  const walk = new ReachedModels(graph)
  walk.args(model, args, linked === undefined ? undefined : new Set(linked.keys()))
  const tags =
    pinned === undefined
      ? [naming.model(model.name)]
      : [naming.record(model.name, pinned.identity), naming.allRecords(model.name)]
  for (const child of linked?.values() ?? []) {
    tags.push(naming.record(child.model, child.identity), naming.allRecords(child.model))
  }
  for (const reached of walk.reached) {
    const tag = naming.model(reached)
    if (!tags.includes(tag)) tags.push(tag)
  }
  if (userTags !== undefined) {
    for (const tag of userTags) if (!tags.includes(tag)) tags.push(tag)
  }
  return { key, tags: [...new Set(tags)], record: pinned !== undefined }
}
