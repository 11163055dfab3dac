/**
 * What a raw query may change. `$queryRaw` and `$executeRaw` (and their `Unsafe` forms) are never
 * cached; one that writes invalidates every cached read of the tables it names (with the models
 * their foreign keys cascade to), and one whose text cannot be read invalidates everything.
 */
import { type RawWriteTargets, rawWriteTargets } from '../raw-sql.js'
import type { ModelGraph } from '../schema/model-graph.js'
import { deleteCascades, updateCascades } from './cascades.js'
import { WriteEffects } from './write-effects.js'

/** The raw operations, as Prisma's query hook names them. */
export const RAW_OPERATIONS: ReadonlySet<string> = new Set([
  '$executeRaw',
  '$executeRawUnsafe',
  '$queryRaw',
  '$queryRawUnsafe',
  '$queryRawTyped',
])

/**
 * The SQL text of a raw call's arguments: `[sql, ...params]` for the `Unsafe` forms, a template
 * (`{ strings, values }`) or `Prisma.sql` object otherwise, `{ sql }` for TypedSQL.
 */
export function rawSqlText(args: unknown): string | undefined {
  if (Array.isArray(args)) return typeof args[0] === 'string' ? args[0] : undefined
  if (typeof args !== 'object' || args === null) return undefined
  const { sql, strings } = args as { sql?: unknown; strings?: unknown }
  if (typeof sql === 'string') return sql
  if (Array.isArray(strings) && strings.every((s) => typeof s === 'string')) {
    return strings.reduce(
      (text: string, part: string, i: number) => (i === 0 ? part : `${text}$${i}${part}`),
      '',
    )
  }
  return undefined
}

/** The effects of one raw call. */
export function rawWriteEffects(graph: ModelGraph, args: unknown): WriteEffects {
  const effects = new WriteEffects()
  const sql = rawSqlText(args)
  const targets: RawWriteTargets = sql === undefined ? { kind: 'unknown' } : rawWriteTargets(sql)
  if (targets.kind === 'read') return effects
  if (targets.kind === 'unknown') return effects.everything()
  for (const table of targets.tables) {
    for (const model of graph.modelsOfTable(table.schema, table.name)) {
      effects.allRecords(model)
      // Whether rows were deleted or keys updated is not known: follow both kinds of action.
      deleteCascades(graph, model, effects)
      const node = graph.model(model)
      if (node !== undefined) {
        const referenced = node.referrers.flatMap((ref) => ref.references)
        updateCascades(graph, model, referenced, effects)
      }
      if (targets.cascade) truncateCascade(graph, model, effects, new Set([model]))
    }
  }
  return effects
}

/** `TRUNCATE … CASCADE` empties every table referencing the truncated ones, whatever the action. */
function truncateCascade(
  graph: ModelGraph,
  model: string,
  effects: WriteEffects,
  seen: Set<string>,
) {
  for (const ref of graph.model(model)?.referrers ?? []) {
    effects.allRecords(ref.model)
    if (seen.has(ref.model)) continue
    seen.add(ref.model)
    truncateCascade(graph, ref.model, effects, seen)
  }
}
