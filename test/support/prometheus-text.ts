/**
 * Reading the Prometheus text exposition format in tests: samples by name and labels, and the
 * declared type of each metric family. Just enough of the format (version 0.0.4) to check what
 * the exporter writes; a line this does not understand fails the parse, so nothing slips by.
 */

export interface ParsedSample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Exposition {
  samples: ParsedSample[]
  /** Family name → `counter`, `gauge`, `histogram`... from the `# TYPE` lines. */
  types: Map<string, string>
  /** Family name → help text. */
  help: Map<string, string>
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  const value = Number(text)
  if (Number.isNaN(value)) throw new Error(`not a sample value: ${text}`)
  return value
}

function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {}
  if (text === undefined || text === '') return labels
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text)
    if (match === null) throw new Error(`bad labels: {${text}}`)
    labels[match[1]!] = match[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1')
  }
  return labels
}

/** Parses a whole exposition; throws on a line it cannot read. */
export function parseExposition(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), help: new Map() }
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ')
      out.types.set(name!, type!)
      continue
    }
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7)
      const space = rest.indexOf(' ')
      out.help.set(rest.slice(0, space), rest.slice(space + 1))
      continue
    }
    if (line.startsWith('#')) continue
    const match = SAMPLE.exec(line)
    if (match === null) throw new Error(`bad sample line: ${line}`)
    out.samples.push({
      name: match[1]!,
      labels: parseLabels(match[2]),
      value: parseValue(match[3]!),
    })
  }
  return out
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key])
}

/** The value of the series `name` with exactly `labels`, or `undefined` when absent. */
export function sampleOf(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return exposition.samples.find((s) => s.name === name && sameLabels(s.labels, labels))?.value
}

/** How much each series in `names` grew between two expositions (absent counts as 0). */
export function delta(
  before: Exposition,
  after: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number {
  return (sampleOf(after, name, labels) ?? 0) - (sampleOf(before, name, labels) ?? 0)
}

/** The buckets of one histogram series, `le` ascending, `+Inf` last. */
export function bucketsOf(
  exposition: Exposition,
  family: string,
  labels: Record<string, string>,
): { le: number; value: number }[] {
  return exposition.samples
    .filter((s) => {
      if (s.name !== `${family}_bucket`) return false
      const { le: _le, ...rest } = s.labels
      return sameLabels(rest, labels)
    })
    .map((s) => ({ le: parseValue(s.labels.le!), value: s.value }))
    .sort((a, b) => a.le - b.le)
}
