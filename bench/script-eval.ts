/**
 * What sending a write script with its source (EVAL) costs against EVALSHA: the cache sends the
 * scripts whose place among commands matters (version bumps, writes, invalidations) with EVAL, so
 * that a flushed script cache cannot make Redis run one after commands sent later. Both peers in
 * one run, alternated, against the shared Redis: `npx tsx bench/script-eval.ts`.
 */
import { Redis } from 'ioredis'
import { runScript, SET_ENTRY } from '../src/drivers/redis-scripts.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const CALLS = 20_000
const CONCURRENCY = 32
const ROUNDS = 5

const client = new Redis(REDIS_URL)
const value = Buffer.alloc(300, 7)
const evalsha = { ...SET_ENTRY, inOrder: false }

async function run(script: typeof SET_ENTRY): Promise<number> {
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CALLS) {
        const i = next++
        await runScript(
          client,
          script,
          [`bench:eval:${i % 1000}`, `bench:eval:kt:${i % 1000}`],
          [value, 60_000, 'bench:eval:tag:', 'a', 'b'],
        )
      }
    }),
  )
  return (CALLS / (performance.now() - started)) * 1000
}

await run(SET_ENTRY) // warm up: loads the script, opens the connection
const results: Record<string, number[]> = { 'EVALSHA (cached)': [], 'EVAL (source)': [] }
for (let round = 0; round < ROUNDS; round++) {
  results['EVALSHA (cached)']!.push(await run(evalsha))
  results['EVAL (source)']!.push(await run(SET_ENTRY))
}
console.log(
  `set-entry script (${SET_ENTRY.lua.length} B of Lua), ${CALLS} calls x ${ROUNDS}, ${CONCURRENCY} in flight`,
)
console.log('| sent as | calls/s (median) | min | max |\n| --- | ---: | ---: | ---: |')
for (const [name, rates] of Object.entries(results)) {
  const sorted = [...rates].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]!
  console.log(
    `| ${name} | ${median.toFixed(0)} | ${sorted[0]!.toFixed(0)} | ${sorted.at(-1)!.toFixed(0)} |`,
  )
}
const keys = await client.keys('bench:eval:*')
if (keys.length > 0) await client.del(...keys)
client.disconnect()
