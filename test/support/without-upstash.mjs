// Registered with `node --import`: makes `@upstash/redis` unresolvable to `import()`, as in an
// application that did not install the optional peer dependency.
import { register } from 'node:module'

register(
  `data:text/javascript,${encodeURIComponent(`
    export async function resolve(target, context, next) {
      if (target === '@upstash/redis' || target.startsWith('@upstash/redis/')) {
        const error = new Error("Cannot find package '@upstash/redis' imported from " + context.parentURL)
        error.code = 'ERR_MODULE_NOT_FOUND'
        throw error
      }
      return next(target, context)
    }
  `)}`,
)
