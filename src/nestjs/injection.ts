/**
 * How `CacheModule` meets Nest's dependency injection: its injection tokens besides its classes
 * (`CacheManager`, `CacheInvalidation`, `DatabaseHealthCheck` are their own tokens; strings rather
 * than symbols, so that Nest's dependency errors name them readably), the class token of the
 * optional `@nestjs/event-emitter` (looked up when installed, never imported statically: an
 * application without it must still load `stratacache/nestjs`), and Nest metadata written
 * without decorator syntax: stratacache compiles without `experimentalDecorators` (and Nest's
 * decorators are not standard ones), so the decorator functions are called directly, exactly as
 * the compiler would call them.
 */
import { Get, Header, Inject, type InjectionToken, Optional, Res } from '@nestjs/common'
import { packageRequire } from '../module-url.js'

/** The module's options after validation and mapping (`ResolvedCacheModuleOptions`). */
export const CACHE_MODULE_OPTIONS = 'STRATACACHE_MODULE_OPTIONS'

/**
 * The emitter whose events fire `CacheInvalidation` rules: the `events` option when given, else
 * `@nestjs/event-emitter`'s `EventEmitter2` when `EventEmitterModule` is in the application,
 * else a node `EventEmitter` of the module's own. Inject it to emit events in either case.
 */
export const CACHE_INVALIDATION_EVENTS = 'STRATACACHE_INVALIDATION_EVENTS'

/** A class used as an injection token. */
export type ClassToken = abstract new (...args: never[]) => unknown

let token: ClassToken | undefined
let looked = false

/**
 * `EventEmitter2` of `@nestjs/event-emitter`, the token its module provides the emitter under, or
 * `undefined` when the package is absent.
 */
export function eventEmitter2Token(): ClassToken | undefined {
  if (!looked) {
    looked = true
    try {
      token = (packageRequire('@nestjs/event-emitter') as { EventEmitter2: ClassToken })
        .EventEmitter2
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error
    }
  }
  return token
}

/** A constructor parameter: its token, and whether it may be missing (then `undefined`). */
export type Dependency = InjectionToken | { token: InjectionToken; optional: true }

/** `constructor(@Inject(a) x, @Optional() @Inject(b) y, ...)`, in order. */
export function injectInto(target: abstract new (...args: never[]) => unknown, deps: Dependency[]) {
  deps.forEach((dep, index) => {
    const optional = typeof dep === 'object' && dep !== null && 'optional' in dep
    Inject(optional ? dep.token : dep)(target, undefined, index)
    if (optional) Optional()(target, undefined, index)
  })
}

/**
 * `@Get(path)` on `target.prototype[method]`, whose first parameter is `@Res({ passthrough: true })`
 * (the handler sets the status code and still returns the body), with `@Header('Content-Type')`
 * when `contentType` is given.
 */
export function getRoute(
  target: { prototype: object },
  method: string,
  path: string,
  contentType?: string,
): void {
  const proto = target.prototype
  const descriptor = Object.getOwnPropertyDescriptor(proto, method)
  if (descriptor === undefined) throw new Error(`${method} is not a method of the controller`)
  Res({ passthrough: true })(proto, method, 0)
  if (contentType !== undefined) Header('Content-Type', contentType)(proto, method, descriptor)
  Get(path)(proto, method, descriptor)
}
