/**
 * The syntax of a Prisma schema, for `schema-reader.ts`: blocks (`model`, `view`, `enum`, `type`;
 * `generator` and `datasource` skipped), their field lines and attributes with their arguments,
 * without meaning given to any of them yet.
 */

type Token = { kind: 'word' | 'string' | 'number' | 'punct' | 'newline'; text: string }
/** An argument: a string, a number, a list, a call (`now()`), or a bare word (`{ ref: 'Cascade' }`). */
export type Value = string | number | boolean | Call | Value[] | { ref: string }
export interface Call {
  call: string
  args: Value[]
  named: Record<string, Value>
}
export interface Attribute {
  name: string
  args: Value[]
  named: Record<string, Value>
}
/** A field of a model (`name Type[]? @attr...`), or a value of an enum (no type). */
export interface FieldLine {
  name: string
  type: string
  list: boolean
  optional: boolean
  attributes: Attribute[]
}
export interface Block {
  keyword: string
  name: string
  fields: FieldLine[]
  attributes: Attribute[]
}

export function isCall(value: Value): value is Call {
  return typeof value === 'object' && value !== null && 'call' in value
}

export function plain(value: Value): unknown {
  if (typeof value === 'object' && value !== null && 'ref' in value) {
    return value.ref === 'true' ? true : value.ref === 'false' ? false : value.ref
  }
  return value
}

/** The blocks of `text`; throws an `Error` saying what it expected where it could not read on. */
export function parseSchema(text: string): Block[] {
  return new Parser(tokenize(text)).blocks()
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  const pattern =
    /(\/\/[^\n]*)|(\n)|([ \t\r\f\v]+)|("(?:[^"\\\n]|\\.)*")|(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(@@?[A-Za-z_][\w.]*|[A-Za-z_][\w.]*)|([{}()[\],:=?])/y
  let at = 0
  // Newlines end a field or an attribute, except inside an argument list (one may span lines).
  let depth = 0
  while (at < text.length) {
    pattern.lastIndex = at
    const match = pattern.exec(text)
    if (match === null)
      throw new Error(`unexpected ${JSON.stringify(text[at])} at ${where(text, at)}`)
    at = pattern.lastIndex
    if (match[2] !== undefined) {
      if (depth === 0) tokens.push({ kind: 'newline', text: '\n' })
    } else if (match[4] !== undefined) tokens.push({ kind: 'string', text: JSON.parse(match[4]) })
    else if (match[5] !== undefined) tokens.push({ kind: 'number', text: match[5] })
    else if (match[6] !== undefined) tokens.push({ kind: 'word', text: match[6] })
    else if (match[7] !== undefined) {
      const punct = match[7]
      if (punct === '(' || punct === '[') depth++
      else if (punct === ')' || punct === ']') depth = Math.max(0, depth - 1)
      tokens.push({ kind: 'punct', text: punct })
    }
  }
  return tokens
}

function where(text: string, at: number): string {
  return `line ${text.slice(0, at).split('\n').length}`
}

class Parser {
  readonly #tokens: Token[]
  #at = 0

  constructor(tokens: Token[]) {
    this.#tokens = tokens
  }

  blocks(): Block[] {
    const blocks: Block[] = []
    for (;;) {
      this.#skipNewlines()
      const token = this.#tokens[this.#at]
      if (token === undefined) return blocks
      const keyword = this.#word()
      const name = this.#word()
      if (['model', 'view', 'enum', 'type'].includes(keyword))
        blocks.push(this.#body(keyword, name))
      else if (keyword === 'generator' || keyword === 'datasource') this.#skipBody()
      else throw new Error(`unexpected ${keyword}`)
    }
  }

  #body(keyword: string, name: string): Block {
    const block: Block = { keyword, name, fields: [], attributes: [] }
    this.#expect('{')
    for (;;) {
      this.#skipNewlines()
      if (this.#take('}')) return block
      const token = this.#peek()
      if (token?.kind === 'word' && token.text.startsWith('@@')) {
        block.attributes.push(this.#attribute())
      } else {
        const fieldName = this.#word()
        if (keyword === 'enum') block.fields.push(this.#rest(fieldName, '', false, false))
        else block.fields.push(this.#field(fieldName))
      }
      if (!this.#take('\n') && this.#peek()?.text !== '}') this.#fail('a new line')
    }
  }

  #field(name: string): FieldLine {
    let type = this.#word()
    if (type === 'Unsupported') {
      this.#expect('(')
      type = `Unsupported(${JSON.stringify(this.#next('string').text)})`
      this.#expect(')')
    }
    let list = false
    if (this.#take('[')) {
      this.#expect(']')
      list = true
    }
    return this.#rest(name, type, list, this.#take('?'))
  }

  #rest(name: string, type: string, list: boolean, optional: boolean): FieldLine {
    const attributes: Attribute[] = []
    while (this.#peek()?.kind === 'word' && this.#peek()!.text.startsWith('@')) {
      attributes.push(this.#attribute())
    }
    return { name, type, list, optional, attributes }
  }

  #attribute(): Attribute {
    const name = this.#word()
    const attribute: Attribute = { name, args: [], named: {} }
    if (this.#take('(')) this.#arguments(attribute)
    return attribute
  }

  /** Positional and named arguments up to the closing `)`. */
  #arguments(into: { args: Value[]; named: Record<string, Value> }): void {
    while (!this.#take(')')) {
      const token = this.#peek()
      if (token?.kind === 'word' && this.#tokens[this.#at + 1]?.text === ':') {
        this.#at += 2
        into.named[token.text] = this.#value()
      } else {
        into.args.push(this.#value())
      }
      if (!this.#take(',') && this.#peek()?.text !== ')') this.#fail('"," or ")"')
    }
  }

  #value(): Value {
    const token = this.#next()
    if (token.kind === 'string') return token.text
    if (token.kind === 'number') return Number(token.text)
    if (token.text === '[') {
      const items: Value[] = []
      while (!this.#take(']')) {
        items.push(this.#value())
        if (!this.#take(',') && this.#peek()?.text !== ']') this.#fail('"," or "]"')
      }
      return items
    }
    if (token.kind !== 'word') this.#fail('a value', token)
    if (this.#take('(')) {
      const call: Call = { call: token.text, args: [], named: {} }
      this.#arguments(call)
      return call
    }
    return { ref: token.text }
  }

  #skipBody(): void {
    this.#expect('{')
    let depth = 1
    while (depth > 0) {
      const token = this.#next()
      if (token.text === '{' && token.kind === 'punct') depth++
      else if (token.text === '}' && token.kind === 'punct') depth--
    }
  }

  #skipNewlines(): void {
    while (this.#peek()?.kind === 'newline') this.#at++
  }

  #peek(): Token | undefined {
    return this.#tokens[this.#at]
  }

  #next(kind?: Token['kind']): Token {
    const token = this.#tokens[this.#at]
    if (token === undefined) throw new Error('unexpected end of schema')
    if (kind !== undefined && token.kind !== kind) this.#fail(kind, token)
    this.#at++
    return token
  }

  #word(): string {
    return this.#next('word').text
  }

  #take(text: string): boolean {
    const token = this.#tokens[this.#at]
    if (token === undefined || token.text !== text || token.kind === 'string') return false
    this.#at++
    return true
  }

  #expect(text: string): void {
    if (!this.#take(text)) this.#fail(JSON.stringify(text))
  }

  #fail(expected: string, token = this.#tokens[this.#at]): never {
    const found = token === undefined ? 'the end' : JSON.stringify(token.text)
    throw new Error(`expected ${expected}, found ${found}`)
  }
}
