/**
 * Row changes read from PostgreSQL (logical replication or the notify triggers), turned into the
 * same {@link WriteEffects} the extension makes for its own writes: tables map to models through
 * the schema (`@@map`, `@map`, `@@schema`), column texts to field values, and each transaction's
 * changes add up to one set of effects, invalidated once at its commit.
 *
 * What a change says depends on the table's replica identity:
 * - `FULL` (and the notify triggers): the old row and the new one, so an update names exactly
 *   the fields it changed and every key the row was read by, before and after.
 * - `DEFAULT` (the primary key): inserts carry the row, but an update carries the new row only
 *   (the old key too when it changed) and a delete the key only. An update then counts as
 *   changing every field: it reaches every list read of the model, and when the model has unique
 *   keys besides the primary key, the reads of any row by key.
 */
import { identitiesOfRecord } from '../keys/record-identity.js'
import type { DmmfField } from '../schema/dmmf.js'
import type { ModelGraph, ModelNode } from '../schema/model-graph.js'
import { type RowValues, WriteEffects } from '../writes/write-effects.js'

/** A table, as PostgreSQL names it: always with its schema. */
export interface TableName {
  readonly schema: string
  readonly table: string
}

/**
 * One changed row. Column values are PostgreSQL's text forms; `undefined` where the change does
 * not carry the column (a key-only old row, an unchanged TOASTed value), `null` for NULL.
 */
export interface RowChange extends TableName {
  readonly kind: 'insert' | 'update' | 'delete'
  readonly new?: Readonly<Record<string, string | null | undefined>>
  readonly old?: Readonly<Record<string, string | null | undefined>>
  /** `old` holds every column (replica identity `FULL`, or the triggers' images). */
  readonly oldComplete: boolean
  /** The replica identity's columns (the primary key), which a key-only `old` holds. */
  readonly keyColumns?: readonly string[]
}

/** The models and join tables of one schema, by the tables PostgreSQL names. */
export class TableMap {
  readonly #models = new Map<string, ModelNode[]>()
  readonly #joinTables = new Map<string, { table: string; models: string[] }>()

  /**
   * @param defaultSchema The schema of models without `@@schema` (the connection's search path,
   *   `public` unless the URL's `?schema=` says otherwise).
   */
  constructor(graph: ModelGraph, defaultSchema: string) {
    for (const node of graph.models()) {
      const schema = node.schema ?? defaultSchema
      const key = `${schema}.${node.table}`
      this.#models.set(key, [...(this.#models.get(key) ?? []), node])
      for (const table of node.joinTables) {
        const entry = this.#joinTables.get(`${schema}.${table}`) ?? { table, models: [] }
        entry.models.push(node.name)
        this.#joinTables.set(`${schema}.${table}`, entry)
      }
    }
  }

  /** Every table the schema's models and join tables live in (what the feed listens to). */
  tables(): TableName[] {
    return [...this.#models.keys(), ...this.#joinTables.keys()].map(splitName)
  }

  models(name: TableName): readonly ModelNode[] {
    return this.#models.get(`${name.schema}.${name.table}`) ?? []
  }

  joinTable(name: TableName): { table: string; models: string[] } | undefined {
    return this.#joinTables.get(`${name.schema}.${name.table}`)
  }
}

function splitName(key: string): TableName {
  const dot = key.indexOf('.')
  return { schema: key.slice(0, dot), table: key.slice(dot + 1) }
}

/**
 * The effects of the changes of one transaction, or of several committed in a burst (invalidated
 * together, the consumer keeps pace with the database). Past `maxRowsPerModel` changed rows of
 * one model, the model counts as changed as a whole (one tag pair instead of tags per row),
 * which bounds both memory and the size of the invalidation a bulk load makes.
 */
export class ChangeSet {
  readonly effects = new WriteEffects()
  /** Rows changed, whole-model changes (truncates, bulk ones) counting one. */
  rows = 0
  /** Committed transactions whose changes this set holds (several, when they came in a burst). */
  transactions = 0
  /** The first of those commits' time (epoch ms), for the lag. */
  committedAt: number | undefined
  readonly #map: TableMap
  readonly #maxRowsPerModel: number
  readonly #counts = new Map<string, number>()

  constructor(map: TableMap, maxRowsPerModel: number) {
    this.#map = map
    this.#maxRowsPerModel = maxRowsPerModel
  }

  get isEmpty(): boolean {
    return this.effects.isEmpty
  }

  /** A transaction whose rows were added ended with its commit, at `at` (epoch ms) if known. */
  committed(at: number | undefined): void {
    this.transactions++
    this.committedAt ??= at
  }

