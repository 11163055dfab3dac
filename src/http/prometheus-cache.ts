/**
 * The cache's metrics: its cumulative counters (`getMetrics()`) and L1 figures read at scrape
 * time, plus what only its events or its L2 timing hook tell (invalidations by kind and origin,
 * L2 failures by reason, circuit openings, Redis call durations), counted from the moment the
 * exporter was made.
 */
import { type CacheManager, cacheInternals } from '../cache/cache-manager.js'
import type { CacheEvents } from '../cache/events.js'
import type { CacheMetricsSnapshot } from '../cache/metrics.js'
import { ErrorCodes, L2Error } from '../errors.js'
import {
  BucketedSeries,
  labelledCounter,
  type MetricDefinition,
  type Sample,
} from './prometheus-collector.js'

const INVALIDATION_KINDS = ['tag', 'pattern', 'clear', 'delete'] as const
const ORIGINS = ['local', 'remote'] as const

type Counter = keyof CacheMetricsSnapshot

/** A counter series straight from one field of the cache's snapshot. */
function fromSnapshot(
  snapshot: () => CacheMetricsSnapshot,
  name: string,
  help: string,
  field: Counter,
): MetricDefinition {
  return {
    name,
    help,
    type: 'counter',
    collect: () => [{ labels: {}, value: Number(snapshot()[field]) }],
  }
}

function gauge(name: string, help: string, read: () => number, aggregator?: 'min' | 'max') {
  const definition: MetricDefinition = {
    name,
    help,
    type: 'gauge',
    collect: () => [{ labels: {}, value: read() }],
  }
  if (aggregator !== undefined) definition.aggregator = aggregator
  return definition
}

