/**
 * Tells the N+1 detector which parent relation a repeated query walks: `review.findMany({ where:
 * { productId } })` run once per product is `Product.reviews`, better loaded with
 * `include: { reviews: true }` on the products' query.
 */
import type { RelationHint } from '../metrics/n-plus-one-suggestion.js'
import type { ModelGraph } from '../schema/model-graph.js'

/** A {@link RelationHint} answered from the schema's foreign keys. */
export function relationHintOf(graph: ModelGraph): RelationHint {
  return (model, where) => {
    const node = graph.model(model)
    if (node === undefined) return undefined
    for (const relation of node.relations.values()) {
      const key = relation.foreignKey
      if (!relation.holdsForeignKey || key.length !== 1 || !(key[0]! in where)) continue
      const parent = graph.model(relation.target)
      for (const back of parent?.relations.values() ?? []) {
        if (back.name === relation.name && back.target === model && back.field !== relation.field) {
          return `${parent!.name}.${back.field}`
        }
      }
    }
    return undefined
  }
}
