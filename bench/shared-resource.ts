/**
 * A resource several scenarios of one run share, such as the seeded PostgreSQL schema of the
 * Prisma group: opened by the first scenario that asks for it (so a run that selects none of
 * those scenarios never pays for it), closed once when the run ends (bench/run.ts calls
 * {@link closeSharedResources}), and described in the JSON result under its own key.
 */

export interface SharedResourceSpec<T> {
  /** The key of its section in the JSON result, e.g. `prisma`. */
  key: string
  open(): Promise<T>
  close(value: T): Promise<void>
  /** What the JSON result records about it (sizes, versions). */
  describe(value: T): unknown
}

const opened = new Set<SharedResource<unknown>>()

export class SharedResource<T> {
  readonly #spec: SharedResourceSpec<T>
  #value: Promise<T> | undefined

  constructor(spec: SharedResourceSpec<T>) {
    this.#spec = spec
  }

  /** The resource, opened on the first call. A failure to open is every later caller's too. */
  get(): Promise<T> {
    if (this.#value === undefined) {
      this.#value = this.#spec.open()
      opened.add(this as SharedResource<unknown>)
    }
    return this.#value
  }

  /** Closes it if it was opened; resolves to its description (or the reason it failed). */
  async close(): Promise<{ key: string; description: unknown } | undefined> {
    const pending = this.#value
    if (pending === undefined) return undefined
    this.#value = undefined
    opened.delete(this as SharedResource<unknown>)
    let value: T
    try {
      value = await pending
    } catch (error) {
      return { key: this.#spec.key, description: { failed: String(error) } }
    }
    const description = this.#spec.describe(value)
    await this.#spec.close(value)
    return { key: this.#spec.key, description }
  }
}

/** Closes every resource opened during the run; resolves to their descriptions, by key. */
export async function closeSharedResources(
  log: (message: string) => void,
): Promise<Record<string, unknown>> {
  const sections: Record<string, unknown> = {}
  for (const resource of [...opened]) {
    try {
      const closed = await resource.close()
      if (closed !== undefined) sections[closed.key] = closed.description
    } catch (error) {
      log(`  ! a shared resource failed to close: ${String(error)}`)
    }
  }
  return sections
}
