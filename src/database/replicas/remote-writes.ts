/**
 * Other instances' writes, as this instance learns of them: through the cache's invalidation
 * bus. `withCache` invalidates `<namespace>:<Model>` (and record tags `<namespace>:<Model>#...`)
 * for every model a write touches, after its commit; the bus delivers that to every instance,
 * where the cache re-emits it as an `invalidate` event marked `remote`, synchronously with
 * applying it to L1 and to the fill fence. Recording the write in that same step means that no
 * fill started after the invalidation here can have been routed without knowing of it.
 */
import type { CacheManager } from '../../cache/cache-manager.js'
import type { CacheEvents } from '../../cache/events.js'
import type { ModelGraph } from '../../prisma/schema/model-graph.js'
import { EVERYTHING, type WriteWatermarks } from './freshness.js'

/** The models named by `withCache` tags among `tags` (other tags are the user's own labels). */
export function modelsOfTags(
  tags: readonly string[],
  namespace: string,
  graph: ModelGraph,
): Set<string> {
  const prefix = `${namespace}:`
  const models = new Set<string>()
  for (const tag of tags) {
    if (!tag.startsWith(prefix)) continue
    const end = tag.indexOf('#', prefix.length)
    const model = tag.slice(prefix.length, end === -1 ? undefined : end)
    if (graph.model(model) !== undefined) models.add(model)
  }
  return models
}

/**
 * Feeds `cache`'s remote invalidations and trust edges into `watermarks`. Returns the function
 * that stops listening.
 */
export function followRemoteWrites(
  cache: CacheManager,
  namespace: string,
  graph: ModelGraph,
  watermarks: WriteWatermarks,
): () => void {
  const onInvalidate = (event: CacheEvents['invalidate'][0]) => {
    if (event.remote !== true) return
    if (event.kind === 'tag') {
      const models = modelsOfTags(event.tags, namespace, graph)
      if (models.size > 0) watermarks.written(models)
    } else {
      // A pattern or a clear: which models it stands for cannot be told.
      watermarks.written([EVERYTHING])
    }
  }
  const onUntrusted = () => watermarks.distrust()
  const onTrusted = () => watermarks.trust()
  cache.on('invalidate', onInvalidate)
  cache.on('untrusted', onUntrusted)
  cache.on('trusted', onTrusted)
  return () => {
    cache.off('invalidate', onInvalidate)
    cache.off('untrusted', onUntrusted)
    cache.off('trusted', onTrusted)
  }
}
