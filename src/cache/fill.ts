import { randomBytes } from 'node:crypto'
import type { FillStart } from '../drivers/l2-driver.js'
import type { ResilientCoordination } from '../drivers/resilient-coordination.js'
import { unwrapLoaded } from './local-only.js'
import type { CacheMetrics } from './metrics.js'
import type { WritePlan } from './store-types.js'
import type { TieredStore } from './tiered-store.js'

/** What a fill needs of its plan: where and how long to store, and whether to store at all. */
export interface FillPlan extends WritePlan {
  /** See `ComputePlan.storeIf`: a value it refuses is returned to the callers, never stored. */
  storeIf: ((value: unknown) => boolean) | undefined
}

/** How fills coordinate across instances. */
export interface FillSettings {
  /** Lease duration in ms; 0 turns cross-instance single-flight off (fills are still fenced). */
  leaseMs: number
  /** A loader slower than this does not store: the versions that fence it may have expired. */
  fenceWindowMs: number
  /** Called after a value was stored in L2: waiters here and on other instances stop polling. */
  announce(key: string): void
  /** Called when a fill gave its lease back without a value: this instance's waiters poll now. */
  released(key: string): void
  /** Resolves when `key` is announced or released (here or by another instance), or after `ms`. */
  waitForAnnounce(key: string, ms: number): Promise<void>
}

const FIRST_POLL_MS = 5
const MAX_POLL_MS = 50

/**
 * One fill: run the loader and store its value, fenced in this process (a ticket of the
 * {@link FillFence}) and across instances (versions read before the loader, checked by the L2
 * store script), and, with a lease, once across instances (guarantee 8): the instance that takes
 * the key's lease loads; the others poll (woken early by the bus) until its value lands or its
 * lease expires, so a crashed holder delays them by at most one lease.
 *
 * `ticket` is the fill's fence ticket, taken (and released) by the caller, who also uses it to
 * decide whether a later caller may still join this fill.
 */
export async function fill(
  store: TieredStore,
  metrics: CacheMetrics,
  settings: FillSettings,
  key: string,
  compute: () => unknown,
  plan: FillPlan,
  ticket: number,
  refresh = false,
  first?: FirstStart,
): Promise<FillResult> {
  {
    const coordination = store.l2?.available ? store.l2.coordination : undefined
    if (coordination === undefined)
      return await loadAlone(store, metrics, key, compute, plan, ticket)
    const token = first?.token ?? newLeaseToken()
    const wantLease = settings.leaseMs > 0
    const leaseMode = wantLease ? 'always' : 'never'
    // Waiting is bounded: past three leases something is wrong (holders keep dying); load alone.
    const giveUpAt = Date.now() + Math.max(settings.leaseMs, 1) * 3
    let pollMs = FIRST_POLL_MS
    let given = first?.start
    for (;;) {
      const start =
        given ?? (await coordination.beginFill(key, plan.tags, settings.leaseMs, token, leaseMode))
      given = undefined
      if (start === undefined) {
        // The request timed out but may still run (say, Redis was paused): a lease taken then
        // would block other instances for a whole lease. The release queues behind it.
        if (wantLease) void coordination.releaseLease(key, token)
        return await loadAlone(store, metrics, key, compute, plan, ticket)
      }
      if (start.value !== undefined && !(refresh && start.lease)) {
        // A fresh value is there: a miss takes it; a refresh (SWR, XFetch) takes it only when it
        // did not get the lease, i.e. another instance is refreshing or just refreshed.
        const stored = store.acceptStored(key, start.value, ticket)
        if (stored !== undefined) {
          if (start.lease) void coordination.releaseLease(key, token)
          return { value: stored.value, stamp: stored.stamp, stored: true }
        }
      }
      if (start.lease || !wantLease || Date.now() >= giveUpAt) {
        const remote = { coordination, versions: start.versions, token, lease: start.lease }
        return await loadFenced(store, metrics, settings, key, compute, plan, ticket, remote)
      }
      await settings.waitForAnnounce(key, pollMs)
      pollMs = Math.min(pollMs * 2, MAX_POLL_MS)
    }
  }
}

/**
 * A `beginFill` the caller already made (with the same `token`): `getOrCompute` reads L2 with it
 * on a miss, so that a cold key costs one round trip before the loader instead of two.
 */
export interface FirstStart {
  start: FillStart
  token: string
}

