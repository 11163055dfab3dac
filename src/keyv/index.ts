/**
 * stratacache/keyv: a Keyv storage adapter, so that Keyv, cache-manager 7 and
 * `@nestjs/cache-manager` can run on a stratacache CacheManager.
 * @packageDocumentation
 */

export { KeyvStratacache, type KeyvStratacacheOptions } from './keyv-store.js'