  /** Adds a changed row; rows of tables outside the schema are ignored. */
  row(change: RowChange): void {
    const link = this.#map.joinTable(change)
    if (link !== undefined) {
      this.rows++
      this.effects.linked(link.table, link.models)
      return
    }
    for (const node of this.#map.models(change)) {
      this.rows++
      const count = (this.#counts.get(node.name) ?? 0) + 1
      this.#counts.set(node.name, count)
      if (count > this.#maxRowsPerModel) {
        if (count === this.#maxRowsPerModel + 1) this.effects.unknown(node.name)
        continue
      }
      rowEffects(node, change, this.effects)
    }
  }

  /** Tables were emptied (`TRUNCATE`; a cascade lists every table it reached). */
  truncated(tables: readonly TableName[]): void {
    for (const name of tables) {
      const link = this.#map.joinTable(name)
      const models = this.#map.models(name)
      if (link !== undefined) this.effects.linked(link.table, link.models)
      for (const node of models) this.effects.unknown(node.name)
      if (link !== undefined || models.length > 0) this.rows++
    }
  }
}

/** What one row change of `node`'s table did, in the extension's terms. */
function rowEffects(node: ModelNode, change: RowChange, effects: WriteEffects): void {
  const model = node.name
  switch (change.kind) {
    case 'insert':
      effects.created(model, [rowValues(node, change.new)])
      return
    case 'delete': {
      const old = rowValues(node, change.old)
      effects.deleted(model, identitiesOfRecord(node, old), [old])
      return
    }
    case 'update': {
      const after = rowValues(node, change.new)
      if (change.oldComplete) {
        const before = rowValues(node, change.old)
        const fields = changedFields(node, change)
        const identities = union(identitiesOfRecord(node, before), identitiesOfRecord(node, after))
        effects.updated(model, identities, fields, [after])
        return
      }
      // Only the key is known of the old row: when it did not change, it is in the new row.
      const oldKey = rowValues(node, change.old ?? pick(change.new, change.keyColumns))
      const identities = union(identitiesOfRecord(node, oldKey), identitiesOfRecord(node, after))
      effects.updated(model, identities, node.scalars, [after])
    }
  }
}

/** The fields whose columns differ between the old and the new row. */
function changedFields(node: ModelNode, change: RowChange): string[] {
  const fields: string[] = []
  for (const [column, field] of node.fieldsByColumn) {
    const after = change.new?.[column]
    // An unchanged TOASTed value is not sent again: it did not change.
    if (after !== undefined && after !== change.old?.[column]) fields.push(field)
  }
  return fields
}

function pick(
  row: RowChange['new'],
  columns: readonly string[] | undefined,
): Record<string, string | null | undefined> {
  const picked: Record<string, string | null | undefined> = {}
  for (const column of columns ?? []) picked[column] = row?.[column]
  return picked
}

function union(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (a === undefined || b === undefined) return undefined
  return [...new Set([...a, ...b])]
}

/** A row's field values, from its columns' texts; a column the change lacks is left out. */
export function rowValues(node: ModelNode, columns: RowChange['new']): RowValues {
  const row: Record<string, unknown> = {}
  if (columns === undefined) return row
  for (const [column, field] of node.fieldsByColumn) {
    const text = columns[column]
    if (text === undefined) continue
    const value = text === null ? null : fieldValue(node.fields.get(field), text)
    if (value !== undefined) row[field] = value
  }
  return row
}

const INTEGER = /^-?\d+$/

/**
 * The value of `field` that PostgreSQL's text `text` stands for, as Prisma would return it (what
 * identities and value tags are made of), or `undefined` for a type they never name (lists, JSON)
 * or a text that does not parse. Booleans and date-times come as `t` / `2026-01-02 03:04:05.678`
 * from replication and as `true` / `2026-01-02T03:04:05.678` from `to_jsonb`; both are read.
 */
export function fieldValue(field: DmmfField | undefined, text: string): unknown {
  if (field === undefined || field.isList) return undefined
  switch (field.type) {
    case 'Int':
    case 'Float': {
      const value = Number(text)
      return text.trim() === '' || Number.isNaN(value) ? undefined : value
    }
    case 'BigInt':
      return INTEGER.test(text) ? BigInt(text) : undefined
    case 'Decimal':
      return text
    case 'Boolean':
      return text === 't' || text === 'true'
        ? true
        : text === 'f' || text === 'false'
          ? false
          : undefined
    case 'DateTime':
      return dateOf(text)
    case 'Bytes':
      return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex') : undefined
    case 'String':
      return text
    default:
      return field.kind === 'enum' ? text : undefined
  }
}

const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2}(?::?\d{2})?)?)?$/

/**
 * A `date`, `timestamp` or `timestamptz` text as a `Date`. A timestamp without a zone is UTC, as
 * Prisma writes it; `infinity` and years past 9999 are not dates Prisma returns.
 */
function dateOf(text: string): Date | undefined {
  const match = DATE_TIME.exec(text)
  if (match === null) return undefined
  const [, day, time = '00:00:00', zone] = match
  const offset = zone === undefined ? 'Z' : zone.length === 3 ? `${zone}:00` : zone
  const date = new Date(`${day}T${time}${offset}`)
  return Number.isNaN(date.getTime()) ? undefined : date
}
