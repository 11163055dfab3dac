/**
 * The code in the README and under docs/ type-checks against the package as it is: every ```ts
 * block, its imports resolved to this checkout, with the project's compiler options. A block may
 * use names it does not declare (`id`, `prisma`, `app`: the reader's own), so "cannot find name"
 * and what follows from it (an untyped callback parameter) are allowed; anything else, such as a
 * method, option or export that no longer exists, fails with the page and line to fix.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, scratchDir, tsBlocks, withLocalImports } from './support/doc-code.js'

/** Diagnostics that only say the block uses a name of the reader's, left undeclared. */
const READERS_NAMES = new Set([
  2304, // Cannot find name 'x'.
  2552, // Cannot find name 'x'. Did you mean 'y'?
  18004, // No value exists in scope for the shorthand property 'x'.
  7006, // Parameter 'x' implicitly has an 'any' type (a callback given to an undeclared name).
  7031, // Binding element 'x' implicitly has an 'any' type (the same, destructured).
])

interface Block {
  /** Where the block is: `docs/CACHE.md:42` (the line of its first line of code). */
  where: string
  file: string
}

let dir = ''

/** Writes each ```ts block of `doc` (a path from the root) as a module; returns where they are. */
async function blocksOf(doc: string, text: string): Promise<Block[]> {
  const blocks: Block[] = []
  for (const { code, line } of tsBlocks(text)) {
    const file = join(dir, `${doc.replace(/\W/g, '_')}_${line}.ts`)
    // One line first, so that a diagnostic's line in the file is its line in the block + 1.
    await writeFile(file, `export {}\n${withLocalImports(code)}`)
    blocks.push({ where: `${doc}:${line}`, file })
  }
  return blocks
}

/** Type-checks `blocks`; returns what is wrong in them, as `where: message` lines. */
function check(blocks: readonly Block[]): string[] {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT)
  const program = ts.createProgram(
    blocks.map((b) => b.file),
    { ...options, noEmit: true, declaration: false, declarationMap: false, sourceMap: false },
  )
  const byFile = new Map(blocks.map((b) => [b.file, b]))
  const problems: string[] = []
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const block = d.file && byFile.get(d.file.fileName)
    if (block === undefined || READERS_NAMES.has(d.code)) continue
    const line = d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line - 1
    const [doc, first] = block.where.split(':')
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ')
    problems.push(`${doc}:${Number(first) + line}: TS${d.code} ${message}`)
  }
  return problems
}

beforeAll(async () => {
  dir = await scratchDir('doc-blocks')
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('the code in the docs', () => {
  it('type-checks against the package, but for the names it leaves to the reader', async () => {
    const docs = ['README.md', ...(await readdir(join(ROOT, 'docs'))).map((f) => `docs/${f}`)]
    const blocks: Block[] = []
    for (const doc of docs.filter((d) => d.endsWith('.md'))) {
      blocks.push(...(await blocksOf(doc, await readFile(join(ROOT, doc), 'utf8'))))
    }
    expect(blocks.length).toBeGreaterThan(20)
    expect(check(blocks)).toEqual([])
  }, 60_000)

  it('control: a block that uses an option, a method or an export that does not exist fails', async () => {
    const text = [
      '# Drifted',
      '',
      '```ts',
      "import { CacheManager, withCahce } from 'stratacache'",
      "const cache = new CacheManager({ tll: '1m' })",
      'await cache.getOrComput(key, () => load(id))',
      '```',
    ].join('\n')
    const problems = check(await blocksOf('DRIFTED.md', text))
    expect(problems).toHaveLength(3)
    expect(problems[0]).toMatch(/^DRIFTED\.md:4: TS2305 .*withCahce/)
    expect(problems[1]).toMatch(/^DRIFTED\.md:5: TS2353 .*tll/)
    expect(problems[2]).toMatch(/^DRIFTED\.md:6: TS2551 .*getOrComput/)
  }, 60_000)
})
