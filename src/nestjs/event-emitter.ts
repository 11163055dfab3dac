/**
 * `@nestjs/event-emitter` is an optional peer: its `EventEmitter2` class is the token its module
 * provides the emitter under, so it is looked up when the package is installed, and never
 * imported statically (an application without it must still load `stratacache/nestjs`).
 */
import { packageRequire } from '../module-url.js'

/** A class used as an injection token. */
export type ClassToken = abstract new (...args: never[]) => unknown

let token: ClassToken | undefined
let looked = false

/** `EventEmitter2` of `@nestjs/event-emitter` (the provider token), or `undefined` when absent. */
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
