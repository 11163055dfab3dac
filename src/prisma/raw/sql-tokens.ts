/**
 * A PostgreSQL lexer just precise enough to find statement boundaries, keywords and names in raw
 * SQL: it skips what can hide a keyword or a `;` (string literals of every flavour, dollar
 * quotes, nested block comments, line comments) and resolves identifiers as the server does.
 * Anything the server's own lexer would reject makes the whole text unreadable (`undefined`), so
 * the caller never guesses about malformed input.
 */

/**
 * `word`: an unquoted identifier or keyword; `quoted`: a `"quoted"` identifier; `symbol`: one
 * punctuation or operator character, or `::`. Literals keep their raw text, which nobody reads.
 */
export type SqlTokenKind = 'word' | 'quoted' | 'string' | 'number' | 'param' | 'symbol'

export interface SqlToken {
  readonly kind: SqlTokenKind
  /** `word`: folded to lower case; `quoted`: exact; both cut to PostgreSQL's 63-byte limit. */
  readonly text: string
}

export interface SqlTokens {
  readonly tokens: SqlToken[]
  /**
   * A plain `'...'` literal holds a backslash. A server running with `standard_conforming_strings`
   * off reads `\'` there as an escaped quote, so it would see different tokens than these.
   */
  readonly backslashInPlainString: boolean
}

export interface TokenizeOptions {
  /** Lex plain `'...'` literals as `standard_conforming_strings = off` does: `\` escapes. */
  readonly backslashEscapes: boolean
}

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are truncated, in bytes of UTF-8. */
const MAX_IDENTIFIER_BYTES = 63

// Character classes of ASCII codes; every code from 128 up is an identifier letter (the server
// sees the UTF-8 bytes of any non-ASCII character as letters).
const SPACE = 1
const LETTER = 2
const DIGIT = 4
const SYMBOL = 8
const ASCII_CLASSES = new Uint8Array(128)
for (const char of ' \n\t\r\f\v') ASCII_CLASSES[char.charCodeAt(0)] = SPACE
for (const char of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_') {
  ASCII_CLASSES[char.charCodeAt(0)] = LETTER
}
for (const char of '0123456789') ASCII_CLASSES[char.charCodeAt(0)] = DIGIT
for (const char of ',()[].;:+-*/%^<>=~!@#&|`?') ASCII_CLASSES[char.charCodeAt(0)] = SYMBOL

const QUOTE = codeOf("'")
const DOUBLE_QUOTE = codeOf('"')
const BACKSLASH = codeOf('\\')
const DOLLAR = codeOf('$')
const AMPERSAND = codeOf('&')
const DOT = codeOf('.')
const DASH = codeOf('-')
const PLUS = codeOf('+')
const SLASH = codeOf('/')
const STAR = codeOf('*')
const COLON = codeOf(':')
const LINE_FEED = codeOf('\n')
const CARRIAGE_RETURN = codeOf('\r')
const LOWER_CASE_BIT = 0x20
const UPPER_A = codeOf('A')
const UPPER_Z = codeOf('Z')
const LOWER_E = codeOf('e')
const ZERO = codeOf('0')
const DECIMAL_DIGITS = '0123456789'
const RADIX_DIGITS = new Map([
  ['x', '0123456789abcdefABCDEF'],
  ['o', '01234567'],
  ['b', '01'],
])
const LOWER_U = codeOf('u')
/** Letters that turn a following quote into a literal: `E'...'`, `N'...'`, `B'...'`, `X'...'`. */
const LITERAL_PREFIXES = new Set([LOWER_E, codeOf('n'), codeOf('b'), codeOf('x')])

function codeOf(char: string): number {
  return char.charCodeAt(0)
}

function classOf(code: number): number {
  return code < 128 ? ASCII_CLASSES[code]! : LETTER
}

/**
 * Splits `sql` into tokens, or returns `undefined` when the server would refuse to lex it
 * (unterminated literal or comment, stray `$` or `\`, empty `""`, `U&"..."` identifiers, which
 * this lexer does not decode).
 *
 * @example
 * ```ts
 * tokenizeSql(`UPDATE "Order" SET note = 'a;b' -- done`, { backslashEscapes: false })?.tokens
 * // [word update, quoted Order, word set, word note, symbol =, string 'a;b']
 * ```
 */
