/**
 * Where stratacache's own files are, for the few places that need it: loading CommonJS
 * dependencies and optional peers lazily (`packageRequire`), and telling stratacache's own stack
 * frames from user code (`ownPath`).
 *
 * The package ships twice: as ES modules (`dist/`) and as CommonJS (`dist/cjs/`), because Node 20
 * cannot `require()` an ES module and NestJS applications are CommonJS by default. `import.meta`
 * is a syntax error in CommonJS, so this is the only file that may use it: the CommonJS build
 * (`scripts/build-cjs.mjs`) rewrites the one expression below to `__filename`'s URL, and refuses
 * to finish if `import.meta` appears anywhere else.
 */
import type * as Crypto from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

// biome-ignore lint/suspicious/noTsIgnore: @ts-expect-error would fail the ES module compile, which has no error here.
// @ts-ignore -- TS1343 in the CommonJS compile, where the build rewrites this line (see above).
const MODULE_URL: string = import.meta.url

/**
 * `require` resolving from stratacache's own folder, in either build: for CommonJS packages loaded
 * on first use (the Prisma schema parser) and for optional peer dependencies (`pg`, NestJS's).
 */
export const packageRequire: NodeJS.Require = createRequire(MODULE_URL)

/**
 * `node:crypto`, loaded on first use. Importing it makes Node build some forty internal modules
 * (streams, Web Crypto), about 10 ms of CPU at start-up, which a memory-only cache never needs:
 * so nothing that `import('stratacache')` loads imports it at the top.
 */
export function nodeCrypto(): typeof Crypto {
  return packageRequire('node:crypto') as typeof Crypto
}

/**
 * The absolute path of `relative` (e.g. `'prisma/'`) under stratacache's root folder: `src/` when
 * run from source, `dist/` or `dist/cjs/` when built. A trailing `/` gives a trailing separator.
 */
export function ownPath(relative: string): string {
  return fileURLToPath(new URL(relative, MODULE_URL))
}
