/**
 * What a raw query may change. `$queryRaw` and `$executeRaw` (and their `Unsafe` forms) are never
 * cached; one that writes invalidates every cached read of the tables it names, with the models
 * their foreign keys' actions reach given how each table changed (an insert reaches none, an
 * update only `onUpdate` actions on the key columns it sets), and one whose text cannot be read
 * invalidates everything.
 */
import { type RawTable, type RawWriteTargets, rawWriteTargets } from '../raw/raw-sql.js'
import type { ModelGraph, ModelNode } from '../schema/model-graph.js'
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
    // A join table's rows link two models: reads across the link carry both models' tags, and
    // no foreign key references a join table, so touching both is all a write there changes.
    const linkedModels = graph.modelsLinkedBy(table.schema, table.name)
    for (const model of linkedModels) {
      for (const joinTable of graph.model(model)?.joinTables ?? []) {
        if (joinTable.toLowerCase() === table.name.toLowerCase()) {
          effects.linked(joinTable, linkedModels)
        }
      }
    }
    for (const model of graph.modelsOfTable(table.schema, table.name)) {
      effects.unknown(model)
      referentialActions(graph, model, table, effects)
      if (targets.cascade) truncateCascade(graph, model, effects, new Set([model]))
    }
  }
  return effects
}

/** What the foreign keys referencing `model` do to their rows, given how `table` changed. */
function referentialActions(
  graph: ModelGraph,
  model: string,
  table: RawTable,
  effects: WriteEffects,
): void {
  const node = graph.model(model)
  if (node === undefined) return
  switch (table.change) {
    case 'insert':
      // New rows: no foreign key references them yet, so no action fires.
      return
    case 'update':
      updateCascades(graph, model, changedFields(node, table.columns), effects)
      return
    case 'delete':
      deleteCascades(graph, model, effects)
      return
    case 'other':
      // Rows may have been deleted and keys updated: follow both kinds of action.
      deleteCascades(graph, model, effects)
      updateCascades(graph, model, changedFields(node, undefined), effects)
  }
}

/**
 * The fields of `node` whose columns are in `columns`; when `columns` is unknown, every field a
 * foreign key references, as if each had changed. A column of no field is skipped: it is not in
 * the model's table (the server would refuse it) but in a join table, which nothing references.
 */
function changedFields(node: ModelNode, columns: readonly string[] | undefined): string[] {
  if (columns === undefined) return node.referrers.flatMap((ref) => ref.references)
  return columns.flatMap((column) => node.fieldsByColumn.get(column) ?? [])
}

/** `TRUNCATE … CASCADE` empties every table referencing the truncated ones, whatever the action. */
function truncateCascade(
  graph: ModelGraph,
  model: string,
  effects: WriteEffects,
  seen: Set<string>,
) {
  for (const ref of graph.model(model)?.referrers ?? []) {
    effects.unknown(ref.model)
    if (seen.has(ref.model)) continue
    seen.add(ref.model)
    truncateCascade(graph, ref.model, effects, seen)
  }
}