/** The cache's metrics and the function that detaches its listeners and its L2 observer. */
export function cacheMetrics(
  cache: CacheManager,
  l2Buckets: readonly number[] | undefined,
): { definitions: MetricDefinition[]; detach: () => void } {
  const snapshot = () => cache.getMetrics()
  const l1 = () => cache.getLocalCacheStats()

  // Every series exists from the start (at 0), so that rate() and alerts see it before the first event.
  const invalidations = new Map<string, number>()
  for (const kind of INVALIDATION_KINDS)
    for (const origin of ORIGINS) invalidations.set(`${kind}|${origin}`, 0)
  const l2Errors = { timeout: 0, unavailable: 0 }
  let circuitOpenings = 0

  const count = (kind: string, remote: boolean | undefined) => {
    const key = `${kind}|${remote === true ? 'remote' : 'local'}`
    invalidations.set(key, (invalidations.get(key) ?? 0) + 1)
  }
  const onInvalidate = (event: CacheEvents['invalidate'][0]) => count(event.kind, event.remote)
  const onDelete = (event: CacheEvents['delete'][0]) => count('delete', event.remote)
  const onError = ({ error }: CacheEvents['error'][0]) => {
    if (!(error instanceof L2Error)) return
    if (error.code === ErrorCodes.L2_TIMEOUT) l2Errors.timeout++
    else l2Errors.unavailable++
  }
  const onDegraded = () => {
    circuitOpenings++
  }
  // No `hit` listener: the cache emits hits only while one is attached, and they cost on its
  // hottest path; the snapshot's counters say the same.
  cache.on('invalidate', onInvalidate)
  cache.on('delete', onDelete)
  cache.on('error', onError)
  cache.on('degraded', onDegraded)

  const durations = l2Buckets === undefined ? undefined : new BucketedSeries(l2Buckets)
  const stopTiming =
    durations === undefined
      ? () => {}
      : cacheInternals(cache).observeL2((operation, ms) => durations.observe(operation, ms / 1000))

  const definitions: MetricDefinition[] = [
    labelledCounter({
      name: 'hits_total',
      help: 'Cache reads answered from a tier, by tier (l1: this process, l2: Redis).',
      label: 'tier',
      read: snapshot,
      values: { l1: (m) => m.l1Hits, l2: (m) => m.l2Hits },
    }),
    fromSnapshot(snapshot, 'misses_total', 'Cache reads no tier could answer.', 'misses'),
    labelledCounter({
      name: 'tier_misses_total',
      help: 'Lookups in one tier that found nothing usable (a read that misses L1 may hit L2).',
      label: 'tier',
      read: snapshot,
      values: { l1: (m) => m.l1Misses, l2: (m) => m.l2Misses },
    }),
    fromSnapshot(
      snapshot,
      'stale_hits_total',
      'Reads served a stale value (stale-while-revalidate, stale-if-error).',
      'staleHits',
    ),
    fromSnapshot(snapshot, 'sets_total', 'Values written (set, setBatch, fills).', 'sets'),
    fromSnapshot(snapshot, 'deletes_total', 'Keys removed with delete().', 'deletes'),
    fromSnapshot(
      snapshot,
      'loader_calls_total',
      'Loader calls made by getOrCompute: fills and background refreshes.',
      'loaderCalls',
    ),
    fromSnapshot(snapshot, 'loader_errors_total', 'Loader calls that failed.', 'loaderErrors'),
    fromSnapshot(
      snapshot,
      'loader_timeouts_total',
      'getOrCompute calls that gave up waiting for their loader.',
      'loaderTimeouts',
    ),
    fromSnapshot(
      snapshot,
      'fenced_fills_total',
      'Fills not cached because an invalidation raced them.',
      'fencedFills',
    ),
    fromSnapshot(
      snapshot,
      'early_refreshes_total',
      'Background refreshes started early on a fresh hit.',
      'earlyRefreshes',
    ),
    {
      name: 'invalidations_total',
      help: 'Invalidations applied, by kind (tag, pattern, clear, delete) and origin (local call, or remote: another instance through the bus; a remote delete may be an overwrite). Counted since the exporter started.',
      type: 'counter',
      collect: () => {
        const out: Sample[] = []
        for (const [key, value] of invalidations) {
          const [kind = '', origin = ''] = key.split('|')
          out.push({ labels: { kind, origin }, value })
        }
        return out
      },
    },
    fromSnapshot(
      snapshot,
      'errors_total',
      'Errors the cache absorbed, of every kind (Redis failures and timeouts, corrupted values, background refreshes).',
      'errors',
    ),
    {
      name: 'l2_errors_total',
      help: 'Redis calls that failed, by reason (timeout: no answer within commandTimeout; unavailable: refused or failed). Counted since the exporter started.',
      type: 'counter',
      collect: () => [
        { labels: { reason: 'timeout' }, value: l2Errors.timeout },
        { labels: { reason: 'unavailable' }, value: l2Errors.unavailable },
      ],
    },
    {
      name: 'l2_circuit_openings_total',
      help: 'Times the circuit breaker opened and Redis was bypassed. Counted since the exporter started.',
      type: 'counter',
      collect: () => [{ labels: {}, value: circuitOpenings }],
    },
    fromSnapshot(
      snapshot,
      'corrupted_values_total',
      'Stored values that could not be decoded (read as misses).',
      'corruptedValues',
    ),
    gauge(
      'degraded',
      '1 while Redis is bypassed by the circuit breaker, else 0.',
      () => (snapshot().degraded ? 1 : 0),
      'max',
    ),
    gauge(
      'bus_trusted',
      '1 while the invalidation bus is trusted (also when there is no bus), 0 while it may be missing invalidations.',
      () => (snapshot().busTrusted ? 1 : 0),
      'min',
    ),
    fromSnapshot(
      snapshot,
      'bus_received_total',
      'Invalidation notices received from other instances through the bus.',
      'busReceived',
    ),
    fromSnapshot(
      snapshot,
      'bus_sent_total',
      'Invalidation notices this instance sent to the others through the bus (accepted by Redis, or published by Redis with the invalidation they announce); fill wake-ups excluded.',
      'busSent',
    ),
    {
      name: 'bus_lag_seconds',
      help: 'Last measured bus lag: the round trip of one of its own heartbeats, from publishing to hearing it back on its subscription through Redis (one clock, no skew). Absent until measured, and for an in-process bus.',
      type: 'gauge',
      aggregator: 'max',
      collect: () => {
        const lagMs = snapshot().busLagMs
        return lagMs === undefined ? [] : [{ labels: {}, value: lagMs / 1000 }]
      },
    },
    fromSnapshot(
      snapshot,
      'bus_trust_lost_total',
      'Times the bus lost trust (subscription lost, heartbeat missing, message gap): L1 flushed.',
      'busTrustLost',
    ),
    gauge('l1_entries', 'Entries in this process L1.', () => l1().entries),
    gauge('l1_bytes', 'Bytes held by L1, as counted against its maxBytes.', () => l1().totalSize),
    gauge('l1_max_entries', 'The L1 entry cap (0 when L1 is off).', () => l1().maxEntries),
    gauge('l1_max_bytes', 'The L1 size cap in bytes (0 when L1 is off).', () => l1().maxBytes),
    gauge('l1_tags', 'Tags labelling at least one L1 entry.', () => l1().tags),
    {
      name: 'l1_evictions_total',
      help: 'L1 entries pushed out to make room (not expiries or deletions).',
      type: 'counter',
      collect: () => [{ labels: {}, value: l1().evictions }],
    },
  ]
  if (durations !== undefined) {
    definitions.push({
      name: 'l2_command_duration_seconds',
      help: 'Duration of Redis calls by operation (get, getMany, setMany, beginFill...); a timed-out call counts the time its caller waited.',
      type: 'histogram',
      collect: (name) => durations.samples(name, 'operation'),
    })
  }
  return {
    definitions,
    detach: () => {
      cache.off('invalidate', onInvalidate)
      cache.off('delete', onDelete)
      cache.off('error', onError)
      cache.off('degraded', onDegraded)
      stopTiming()
    },
  }
}
