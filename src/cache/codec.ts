/**
 * The cache's value codec, in one import:
 *
 * - {@link copyValue}: a value entering the cache (`set`, a loader's result) becomes a private,
 *   validated deep copy; what it rejects is named by its exact path.
 * - {@link cloneValue}: every L1 hit hands out a fresh deep copy of that private copy.
 * - {@link encodeEntry} / {@link decodeEntry}: the L2 entry format (msgpack, optionally deflated);
 *   {@link measureEntry}: its size and checks without encoding, for a cache with no L2.
 * - {@link registerType}: classes the codec does not know natively, such as Prisma's `Decimal`.
 *
 * Why msgpackr and a hand-written clone: measured in `bench/codec.ts` against superjson and JSON
 * with a Date reviver (encode + decode), and against `structuredClone` and decoding msgpack on
 * each read (per L1 hit). See the module docs of each part for the details.
 */
export { cloneValue, copyValue } from './clone.js'
export { type CustomType, registerType } from './custom-types.js'
export {
  DEFLATE_LEVEL,
  type EntryToEncode,
  encodeEntry,
  type MeasuredEntry,
  measureEntry,
  readStamp,
  STAMP_BYTES,
  STAMP_OFFSET,
  uncompressedSize,
} from './entry-format.js'
export { type DecodedEntry, decodeEntry } from './entry-read.js'
export { encodedSize } from './packable.js'