export function tokenizeSql(sql: string, options: TokenizeOptions): SqlTokens | undefined {
  const tokens: SqlToken[] = []
  let backslashInPlainString = false
  let at = 0
  while (at < sql.length) {
    const code = sql.charCodeAt(at)
    const next = sql.charCodeAt(at + 1) // NaN past the end
    const kind = classOf(code)
    let end: number
    if (kind === SPACE) {
      at++
      continue
    }
    if (kind === LETTER) {
      const prefix = literalPrefixLength(code, next, sql.charCodeAt(at + 2))
      if (prefix < 0) return undefined
      if (prefix === 0) {
        end = endOfWord(sql, at)
        tokens.push({ kind: 'word', text: truncateIdentifier(foldToLowerCase(sql.slice(at, end))) })
      } else {
        const letter = code | LOWER_CASE_BIT
        // E'...' always takes backslash escapes; U&'...' escapes never hide a quote; N'...' (and
        // B'...', X'...', which hold no backslash) are plain literals.
        const plain = letter !== LOWER_E && letter !== LOWER_U
        const escapes = letter === LOWER_E || (plain && options.backslashEscapes)
        end = endOfQuoted(sql, at + prefix, QUOTE, escapes)
        if (plain && hasBackslash(sql, at, end, options)) backslashInPlainString = true
        tokens.push({ kind: 'string', text: sql.slice(at, end) })
      }
    } else if (code === QUOTE) {
      end = endOfQuoted(sql, at, QUOTE, options.backslashEscapes)
      if (hasBackslash(sql, at, end, options)) backslashInPlainString = true
      tokens.push({ kind: 'string', text: sql.slice(at, end) })
    } else if (code === DOUBLE_QUOTE) {
      end = endOfQuoted(sql, at, DOUBLE_QUOTE, false)
      if (end === at + 2) return undefined // "" names nothing
      const name = sql.slice(at + 1, end - 1)
      const unescaped = name.includes('""') ? name.replaceAll('""', '"') : name
      tokens.push({ kind: 'quoted', text: truncateIdentifier(unescaped) })
    } else if (code === DOLLAR) {
      const isParam = classOf(next) === DIGIT
      end = isParam ? endOfDigits(sql, at + 1, DECIMAL_DIGITS) : endOfDollarQuote(sql, at)
      tokens.push({ kind: isParam ? 'param' : 'string', text: sql.slice(at, end) })
    } else if (kind === DIGIT || (code === DOT && classOf(next) === DIGIT)) {
      end = endOfNumber(sql, at)
      tokens.push({ kind: 'number', text: sql.slice(at, end) })
    } else if (code === DASH && next === DASH) {
      end = endOfLineComment(sql, at)
    } else if (code === SLASH && next === STAR) {
      end = endOfBlockComment(sql, at)
    } else if (kind === SYMBOL) {
      end = code === COLON && next === COLON ? at + 2 : at + 1
      tokens.push({ kind: 'symbol', text: sql.slice(at, end) })
    } else {
      return undefined
    }
    if (end < 0) return undefined
    at = end
  }
  return { tokens, backslashInPlainString }
}

/** A plain literal lexed the standard way holds a backslash (`end` -1: it never closed). */
function hasBackslash(sql: string, at: number, end: number, options: TokenizeOptions): boolean {
  return !options.backslashEscapes && end > 0 && sql.slice(at, end).includes('\\')
}

/**
 * Length of the prefix before the quote of `E'...'`, `N'...'`, `B'...'`, `X'...'` (1) or
 * `U&'...'` (2); 0 if the letter starts a word; -1 for `U&"..."`, which this lexer refuses.
 */
function literalPrefixLength(letter: number, next: number, afterNext: number): number {
  const lower = letter | LOWER_CASE_BIT
  if (next === QUOTE) return LITERAL_PREFIXES.has(lower) ? 1 : 0
  if (lower !== LOWER_U || next !== AMPERSAND) return 0
  if (afterNext === QUOTE) return 2
  return afterNext === DOUBLE_QUOTE ? -1 : 0
}

/** Identifiers continue with letters, digits and `$`. */
function endOfWord(sql: string, at: number): number {
  for (at++; at < sql.length; at++) {
    const code = sql.charCodeAt(at)
    if (code !== DOLLAR && (classOf(code) & (LETTER | DIGIT)) === 0) break
  }
  return at
}

/**
 * A number ends exactly where PostgreSQL ends it (`0x1F`, `1_000`, `1.`, `.5`, `1.5e-3`): letters
 * glued to it are a word of their own to PostgreSQL 14 (`SELECT 1into t` is a `SELECT INTO`) and
 * an error from 15 on, so they must not vanish into the number.
 */
