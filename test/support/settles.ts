/**
 * Whether `promise` settles on microtasks alone, before the event loop runs any timer or I/O
 * callback: true of an answer that waits on nothing, however loaded the machine is. A wall-clock
 * bound ("under 5 ms") says the same thing but fails whenever the test process is descheduled.
 */
export async function settlesWithoutWaiting(promise: Promise<unknown>): Promise<boolean> {
  let settled = false
  const mark = () => {
    settled = true
  }
  promise.then(mark, mark)
  // No timer or I/O callback runs while the microtask queue drains: 100 hops is far more than any
  // chain of awaits between a call and its answer, and still none of them lets time pass.
  for (let hop = 0; hop < 100 && !settled; hop++) await undefined
  return settled
}

/**
 * Whether `promise` settles before a timer of `ms`, started now, fires. For a call bounded by
 * timers of its own that are due sooner, this holds however late a loaded machine runs timers:
 * they fire in the order they are due. Give `ms` a margin over the bound (twice it, say) for the
 * work done between the call's timers.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = Symbol('late')
  const expired = new Promise<typeof late>((resolve) => {
    timer = setTimeout(resolve, ms, late)
  })
  const settled = promise.then(
    () => undefined,
    () => undefined,
  )
  try {
    return (await Promise.race([settled, expired])) !== late
  } finally {
    clearTimeout(timer)
  }
}
