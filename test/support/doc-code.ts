/** The TypeScript on the docs pages, made runnable here: found, and its imports pointed at the sources. */
import { mkdtemp } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')

/** The ```ts blocks of Markdown `text`, each with the line of `text` its code starts on. */
export function tsBlocks(text: string): { code: string; line: number }[] {
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => ({
    code: match[1]!,
    line: text.slice(0, match.index).split('\n').length + 1,
  }))
}

/** `code` with its imports of the package and of the generated Prisma client pointed at this checkout. */
export function withLocalImports(code: string): string {
  const from = (path: string) => `from '${join(ROOT, path)}'`
  return code
    .replaceAll("from 'stratacache'", from('src/index.js'))
    .replace(/from 'stratacache\/(\w+)'/g, (_, entry: string) => from(`src/${entry}/index.js`))
    .replaceAll("from './generated/prisma/client.js'", from('prisma/generated/client.js'))
}

/**
 * A new folder for code written from the docs, under node_modules: what that code imports
 * (ioredis, @prisma/adapter-pg) resolves from there, as in an application. The caller removes it.
 */
export function scratchDir(name: string): Promise<string> {
  return mkdtemp(join(ROOT, 'node_modules', `.${name}-`))
}
