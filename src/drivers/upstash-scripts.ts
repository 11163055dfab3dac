/**
 * The Redis driver's Lua scripts over Upstash's REST API. Upstash runs EVAL and EVALSHA, so the
 * Upstash driver fences fills, stamps writes and keeps its tag index with the very scripts the
 * Redis driver sends, through the same helpers (`redis-fence.ts`, `redis-tag-index.ts`,
 * `redis-tag-invalidation.ts`, `runScript` in `redis-scripts.ts`, which falls back from EVALSHA to
 * EVAL on NOSCRIPT). Those helpers call four script methods of an ioredis client, and nothing
 * else on a standalone server (plus `publish` for a bus notice, which this driver never asks
 * for): {@link scriptHost} provides these four over REST.
 *
 * Values travel as base64 text (JSON carries no raw bytes), so every Buffer argument the helpers
 * pass is ASCII and goes as a latin1 string, and a `...Buffer` reply is the reply's text as bytes.
 */
import type { Redis } from 'ioredis'
import type { RestCommand, RestReply, UpstashRest } from './upstash-client.js'

type ScriptArg = string | number | Buffer

function text(arg: ScriptArg): string | number {
  return Buffer.isBuffer(arg) ? arg.toString('latin1') : arg
}

/** A reply with every string as bytes, as ioredis's `evalshaBuffer` gives it. */
function toBuffers(reply: RestReply): unknown {
  if (typeof reply === 'string') return Buffer.from(reply, 'utf8')
  if (Array.isArray(reply)) return reply.map(toBuffers)
  return reply
}

/**
 * An object with ioredis's `evalsha`, `eval`, `evalshaBuffer` and `evalBuffer` (`(script, numKeys,
 * ...keysAndArgs)`) sending EVALSHA / EVAL over `rest`; typed as a `Redis` for the shared script
 * helpers, which use nothing more of it on a standalone server.
 */
export function scriptHost(rest: UpstashRest): Redis {
  const send = (verb: 'EVAL' | 'EVALSHA', script: string, args: ScriptArg[], binary: boolean) => {
    const command: RestCommand = [verb, script, ...args.map(text)]
    const reply = rest.call(command)
    return binary ? reply.then(toBuffers) : reply
  }
  const host = {
    evalsha: (sha: string, ...args: ScriptArg[]) => send('EVALSHA', sha, args, false),
    eval: (lua: string, ...args: ScriptArg[]) => send('EVAL', lua, args, false),
    evalshaBuffer: (sha: string, ...args: ScriptArg[]) => send('EVALSHA', sha, args, true),
    evalBuffer: (lua: string, ...args: ScriptArg[]) => send('EVAL', lua, args, true),
    publish: () => Promise.reject(new Error('the Upstash REST driver has no pub/sub')),
  }
  return host as unknown as Redis
}
