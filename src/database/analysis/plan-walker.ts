/**
 * Reading PostgreSQL's JSON plans (`EXPLAIN (FORMAT JSON, VERBOSE)`): the node tree, a flat
 * summary of it, and the columns a node's filter or sort key names.
 */

/** One node of a JSON plan, as PostgreSQL writes it (only the keys read here are typed). */
export interface PlanNode {
  /** The operation: `Seq Scan`, `Index Scan`, `Sort`, `Hash Join`... */
  readonly 'Node Type': string
  /** The table a scan reads. */
  readonly 'Relation Name'?: string
  /** The relation's schema (written with `VERBOSE`). */
  readonly Schema?: string
  /** The table's alias in the statement. */
  readonly Alias?: string
  /** The index an index scan uses. */
  readonly 'Index Name'?: string
  /** `Forward` or `Backward`, for index scans. */
  readonly 'Scan Direction'?: string
  /** The planner's cost before the first row. */
  readonly 'Startup Cost': number
  /** The planner's cost for all rows. */
  readonly 'Total Cost': number
  /** Rows the planner expects. */
  readonly 'Plan Rows': number
  /** Rows produced per loop (with `ANALYZE`). */
  readonly 'Actual Rows'?: number
  /** Times the node ran (with `ANALYZE`). */
  readonly 'Actual Loops'?: number
  /** Time per loop until the last row, ms (with `ANALYZE`). */
  readonly 'Actual Total Time'?: number
  /** The condition applied to each row read. */
  readonly Filter?: string
  /** Rows the filter threw away per loop (with `ANALYZE`). */
  readonly 'Rows Removed by Filter'?: number
  /** The condition the index answers. */
  readonly 'Index Cond'?: string
  /** The sort's columns and directions. */
  readonly 'Sort Key'?: readonly string[]
  /** Blocks found in shared buffers (with `BUFFERS`). */
  readonly 'Shared Hit Blocks'?: number
  /** Blocks read from disk (with `BUFFERS`). */
  readonly 'Shared Read Blocks'?: number
  /** The child nodes. */
  readonly Plans?: readonly PlanNode[]
}

/** The top of a JSON plan: the root node and, with `ANALYZE`, the times. */
export interface ExplainOutput {
  /** The root node. */
  readonly Plan: PlanNode
  /** Planning time, ms. */
  readonly 'Planning Time'?: number
  /** Execution time, ms (with `ANALYZE`). */
  readonly 'Execution Time'?: number
}

/** One plan node, flattened: what a reader scans for first. */
export interface PlanNodeSummary {
  /** `Seq Scan`, `Index Scan`, `Sort`, `Hash Join`... */
  nodeType: string
  /** Nesting level, 0 for the root. */
  depth: number
  /** The table scanned, for scan nodes. */
  relation: string | undefined
  /** The index used, for index scans. */
  index: string | undefined
  /** Rows the node produced over all its loops (actual with `ANALYZE`, else estimated). */
  rows: number
  /** The planner's total cost of the node. */
  totalCost: number
  /** Rows a filter threw away (over all loops), with `ANALYZE`. */
  rowsRemovedByFilter: number | undefined
  /** The node's filter condition. */
  filter: string | undefined
  /** The sort's columns, for sort nodes. */
  sortKey: readonly string[] | undefined
}

/** A node with the nodes above it, nearest first. */
export interface NodeVisit {
  readonly node: PlanNode
  readonly ancestors: readonly PlanNode[]
}

/**
 * Every node of the tree under `root` (itself included), depth first, with its ancestors.
 *
 * @example
 * ```ts
 * for (const { node, ancestors } of walkPlan(output.Plan)) console.log(node['Node Type'], ancestors.length)
 * ```
 */
export function* walkPlan(root: PlanNode): Generator<NodeVisit> {
  const stack: NodeVisit[] = [{ node: root, ancestors: [] }]
  while (stack.length > 0) {
    const visit = stack.pop() as NodeVisit
    yield visit
    const children = visit.node.Plans ?? []
    const ancestors = [visit.node, ...visit.ancestors]
    for (let i = children.length - 1; i >= 0; i--) {
      stack.push({ node: children[i] as PlanNode, ancestors })
    }
  }
}

/** Loops a node ran (1 without `ANALYZE`). */
function loopsOf(node: PlanNode): number {
  return node['Actual Loops'] ?? 1
}

/**
 * Rows `node` produced over all its loops: actual with `ANALYZE` (PostgreSQL reports a per-loop
 * average), else the planner's estimate.
 *
 * @example
 * ```ts
 * rowsOf(seqScan) // 12
 * ```
 */
export function rowsOf(node: PlanNode): number {
  const actual = node['Actual Rows']
  return actual === undefined ? node['Plan Rows'] : actual * loopsOf(node)
}

/**
 * Rows a scan read: those it produced plus those its filter removed (actual, over all loops), or
 * `undefined` without `ANALYZE`.
 *
 * @example
 * ```ts
 * rowsRead(seqScan) // 30000
 * ```
 */
export function rowsRead(node: PlanNode): number | undefined {
  const actual = node['Actual Rows']
  if (actual === undefined) return undefined
  return (actual + (node['Rows Removed by Filter'] ?? 0)) * loopsOf(node)
}

/**
 * The tree as a flat list, root first.
 *
 * @example
 * ```ts
 * summarizePlan(output.Plan).map((n) => n.nodeType) // ['Limit', 'Sort', 'Seq Scan']
 * ```
 */
