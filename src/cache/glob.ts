/**
 * Redis-style glob (`*`, `?`, `[abc]`, `[^a-z]`, `\x`) to an anchored RegExp, so that L1 matches
 * exactly the keys Redis `SCAN MATCH` matches in L2.
 */
export function globToRegExp(glob: string): RegExp {
  let source = '^'
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!
    if (ch === '*') source += '[\\s\\S]*'
    else if (ch === '?') source += '[\\s\\S]'
    else if (ch === '\\' && i + 1 < glob.length) source += escapeChar(glob[++i]!)
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 2)
      if (end === -1) {
        source += '\\['
        continue
      }
      let body = glob.slice(i + 1, end)
      const negate = body.startsWith('^')
      if (negate) body = body.slice(1)
      source += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`
      i = end
    } else source += escapeChar(ch)
  }
  return new RegExp(`${source}$`)
}

function escapeChar(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch
}

/** A predicate on keys for a glob string or a RegExp (tested as given; `lastIndex` neutralised). */
export function keyMatcher(pattern: string | RegExp): (key: string) => boolean {
  const regexp = typeof pattern === 'string' ? globToRegExp(pattern) : pattern
  return (key) => {
    regexp.lastIndex = 0
    return regexp.test(key)
  }
}
