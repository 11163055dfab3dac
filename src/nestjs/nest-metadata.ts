/**
 * Nest metadata written without decorator syntax. stratacache compiles without
 * `experimentalDecorators` (and Nest's decorators are not standard ones), so the decorator
 * functions are called directly, exactly as the compiler would call them.
 */
import { Get, Header, Inject, type InjectionToken, Optional, Res } from '@nestjs/common'

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
