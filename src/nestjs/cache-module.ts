import { type DynamicModule, Module, type Provider, type Type } from '@nestjs/common'
import { invalid } from '../errors.js'
import { createDatabaseHealthController } from './health-controller.js'
import { CACHE_MODULE_OPTIONS } from './injection.js'
import type {
  CacheModuleAsyncOptions,
  CacheModuleOptions,
  HealthControllerOptions,
} from './module-options.js'
import { cacheProviders } from './providers.js'
import { resolveCacheModuleOptions } from './resolve-options.js'

const ASYNC_FIELDS = new Set(['imports', 'inject', 'useFactory', 'healthController'])

/**
 * stratacache for NestJS: a global module providing `CacheManager`, `CacheInvalidation` (its rules
 * fired by `@nestjs/event-emitter`'s events when that module is in the application) and, given a
 * Prisma client, `DatabaseHealthCheck` and the `/health/db` routes. The cache is closed when the
 * application shuts down (`app.close()`, or a signal with `enableShutdownHooks()`).
 *
 * @example
 * ```ts
 * Module({
 *   imports: [
 *     CacheModule.register({
 *       redis: { host: process.env.REDIS_HOST || 'localhost', port: parseInt(process.env.REDIS_PORT || '6379') },
 *       defaultTtl: 3600000,
 *     }),
 *   ],
 * })(AppModule)
 * // in a service: constructor(private readonly cache: CacheManager) {}
 * ```
 */
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest module is a class, its factories static.
export class CacheModule {
  /**
   * The module with options known now. They are validated here: a bad one throws a
   * `ValidationError` naming it (`options.redis.port`) while the application module is declared.
   */
  static register(options: CacheModuleOptions = {}): DynamicModule {
    const controller = controllerOf(options?.healthController, 'options.healthController')
    const resolved = resolveCacheModuleOptions(options, {
      healthController: controller !== undefined,
      fromFactory: false,
    })
    const optionsProvider: Provider = { provide: CACHE_MODULE_OPTIONS, useValue: resolved }
    return moduleOf(optionsProvider, [], controller, resolved.prisma !== undefined)
  }

  /**
   * The module with options from a factory that may use other providers (configuration, a
   * `PrismaService`). Its result is validated as {@link register}'s options are; a bad one makes
   * the application's start fail with a `ValidationError`.
   */
  static registerAsync(options: CacheModuleAsyncOptions): DynamicModule {
    if (typeof options !== 'object' || options === null) {
      throw invalid('options', 'must be { imports?, inject?, useFactory, healthController? }')
    }
    for (const field of Object.keys(options)) {
      if (!ASYNC_FIELDS.has(field)) throw invalid(`options.${field}`, 'is not a known option')
    }
    const { imports = [], inject = [], useFactory } = options
    if (typeof useFactory !== 'function') {
      throw invalid('options.useFactory', 'must be a function returning the module options')
    }
    if (!Array.isArray(imports)) throw invalid('options.imports', 'must be an array of modules')
    if (!Array.isArray(inject)) throw invalid('options.inject', 'must be an array of tokens')
    const controller = controllerOf(options.healthController, 'options.healthController')
    const optionsProvider: Provider = {
      provide: CACHE_MODULE_OPTIONS,
      useFactory: async (...args: unknown[]) =>
        resolveCacheModuleOptions(await useFactory(...args), {
          healthController: controller !== undefined,
          fromFactory: true,
        }),
      inject,
    }
    return moduleOf(optionsProvider, imports, controller, true)
  }
}

Module({})(CacheModule)

function moduleOf(
  options: Provider,
  imports: NonNullable<DynamicModule['imports']>,
  controller: Type | undefined,
  withDatabase: boolean,
): DynamicModule {
  const { providers, exports } = cacheProviders(withDatabase)
  return {
    module: CacheModule,
    // One cache per application: every module injects it without importing CacheModule.
    global: true,
    imports,
    providers: [options, ...providers],
    exports,
    controllers: controller === undefined ? [] : [controller],
  }
}

/** The health controller asked for, validated; `undefined` when off. */
function controllerOf(
  option: boolean | HealthControllerOptions | undefined,
  field: string,
): Type | undefined {
  if (option === undefined || option === false) return undefined
  if (option === true) return createDatabaseHealthController()
  if (typeof option !== 'object' || option === null) {
    throw invalid(field, 'must be a boolean or { path }')
  }
  for (const key of Object.keys(option)) {
    if (key !== 'path') throw invalid(`${field}.${key}`, 'is not a known option')
  }
  if (option.path !== undefined && typeof option.path !== 'string') {
    throw invalid(`${field}.path`, 'must be a string')
  }
  return createDatabaseHealthController(option.path)
}
