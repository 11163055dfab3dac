/**
 * A small NestJS application for test/nestjs/cache-module.test.ts, written as an application would write it
 * but without decorator syntax (the project compiles without `experimentalDecorators`): the
 * decorator functions are called as the compiler would call them.
 */
import type { AddressInfo } from 'node:net'
import {
  Controller,
  type DynamicModule,
  Get,
  type INestApplication,
  Inject,
  Injectable,
  Module,
  type OnModuleInit,
  Param,
} from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { HealthCheckService } from '@nestjs/terminus'
import { CacheInvalidation, CacheManager } from '../../src/index.js'
import { StrataCacheHealthIndicator } from '../../src/nestjs/index.js'

/** `@Get(path)` on `target.prototype[method]`. */
function get(target: { prototype: object }, method: string, path: string): void {
  const proto = target.prototype
  Get(path)(proto, method, Object.getOwnPropertyDescriptor(proto, method)!)
}

/** What the configuration module gives `CacheModule.registerAsync`'s factory. */
export interface AppConfig {
  redisHost: string
  redisPort: number
  prefix: string
  /** The cache's default TTL, ms. */
  ttlMs: number
  healthCheckIntervalMs: number
}

export const APP_CONFIG = 'APP_CONFIG'
export const PRISMA = 'PRISMA'

/** A configuration module, as `@nestjs/config` would be: a config object and a Prisma client. */
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest module is a class, its factories static.
export class ConfigModule {
  static with(config: AppConfig, prisma: unknown): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: PRISMA, useValue: prisma },
      ],
      exports: [APP_CONFIG, PRISMA],
    }
  }
}
Module({})(ConfigModule)

/** A product as the service loads it; `load` counts the loader calls. */
export interface Product {
  id: string
  name: string
  load: number
}

/** Caches products through the injected `CacheManager`; a rule drops them on `product.updated`. */
export class ProductsService implements OnModuleInit {
  loads = 0
  constructor(
    readonly cache: CacheManager,
    readonly invalidation: CacheInvalidation,
  ) {}

  onModuleInit(): void {
    this.invalidation.registerRule({
      id: 'products',
      pattern: 'product:*',
      triggers: ['product.updated'],
      enabled: true,
    })
  }

  product(id: string): Promise<Product> {
    return this.cache.getOrCompute(
      `product:${id}`,
      async () => ({ id, name: `Product ${id}`, load: ++this.loads }),
      { tags: ['products'] },
    )
  }
}
Injectable()(ProductsService)
Inject(CacheManager)(ProductsService, undefined, 0)
Inject(CacheInvalidation)(ProductsService, undefined, 1)

export class ProductsController {
  constructor(readonly products: ProductsService) {}
  product(id: string): Promise<Product> {
    return this.products.product(id)
  }
}
Controller('products')(ProductsController)
Inject(ProductsService)(ProductsController, undefined, 0)
Param('id')(ProductsController.prototype, 'product', 0)
get(ProductsController, 'product', ':id')

/** `GET /status`: terminus with the stratacache indicators. */
export class StatusController {
  constructor(
    readonly health: HealthCheckService,
    readonly strata: StrataCacheHealthIndicator,
  ) {}
  check() {
    return this.health.check([
      () => this.strata.isCacheHealthy('cache'),
      () => this.strata.isDatabaseHealthy('database'),
    ])
  }
}
Controller('status')(StatusController)
Inject(HealthCheckService)(StatusController, undefined, 0)
Inject(StrataCacheHealthIndicator)(StatusController, undefined, 1)
get(StatusController, 'check', '')

/** A module of `imports` (and `controllers`, `providers`), under a fresh class. */
export function appModule(metadata: Parameters<typeof Module>[0]): new () => object {
  class AppModule {}
  Module(metadata)(AppModule)
  return AppModule
}

/** An HTTP application on the express platform, listening on a free port of 127.0.0.1. */
export async function listen(
  module: new () => object,
): Promise<{ app: INestApplication; url: string }> {
  const app = await NestFactory.create(module, { logger: false, abortOnError: false })
  await app.listen(0, '127.0.0.1')
  const { port } = app.getHttpServer().address() as AddressInfo
  return { app, url: `http://127.0.0.1:${port}` }
}

/** A GET request: status, content type and body (JSON when it is JSON). */
export async function fetchJson(
  url: string,
): Promise<{ status: number; type: string; body: unknown }> {
  const response = await fetch(url)
  const type = response.headers.get('content-type') ?? ''
  const body = type.includes('json') ? await response.json() : await response.text()
  return { status: response.status, type, body }
}
