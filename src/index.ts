/**
 * stratacache: a two-tier cache (in-process L1, Redis L2) for Node.js backends.
 * @packageDocumentation
 */
export {
  type BatchItem,
  CacheManager,
  type GetOrComputeOptions,
  type SetOptions,
} from './cache/cache-manager.js'
export { type CustomType, registerType } from './cache/codec.js'
export type { CacheEvents, Tier } from './cache/events.js'
export {
  CacheKeyBuilder,
  type KeyParams,
  type KeyPart,
  type ParamScalar,
  type ParamValue,
} from './cache/key-builder.js'
export type { L1Stats } from './cache/l1-store.js'
export type { CacheMetricsSnapshot } from './cache/metrics.js'
export { instrumentOpenTelemetry, type OpenTelemetryOptions } from './cache/opentelemetry.js'
export type { CacheLogger, CacheOptions, LocalCacheOptions } from './cache/options.js'
export { CACHE_PRESETS, type CachePresetName } from './cache/presets.js'
export {
  CACHE_CHANNEL,
  type CacheInvalidationMessage,
  type CacheReadMessage,
  PRISMA_CHANNEL,
  type PrismaReadMessage,
  type PrismaWriteMessage,
} from './cache/tracing.js'
export type { Duration } from './cache/validate.js'
export { cacheOptionsFromEnv } from './config/cache-env.js'
export type {
  BusMessage,
  BusMessageHandler,
  BusNotice,
  BusStats,
  BusTrustHandler,
  InvalidationBus,
} from './drivers/bus.js'
export type {
  FillStart,
  L2Coordination,
  L2Driver,
  L2WriteItem,
  LeaseMode,
  StoreOutcome,
} from './drivers/l2-driver.js'
export {
  MemoryBus,
  MemoryBusHub,
  type MemoryBusHubOptions,
  type MemoryBusOptions,
} from './drivers/memory-bus.js'
export { RedisBus, type RedisBusOptions } from './drivers/redis-bus.js'
export type { RedisClusterConfig, RedisClusterNode } from './drivers/redis-cluster-client.js'
export { escapeGlob } from './drivers/redis-scan.js'
export type { UpstashConnection } from './drivers/upstash-client.js'
export {
  CorruptedValueError,
  DatabaseUnavailableError,
  type ErrorCode,
  ErrorCodes,
  L2Error,
  LoaderTimeoutError,
  SerializationError,
  StrataCacheError,
  ValidationError,
} from './errors.js'
export {
  CacheInvalidation,
  type CacheInvalidationEvents,
  type CacheInvalidationOptions,
  type DependencyInvalidationOptions,
  type InvalidatedEvent,
  type InvalidationErrorEvent,
  type WarmEntryOptions,
} from './invalidation/cache-invalidation.js'
export type {
  ErrorInfo,
  EventEmitterLike,
  InvalidationRule,
  RuleStats,
  WarmingItemStats,
  WarmingRunSummary,
  WarmingStats,
} from './invalidation/invalidation-types.js'
export type { CacheWarmingConfig, WarmingItem } from './invalidation/warming-config.js'