export function summarizePlan(root: PlanNode): PlanNodeSummary[] {
  const nodes: PlanNodeSummary[] = []
  for (const { node, ancestors } of walkPlan(root)) {
    const removed = node['Rows Removed by Filter']
    nodes.push({
      nodeType: node['Node Type'],
      depth: ancestors.length,
      relation: node['Relation Name'],
      index: node['Index Name'],
      rows: rowsOf(node),
      totalCost: node['Total Cost'],
      rowsRemovedByFilter: removed === undefined ? undefined : removed * loopsOf(node),
      filter: node.Filter,
      sortKey: node['Sort Key'],
    })
  }
  return nodes
}

/** A column named in an expression, and whether it is compared for equality there. */
export interface ColumnUse {
  readonly column: string
  readonly equality: boolean
}

/** One token of a plan expression: identifiers unquoted, everything else as its text. */
interface Token {
  readonly text: string
  readonly identifier: boolean
}

const TOKEN = /'(?:[^']|'')*'|"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*)|(::|<=|>=|<>|!=|\S)/g

function tokenize(expression: string): Token[] {
  const tokens: Token[] = []
  for (const match of expression.matchAll(TOKEN)) {
    // String literals hold no column names: they are kept as one opaque token.
    if (match[1] !== undefined)
      tokens.push({ text: match[1].replaceAll('""', '"'), identifier: true })
    else if (match[2] !== undefined) tokens.push({ text: match[2], identifier: true })
    else tokens.push({ text: match[0], identifier: false })
  }
  return tokens
}

/**
 * The operator after a column reference, skipping `)` and `::type` casts: `=`, `<`..., `AND` /
 * `OR` or `undefined` (the end) when the column is a condition by itself (a boolean column:
 * PostgreSQL prints `featured = true` as `"Product".featured`).
 */
function operatorAfter(tokens: readonly Token[], index: number): string | undefined {
  let i = index + 1
  while (i < tokens.length) {
    const token = tokens[i] as Token
    if (token.text === ')' && !token.identifier) i++
    else if (token.text === '::' && !token.identifier) i += 2
    else return token.identifier ? token.text.toUpperCase() : token.text
  }
  return undefined
}

const BOOLEAN_TEST = new Set([undefined, 'AND', 'OR'])

/**
 * The columns of `columns` that `expression` (a plan's `Filter`, `Index Cond` or a sort key)
 * names, in order of first appearance: bare or qualified by `alias` (`"Product"."viewCount"`);
 * not function names, type names, other tables' columns or text inside string literals.
 *
 * @example
 * ```ts
 * columnsIn('(("Product"."viewCount" = 7) AND ("Product".name ~~ \'%a%\'::text))', 'Product',
 *   new Set(['viewCount', 'name']))
 * // [{ column: 'viewCount', equality: true }, { column: 'name', equality: false }]
 * ```
 */
export function columnsIn(
  expression: string,
  alias: string | undefined,
  columns: ReadonlySet<string>,
): ColumnUse[] {
  const tokens = tokenize(expression)
  const found = new Map<string, boolean>()
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as Token
    if (!token.identifier || !columns.has(token.text)) continue
    const previous = tokens[i - 1]
    const next = tokens[i + 1]
    if (next?.text === '(' || next?.text === '.') continue // a function, or a qualifier
    if (previous?.text === '::') continue // a type name
    if (previous?.text === '.') {
      const qualifier = tokens[i - 2]
      if (alias !== undefined && qualifier?.text !== alias) continue
    }
    const operator = operatorAfter(tokens, i)
    const equality = operator === '=' || BOOLEAN_TEST.has(operator)
    found.set(token.text, (found.get(token.text) ?? false) || equality)
  }
  return [...found].map(([column, equality]) => ({ column, equality }))
}

/** One key of a plan's `Sort Key`: a column of the sorted table and its direction. */
export interface SortColumn {
  readonly column: string
  readonly descending: boolean
}

/**
 * The sort keys of a `Sort` node as columns of the table `alias` names, or `undefined` when a key
 * is an expression or another table's column (no single-table index can serve it).
 *
 * @example
 * ```ts
 * sortColumns(['"Product"."createdAt" DESC'], 'Product', new Set(['createdAt']))
 * // [{ column: 'createdAt', descending: true }]
 * ```
 */
export function sortColumns(
  keys: readonly string[],
  alias: string | undefined,
  columns: ReadonlySet<string>,
): SortColumn[] | undefined {
  const result: SortColumn[] = []
  for (const key of keys) {
    const match = /^(.*?)(\s+(?:ASC|DESC))?(\s+NULLS\s+(?:FIRST|LAST))?$/i.exec(key.trim())
    const reference = match?.[1] ?? key
    const tokens = tokenize(reference).filter((token) => token.text !== '(' && token.text !== ')')
    const names = tokens.filter((token) => token.identifier)
    const dots = tokens.length - names.length
    // `col` or `alias.col`, nothing else (a cast or function makes it an expression).
    const plain = (names.length === 1 && dots === 0) || (names.length === 2 && dots === 1)
    const column = names.at(-1)?.text
    if (!plain || column === undefined || !columns.has(column)) return undefined
    if (names.length === 2 && alias !== undefined && names[0]?.text !== alias) return undefined
    result.push({ column, descending: /\bDESC$/i.test(match?.[2] ?? '') })
  }
  return result
}
