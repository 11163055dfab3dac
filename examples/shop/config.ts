/**
 * The demo's settings, read from the environment once, at start-up. A bad value stops the start
 * with a message naming the variable, rather than surfacing later as a confusing failure.
 * (The cache reads its own variables, REDIS_URL and CACHE_*, through `cacheOptionsFromEnv`.)
 */
import { fileURLToPath } from 'node:url'
import { z } from 'zod'

export type DatabaseConfig =
  | { readonly kind: 'postgresql'; readonly url: string; readonly schema: string | undefined }
  /** `dataDir` is a directory, or `memory://` for a database that lives as long as the process. */
  | { readonly kind: 'pglite'; readonly dataDir: string }

export interface ShopConfig {
  readonly port: number
  readonly host: string
  readonly database: DatabaseConfig
  /** Products to seed an empty database with. */
  readonly seedProducts: number
}

/** Where the embedded database keeps its files unless SHOP_DATA_DIR says otherwise (gitignored). */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('.data/pglite', import.meta.url))

/** Lower case only: PostgreSQL folds an unquoted search_path to it, Prisma quotes the name as is. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/

const environment = z.object({
  // One message per variable: whatever is wrong with it, the fix is the same.
  PORT: z.coerce
    .number({ error: 'must be a port number, 0 to 65535 (0: any free port)' })
    .int()
    .min(0)
    .max(65_535)
    .default(3000),
  // Loopback by default: the demo has write endpoints and no authentication.
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgresql:// URL' })
    .optional(),
  SHOP_DATA_DIR: z.string().min(1).default(DEFAULT_DATA_DIR),
  SHOP_SEED_PRODUCTS: z.coerce
    .number({ error: 'must be a whole number from 1 to 1000000' })
    .int()
    .min(1)
    .max(1_000_000)
    .default(10_000),
})

export function shopConfigFromEnv(env: Record<string, string | undefined>): ShopConfig {
  // An empty variable (`PORT= npm start`) means "not set", as it does for most tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''))
  const parsed = environment.safeParse(present)
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    throw new Error(`invalid environment: ${problems.join('; ')}`)
  }
  const { PORT, HOST, DATABASE_URL, SHOP_DATA_DIR, SHOP_SEED_PRODUCTS } = parsed.data
  return {
    port: PORT,
    host: HOST,
    database: DATABASE_URL
      ? postgresConfig(DATABASE_URL)
      : { kind: 'pglite', dataDir: SHOP_DATA_DIR },
    seedProducts: SHOP_SEED_PRODUCTS,
  }
}

/**
 * Prisma users write the schema into the URL (`?schema=shop`); `pg` does not know that parameter,
 * so it is taken out here and applied as the search path and as Prisma's schema (database.ts).
 */
function postgresConfig(databaseUrl: string): DatabaseConfig {
  const url = new URL(databaseUrl)
  const schema = url.searchParams.get('schema') ?? undefined
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(
      `invalid environment: DATABASE_URL: schema "${schema}" must be lower-case letters, digits and _`,
    )
  }
  url.searchParams.delete('schema')
  return { kind: 'postgresql', url: url.toString(), schema }
}
