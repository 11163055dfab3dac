/**
 * Prisma's `contains` / `startsWith` / `endsWith` become `LIKE` / `ILIKE` patterns with the value
 * inserted as it is: a `%` or `_` in it acts as a wildcard (searching "50%" also finds
 * "50 percent"). PostgreSQL's default LIKE escape character is the backslash, so escaping
 * backslash, `%` and `_` with it makes the text match literally.
 */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`)
}
