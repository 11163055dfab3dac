/**
 * Teaches the cache's codec Prisma's `Decimal` (decimal.js), so a `Decimal` column comes back
 * from L1 and Redis as a `Decimal` with every digit (guarantee 6). Decimals are immutable: they
 * are shared between copies rather than cloned.
 */
import { Decimal } from '@prisma/client/runtime/client'
import { registerType } from '../cache/codec.js'

/** The name written into cached entries; every instance sharing a Redis registers the same. */
export const DECIMAL_TYPE_NAME = 'prisma.Decimal'

let registered = false

/** Registers Prisma's `Decimal` with the codec (once per process; `withCache` calls it). */
export function registerPrismaTypes(): void {
  if (registered) return
  registered = true
  registerType<Decimal>({
    name: DECIMAL_TYPE_NAME,
    is: (value): value is Decimal => Decimal.isDecimal(value),
    serialize: (value) => value.toString(),
    deserialize: (text) => new Decimal(text as string),
  })
}