function endOfNumber(sql: string, at: number): number {
  const radix =
    sql.charCodeAt(at) === ZERO ? RADIX_DIGITS.get(sql[at + 1]?.toLowerCase() ?? '') : undefined
  if (radix !== undefined && endOfDigits(sql, at + 2, radix) > at + 2) {
    return endOfDigits(sql, at + 2, radix)
  }
  at = endOfDigits(sql, at, DECIMAL_DIGITS)
  // `1..5` is 1 followed by `..` (PL/pgSQL ranges), not `1.` and `.5`.
  if (sql.charCodeAt(at) === DOT && sql.charCodeAt(at + 1) !== DOT) {
    at = endOfDigits(sql, at + 1, DECIMAL_DIGITS)
  }
  if ((sql.charCodeAt(at) | LOWER_CASE_BIT) === LOWER_E) {
    const sign = sql.charCodeAt(at + 1) === PLUS || sql.charCodeAt(at + 1) === DASH ? 1 : 0
    const exponentEnd = endOfDigits(sql, at + 1 + sign, DECIMAL_DIGITS)
    if (exponentEnd > at + 1 + sign) at = exponentEnd
  }
  return at
}

/** Digits of `digits`, each possibly after one `_` (PostgreSQL 16 separators). */
function endOfDigits(sql: string, at: number, digits: string): number {
  for (;;) {
    if (digits.includes(sql[at] ?? '_')) at++
    else if (sql[at] === '_' && digits.includes(sql[at + 1] ?? '_')) at += 2
    else return at
  }
}

/** The server ends a `--` comment at either line break character. */
function endOfLineComment(sql: string, at: number): number {
  while (
    at < sql.length &&
    sql.charCodeAt(at) !== LINE_FEED &&
    sql.charCodeAt(at) !== CARRIAGE_RETURN
  ) {
    at++
  }
  return at
}

/** Block comments nest in PostgreSQL, unlike in the SQL standard; -1 if never closed. */
function endOfBlockComment(sql: string, at: number): number {
  let depth = 0
  while (at < sql.length) {
    const code = sql.charCodeAt(at)
    const next = sql.charCodeAt(at + 1)
    if (code === SLASH && next === STAR) depth++
    else if (code === STAR && next === SLASH) depth--
    else {
      at++
      continue
    }
    at += 2
    if (depth === 0) return at
  }
  return -1
}

/** From an opening `quote` at `at`, past the closing one (-1 if none); a doubled quote is text. */
function endOfQuoted(sql: string, at: number, quote: number, backslashEscapes: boolean): number {
  for (at++; at < sql.length; at++) {
    const code = sql.charCodeAt(at)
    if (backslashEscapes && code === BACKSLASH) at++
    else if (code === quote && sql.charCodeAt(++at) !== quote) return at
  }
  return -1
}

/** `$$...$$` or `$tag$...$tag$` from the opening `$` at `at`; -1 if it is not one or never ends. */
function endOfDollarQuote(sql: string, at: number): number {
  let tagEnd = at + 1
  if (classOf(sql.charCodeAt(tagEnd)) === LETTER) {
    while (tagEnd < sql.length && (classOf(sql.charCodeAt(tagEnd)) & (LETTER | DIGIT)) !== 0) {
      tagEnd++
    }
  }
  if (sql.charCodeAt(tagEnd) !== DOLLAR) return -1
  const delimiter = sql.slice(at, tagEnd + 1)
  const close = sql.indexOf(delimiter, tagEnd + 1)
  return close < 0 ? -1 : close + delimiter.length
}

/** The server folds only ASCII letters of unquoted names (as in a UTF-8 database). */
function foldToLowerCase(word: string): string {
  let upper = false
  for (let at = 0; at < word.length; at++) {
    const code = word.charCodeAt(at)
    if (code >= 128) return word.replace(/[A-Z]+/g, (letters) => letters.toLowerCase())
    if (code >= UPPER_A && code <= UPPER_Z) upper = true
  }
  return upper ? word.toLowerCase() : word
}

function truncateIdentifier(name: string): string {
  if (name.length <= MAX_IDENTIFIER_BYTES / 4) return name
  let bytes = 0
  let end = 0
  for (const char of name) {
    const size = char.length === 2 ? 4 : char <= '\x7f' ? 1 : char <= '\u07ff' ? 2 : 3
    if (bytes + size > MAX_IDENTIFIER_BYTES) return name.slice(0, end)
    bytes += size
    end += char.length
  }
  return name
}
