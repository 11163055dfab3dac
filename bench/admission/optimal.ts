/** Belady's clairvoyant policy (with bypass): the upper bound for any policy. (bench/admission.ts) */
export function optimalHits(ids: Int32Array, capacity: number): number {
  const n = ids.length
  const NEVER = 0x7fffffff
  let maxId = 0
  for (let i = 0; i < n; i++) if (ids[i]! > maxId) maxId = ids[i]!
  const nextUse = new Int32Array(n)
  const seen = new Int32Array(maxId + 1).fill(NEVER)
  for (let i = n - 1; i >= 0; i--) {
    const id = ids[i]!
    nextUse[i] = seen[id]!
    seen[id] = i
  }
  // resident[id] = position of the key's next use while it is cached, -1 otherwise
  const resident = seen.fill(-1)
  // max-heap of next-use positions (each position is unique); stale entries skipped lazily
  const heap = new Int32Array(n + 1)
  let heapSize = 0
  const push = (v: number): void => {
    let i = heapSize++
    while (i > 0) {
      const parent = (i - 1) >>> 1
      if (heap[parent]! >= v) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = v
  }
  const pop = (): number => {
    const top = heap[0]!
    const last = heap[--heapSize]!
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= heapSize) break
      if (child + 1 < heapSize && heap[child + 1]! > heap[child]!) child++
      if (heap[child]! <= last) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = last
    return top
  }
  let size = 0
  let hits = 0
  for (let i = 0; i < n; i++) {
    const id = ids[i]!
    const next = nextUse[i]!
    if (resident[id] !== -1) {
      hits++
      if (next === NEVER) {
        resident[id] = -1
        size--
      } else {
        resident[id] = next
        push(next)
      }
      continue
    }
    if (next === NEVER) continue
    if (size >= capacity) {
      // the furthest next use among residents and the newcomer; the newcomer may be bypassed
      let furthest = -1
      while (heapSize > 0) {
        const top = heap[0]!
        if (resident[ids[top]!] === top) {
          furthest = top
          break
        }
        pop()
      }
      if (furthest !== -1 && furthest > next) {
        pop()
        resident[ids[furthest]!] = -1
        size--
      } else continue
    }
    resident[id] = next
    push(next)
    size++
  }
  return hits
}
