// Registered with `node --import`: makes `prom-client` unresolvable, as in an application that
// did not install the optional peer dependency.
import { register } from 'node:module'

register(
  `data:text/javascript,${encodeURIComponent(`
    export async function resolve(target, context, next) {
      if (target === 'prom-client' || target.startsWith('prom-client/')) {
        const error = new Error("Cannot find package 'prom-client' imported from " + context.parentURL)
        error.code = 'ERR_MODULE_NOT_FOUND'
        throw error
      }
      return next(target, context)
    }
  `)}`,
)
