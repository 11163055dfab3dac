import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { LRUCache } from 'lru-cache'
if (process.argv.includes('--gc')) { setFlagsFromString('--expose-gc'); (runInNewContext('gc') as () => void)() }
const keys: string[] = []; for (let i = 0; i < 10000; i++) keys.push(`product:${i}`)
const lru = new LRUCache<string, {v:number}>({ max: 20000 }); for (const k of keys) lru.set(k, { v: 1 })
const ids = new Int32Array(500000); let x = 7; for (let i = 0; i < ids.length; i++) { x = (Math.imul(x, 1103515245) + 12345) | 0; ids[i] = (x >>> 8) % 10000 }
const out: number[] = []
for (let r = 0; r < 8; r++) { const c = process.cpuUsage(); let h = 0; for (let i = 0; i < ids.length; i++) if (lru.get(keys[ids[i]!]!) !== undefined) h++; const d = process.cpuUsage(c); out.push(((d.user + d.system) * 1000) / ids.length) }
console.log(process.argv.includes('--gc') ? 'gc ' : 'no ', out.map((v) => v.toFixed(0)).join(' '))
