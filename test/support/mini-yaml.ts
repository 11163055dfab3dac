/**
 * A parser for the small part of YAML that ops/prometheus-alerts.yml uses, since no YAML library
 * is installed: block mappings and sequences by indentation, `|-` / `|` block scalars,
 * double-quoted and plain scalars, full-line comments. Anything else (flow collections, anchors,
 * single quotes, multi-document files, tabs) throws, so the rules file stays within what this
 * reads and a structural check of it means something.
 */

type Node = string | Node[] | { [key: string]: Node }

interface Line {
  indent: number
  text: string
  number: number
}

function scalar(text: string, at: number): string {
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2) throw new Error(`line ${at}: unterminated string`)
    return JSON.parse(text) as string
  }
  if (/^['&*!{[>|%@`]/.test(text)) throw new Error(`line ${at}: unsupported YAML: ${text}`)
  if (/\s#/.test(text) || /:\s/.test(text)) throw new Error(`line ${at}: ambiguous plain scalar`)
  return text
}

class Parser {
  #i = 0
  readonly #lines: Line[]
  readonly #raw: string[]

  constructor(text: string) {
    this.#raw = text.split('\n')
    this.#lines = []
    this.#raw.forEach((raw, index) => {
      if (raw.includes('\t')) throw new Error(`line ${index + 1}: tab`)
      const trimmed = raw.trim()
      if (trimmed === '' || trimmed.startsWith('#')) return
      if (trimmed === '---' || trimmed === '...') throw new Error(`line ${index + 1}: documents`)
      this.#lines.push({
        indent: raw.length - raw.trimStart().length,
        text: trimmed,
        number: index,
      })
    })
  }

  parse(): Node {
    const node = this.#block(0)
    if (this.#i < this.#lines.length) {
      throw new Error(`line ${this.#lines[this.#i]!.number + 1}: unexpected indentation`)
    }
    return node
  }

  #block(indent: number): Node {
    const first = this.#lines[this.#i]
    if (first === undefined || first.indent !== indent) throw new Error('expected a block')
    return first.text.startsWith('- ') || first.text === '-'
      ? this.#sequence(indent)
      : this.#mapping(indent)
  }

  #sequence(indent: number): Node[] {
    const out: Node[] = []
    for (let line = this.#lines[this.#i]; line?.indent === indent; line = this.#lines[this.#i]) {
      if (!line.text.startsWith('- ')) break
      // "- key: value" starts a mapping two columns in: read it as one.
      this.#lines[this.#i] = { ...line, indent: indent + 2, text: line.text.slice(2).trimStart() }
      out.push(this.#block(indent + 2))
    }
    return out
  }

  #mapping(indent: number): { [key: string]: Node } {
    const out: { [key: string]: Node } = {}
    for (let line = this.#lines[this.#i]; line?.indent === indent; line = this.#lines[this.#i]) {
      const match = /^([A-Za-z_][\w.-]*):(?: (.*))?$/.exec(line.text)
      if (match === null) throw new Error(`line ${line.number + 1}: expected key: value`)
      const [, key, rest] = match as unknown as [string, string, string | undefined]
      if (key in out) throw new Error(`line ${line.number + 1}: duplicate key ${key}`)
      this.#i++
      if (rest === undefined || rest === '') {
        const next = this.#lines[this.#i]
        if (next === undefined || next.indent <= indent)
          throw new Error(`line ${line.number + 1}: empty value`)
        out[key] = this.#block(next.indent)
      } else if (rest === '|' || rest === '|-') {
        out[key] = this.#literal(line, indent, rest === '|-')
      } else {
        out[key] = scalar(rest, line.number + 1)
      }
    }
    return out
  }

  /** A literal block: the raw lines below `owner` indented deeper, with their common indent removed. */
  #literal(owner: Line, indent: number, strip: boolean): string {
    const body: string[] = []
    let end = owner.number + 1
    while (end < this.#raw.length) {
      const raw = this.#raw[end]!
      if (raw.trim() !== '' && raw.length - raw.trimStart().length <= indent) break
      body.push(raw)
      end++
    }
    while (this.#i < this.#lines.length && this.#lines[this.#i]!.number < end) this.#i++
    const width = Math.min(
      ...body.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length),
    )
    const text = body.map((l) => l.slice(width)).join('\n')
    return strip ? text.replace(/\n+$/, '') : `${text.replace(/\n+$/, '')}\n`
  }
}

/** Parses `text`; throws naming the line for anything outside the supported subset. */
export function parseMiniYaml(text: string): Node {
  return new Parser(text).parse()
}
