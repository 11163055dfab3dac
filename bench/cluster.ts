/**
 * Redis Cluster measurements, outside the main harness (each run starts its own clusters on
 * loopback, with test/support/redis-cluster-server.ts): `npx tsx bench/cluster.ts`.
 *
 * - L2 throughput of the Redis driver on a cluster of 1 master (all slots, no replica) and of
 *   3 masters + 3 replicas: GETs, and tag invalidations (a tagged set, then `deleteByTags`),
 *   each from 64 concurrent loops for a few seconds.
 * - The bus's transport: `PUBLISH` (every node of the cluster forwards it) against `SPUBLISH`
 *   (the shard of the channel's slot only), the round trip of one message to a subscriber, one
 *   at a time, and the publish throughput from 64 loops; then the same between two `RedisBus`es
 *   (which use `SPUBLISH`/`SSUBSCRIBE`), with the sequence gaps the receiving one saw.
 *
 * On one machine every node shares its cores with the client: the numbers compare topologies
 * here, they do not predict a real deployment.
 */
import { performance } from 'node:perf_hooks'
import { Cluster } from 'ioredis'
import { RedisBus } from '../src/drivers/redis-bus.js'
import { RedisDriver } from '../src/drivers/redis-driver.js'
import { RedisClusterServer } from '../test/support/redis-cluster-server.js'

const SECONDS = Number(process.env.CLUSTER_BENCH_SECONDS ?? 3)
const LOOPS = 64

async function throughput(op: (i: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + SECONDS * 1000
  let done = 0
  await Promise.all(
    Array.from({ length: LOOPS }, async (_, loop) => {
      for (let i = loop; performance.now() < end; i += LOOPS) {
        await op(i)
        done++
      }
    }),
  )
  return done / SECONDS
}

async function l2(server: RedisClusterServer, label: string): Promise<string[]> {
  const driver = new RedisDriver({ cluster: server.nodes, prefix: 'bench:cluster:' })
  const value = Buffer.alloc(200, 7)
  const keys = 5_000
  for (let i = 0; i < keys; i += 500) {
    await Promise.all(
      Array.from({ length: 500 }, (_, j) => driver.set(`k:${i + j}`, value, 600_000, [])),
    )
  }
  const gets = await throughput((i) => driver.get(`k:${i % keys}`))
  const invalidations = await throughput(async (i) => {
    await driver.set(`t:${i}`, value, 600_000, [`tag:${i}`])
    await driver.deleteByTags([`tag:${i}`])
  })
  await driver.clear()
  await driver.close()
  return [
    `| ${label} | ${Math.round(gets).toLocaleString('en')} | ${Math.round(invalidations).toLocaleString('en')} |`,
  ]
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

async function bus(server: RedisClusterServer, sharded: boolean): Promise<string> {
  const options = { shardedSubscribers: sharded }
  const subscriber = new Cluster(server.nodes, options)
  const publisher = new Cluster(server.nodes, options)
  const channel = 'bench:cluster:__sc:bus'
  const waiting = new Map<string, () => void>()
  const onMessage = (_: string, message: string) => waiting.get(message)?.()
  if (sharded) {
    subscriber.on('smessage', onMessage)
    await subscriber.ssubscribe(channel)
  } else {
    subscriber.on('message', onMessage)
    await subscriber.subscribe(channel)
  }
  const publish = (message: string) =>
    sharded ? publisher.spublish(channel, message) : publisher.publish(channel, message)
  const rounds: number[] = []
  for (let i = 0; i < 2_000; i++) {
    const message = `m${i}`
    const started = performance.now()
    const received = new Promise<void>((resolve) => waiting.set(message, resolve))
    await publish(message)
    await received
    waiting.delete(message)
    rounds.push((performance.now() - started) * 1000)
  }
  rounds.sort((a, b) => a - b)
  const rate = await throughput((i) => publish(`x${i}`))
  subscriber.disconnect()
  publisher.disconnect()
  const us = (v: number) => `${v.toFixed(0)} µs`
  return `| ${sharded ? 'SPUBLISH / SSUBSCRIBE' : 'PUBLISH / SUBSCRIBE'} | ${us(quantile(rounds, 0.5))} | ${us(quantile(rounds, 0.99))} | ${Math.round(rate).toLocaleString('en')} |`
}

/** The same through two `RedisBus`es (sharded on a Cluster), with the gaps the receiver saw. */
async function redisBus(server: RedisClusterServer): Promise<string> {
  const channel = 'bench:cluster:bus:__sc:bus'
  const [a, b] = [0, 1].map(() => new RedisBus({ client: server.client(), channel }))
  await Promise.all([a!.start(), b!.start()])
  let arrived = () => {}
  b!.onMessage(() => arrived())
  const rounds: number[] = []
  for (let i = 0; i < 2_000; i++) {
    const started = performance.now()
    const received = new Promise<void>((resolve) => {
      arrived = resolve
    })
    await a!.publish({ type: 'delete', keys: [`m${i}`] })
    await received
    rounds.push((performance.now() - started) * 1000)
  }
  rounds.sort((x, y) => x - y)
  const rate = await throughput((i) => a!.publish({ type: 'delete', keys: [`x${i}`] }))
  const { sequenceGaps } = b!.stats
  await Promise.all([a!.close(), b!.close()])
  const us = (v: number) => `${v.toFixed(0)} µs`
  return `| RedisBus to RedisBus (${sequenceGaps} sequence gaps) | ${us(quantile(rounds, 0.5))} | ${us(quantile(rounds, 0.99))} | ${Math.round(rate).toLocaleString('en')} |`
}

const one = await RedisClusterServer.startOneMaster()
const three = await RedisClusterServer.start()
try {
  const lines = [
    `L2 throughput, ${LOOPS} concurrent loops, ${SECONDS} s each (ops/s):`,
    '',
    '| cluster | GET | tag invalidation (tagged set + deleteByTags) |',
    '| --- | ---: | ---: |',
    ...(await l2(one, '1 master')),
    ...(await l2(three, '3 masters + 3 replicas')),
    '',
    'Bus transport on 3 masters + 3 replicas (2 000 sequential round trips; publishes/s from 64 loops):',
    '',
    '| transport | round trip p50 | p99 | publishes/s |',
    '| --- | ---: | ---: | ---: |',
    await bus(three, false),
    await bus(three, true),
    await redisBus(three),
  ]
  console.log(lines.join('\n'))
} finally {
  await one.stop()
  await three.stop()
}