/** A random token identifying one fill's lease. */
export function newLeaseToken(): string {
  return randomBytes(12).toString('base64url')
}

/** What a fill produced. */
export interface FillResult {
  /** The cache's private copy of the value. */
  value: unknown
  /** The write stamp of the entry, for strict mode's check of callers who joined the fill. */
  stamp: string
  /** Whether the value is now the cached entry (false: fenced, or L2 could not confirm it). */
  stored: boolean
}

/** Runs the loader: its value (without a local-only mark), the time it took, and the mark. */
async function runLoader(
  metrics: CacheMetrics,
  compute: () => unknown,
): Promise<[unknown, number, boolean]> {
  metrics.loaderCalls++
  const started = performance.now()
  try {
    const [value, local] = unwrapLoaded(await compute())
    return [value, performance.now() - started, local]
  } catch (error) {
    metrics.loaderErrors++
    throw error
  }
}

/** No coordination (memory only, Cluster, or L2 unreachable): fenced in this process only. */
async function loadAlone(
  store: TieredStore,
  metrics: CacheMetrics,
  key: string,
  compute: () => unknown,
  plan: FillPlan,
  ticket: number,
): Promise<FillResult> {
  const [value, loadMs, local] = await runLoader(metrics, compute)
  if (plan.storeIf !== undefined && !plan.storeIf(value)) return unstored(value)
  const prepared = store.prepare(value, plan, loadMs)
  const stored = store.fence.canStore(ticket, key, plan.tags)
  if (!stored) metrics.fencedFills++
  else if (local) store.writeLocal(key, prepared)
  else await store.write(key, prepared)
  return { value: prepared.copy, stamp: prepared.stamp, stored: stored && !local }
}

interface Remote {
  coordination: ResilientCoordination
  versions: string[]
  token: string
  lease: boolean
}

async function loadFenced(
  store: TieredStore,
  metrics: CacheMetrics,
  settings: FillSettings,
  key: string,
  compute: () => unknown,
  plan: FillPlan,
  ticket: number,
  remote: Remote,
): Promise<FillResult> {
  let value: unknown
  let loadMs: number
  let local: boolean
  try {
    ;[value, loadMs, local] = await runLoader(metrics, compute)
  } catch (error) {
    giveBack(settings, remote, key)
    throw error
  }
  if (plan.storeIf !== undefined && !plan.storeIf(value)) {
    giveBack(settings, remote, key)
    return unstored(value)
  }
  const prepared = store.prepare(value, plan, loadMs)
  if (local) {
    // Kept here only: the lease goes back, and other instances load for themselves.
    giveBack(settings, remote, key)
    if (store.fence.canStore(ticket, key, plan.tags)) store.writeLocal(key, prepared)
    else metrics.fencedFills++
    return { value: prepared.copy, stamp: prepared.stamp, stored: false }
  }
  if (loadMs > settings.fenceWindowMs || !store.fence.canStore(ticket, key, plan.tags)) {
    metrics.fencedFills++
    giveBack(settings, remote, key)
    return { value: prepared.copy, stamp: prepared.stamp, stored: false }
  }
  const stored = await remote.coordination.storeFill(
    key,
    prepared.bytes,
    plan.ttlMs + plan.staleMs,
    plan.tags,
    remote.versions,
    remote.token,
  )
  // Checked again: a local invalidation may have run while the store was in flight.
  const stillValid = store.fence.canStore(ticket, key, plan.tags)
  if (stored === false || !stillValid) {
    metrics.fencedFills++
  } else {
    // `undefined`: L2 failed (and will drop the key on recovery): keep the value locally.
    store.writeLocal(key, prepared)
    if (stored === true) settings.announce(key)
  }
  // The store script gave the lease back (stored or fenced); after a failure, do it here.
  if (stored === undefined) giveBack(settings, remote, key)
  else if (stored === false || !stillValid) settings.released(key)
  return { value: prepared.copy, stamp: prepared.stamp, stored: stored === true && stillValid }
}

/** Gives the lease back (when held) and wakes this instance's fills waiting for it. */
function giveBack(settings: FillSettings, remote: Remote, key: string): void {
  if (remote.lease) void remote.coordination.releaseLease(key, remote.token)
  settings.released(key)
}

/**
 * A loaded value the plan's `storeIf` refused: the callers get it (each a copy), nothing keeps
 * it.
 */
function unstored(value: unknown): FillResult {
  return { value, stamp: '', stored: false }
}
