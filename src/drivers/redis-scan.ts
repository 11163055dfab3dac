import type { Cluster, Redis } from 'ioredis'
import { invalid } from '../errors.js'

/**
 * Escapes glob metacharacters so that `text` matches only itself, in `invalidateByPattern` as in
 * Redis `SCAN MATCH`: for patterns built from input, `invalidateByPattern(escapeGlob(id) + ":*")`.
 *
 * @throws ValidationError (`text`) when it is not a string.
 */
export function escapeGlob(text: string): string {
  if (typeof text !== 'string') throw invalid('text', `must be a string, got ${typeof text}`)
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/**
 * SCAN with `MATCH` over the whole keyspace (every master on a Cluster), handing each non-empty
 * batch of names to `onBatch` before asking for the next. Never uses `KEYS`: each step is bounded
 * by `count`, so the server is never blocked for long, however large the database.
 */
export async function scanMatching(
  client: Redis | Cluster,
  cluster: boolean,
  match: string,
  count: number,
  onBatch: (names: string[]) => Promise<void>,
): Promise<void> {
  for await (const names of scanBatches(client, cluster, match, count)) {
    if (names.length > 0) await onBatch(names)
  }
}

/**
 * {@link scanMatching} as an async generator: each batch of names is one SCAN step's (empty when
 * the step found none, so that every `next()` costs one bounded step), and the next step is sent
 * only once the consumer asks for it. Names may come twice, as SCAN may return them.
 */
export async function* scanBatches(
  client: Redis | Cluster,
  cluster: boolean,
  match: string,
  count: number,
): AsyncGenerator<string[], void, undefined> {
  const nodes: (Redis | Cluster)[] = cluster ? (client as Cluster).nodes('master') : [client]
  for (const node of nodes) {
    let cursor = '0'
    do {
      const [next, names] = await node.scan(cursor, 'MATCH', match, 'COUNT', count)
      cursor = next
      yield names
    } while (cursor !== '0')
  }
}

/**
 * Which scanned names (full Redis names under `prefix`) a pattern removes: a glob is matched by
 * Redis itself (`match`); a RegExp is tested here on each name without the prefix. Names under
 * `reservedPrefix` (the driver's own keys) are never entries, so never removed.
 */
export function patternScan(
  pattern: string | RegExp,
  prefix: string,
  reservedPrefix: string,
): { match: string; keep: (name: string) => boolean } {
  const escaped = escapeGlob(prefix)
  if (typeof pattern === 'string') {
    return { match: escaped + pattern, keep: (name) => !name.startsWith(reservedPrefix) }
  }
  const prefixLength = prefix.length
  return {
    match: `${escaped}*`,
    keep: (name) => {
      if (name.startsWith(reservedPrefix)) return false
      pattern.lastIndex = 0 // a /g or /y RegExp keeps state between test() calls
      return pattern.test(name.slice(prefixLength))
    },
  }
}
