/**
 * Whether `value` is an object to read fields from (Prisma's arguments, a row, an option bag):
 * not `null`, not an array. Class instances (`Date`, `Decimal`) pass; a walk that must not look
 * inside them says so itself.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
