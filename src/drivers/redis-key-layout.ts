/**
 * The names of the Redis driver's keys, in one place, for both topologies.
 *
 * An entry is `P<key>` on both (P the prefix): reads, SCAN, patterns and the write stamp's
 * `GETRANGE` are the same commands. What differs is the driver's own keys:
 *
 * - **Standalone** keeps the names it always had (`P__sc:lease:<key>`, `P__sc:v:t:<tag>`...): a
 *   rolling upgrade mixes releases that must fence each other, and a script may name keys it was
 *   not given on one server.
 * - **Cluster** names every key so that whatever one script touches shares a hash slot: the keys
 *   of one cache key (its lease, waiters and version, and the `all` version of its slot) carry a
 *   hash tag that maps to the entry's own slot, and the keys of one tag (its set and version) one
 *   that maps to the tag's slot. The hash tag is a short brace-free string chosen per slot from
 *   {@link slotTag} (a cache key may itself contain braces, so it cannot be copied into one).
 *   Scripts name every key they touch in `KEYS`.
 */

import { invalid } from '../errors.js'

/** Redis Cluster's CRC16 (XMODEM), over bytes. */
function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0
  for (let i = start; i < end; i++) {
    crc ^= bytes[i]! << 8
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    }
  }
  return crc
}

export const SLOT_COUNT = 16384

/** The hash slot of a Redis name, by Redis's rule: the first non-empty `{...}`, else the whole name. */
export function slotOf(name: string): number {
  const bytes = Buffer.from(name)
  const open = bytes.indexOf(0x7b)
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1)
    if (close > open + 1) return crc16(bytes, open + 1, close) & (SLOT_COUNT - 1)
  }
  return crc16(bytes, 0, bytes.length) & (SLOT_COUNT - 1)
}

let slotTags: string[] | undefined

/** A short brace-free string whose slot is `slot` (computed once, for all slots: a few ms). */
export function slotTag(slot: number): string {
  if (slotTags === undefined) {
    const tags = new Array<string>(SLOT_COUNT)
    let left = SLOT_COUNT
    for (let n = 0; left > 0; n++) {
      const text = n.toString(36)
      const s = slotOf(text)
      if (tags[s] === undefined) {
        tags[s] = text
        left--
      }
    }
    slotTags = tags
  }
  return slotTags[slot]!
}

/** Names of the driver's keys for one prefix. */
export interface RedisKeyLayout {
  readonly cluster: boolean
  /** Everything the driver keeps besides entries starts with this (`P__sc:`). */
  readonly reserved: string
  /** Every version key starts with this (`P__sc:v:`): `clear` keeps them. */
  readonly versions: string
  entry(key: string): string
  lease(key: string): string
  waiters(key: string): string
  keyVersion(key: string): string
  /** The tag record of an entry (standalone only: a Cluster keeps no records). */
  record(key: string): string
  tagSet(tag: string): string
  tagVersion(tag: string): string
  /** Members of a tag being invalidated whose entries are not deleted yet (Cluster only). */
  tagDraining(tag: string): string
  /** The version that fences every fill of `key` on pattern invalidations and `clear`. */
  allVersion(key: string): string
}

export function standaloneLayout(prefix: string): RedisKeyLayout {
  const reserved = `${prefix}__sc:`
  const versions = `${reserved}v:`
  return {
    cluster: false,
    reserved,
    versions,
    entry: (key) => prefix + key,
    lease: (key) => `${reserved}lease:${key}`,
    waiters: (key) => `${reserved}wait:${key}`,
    keyVersion: (key) => `${versions}k:${key}`,
    record: (key) => `${reserved}kt:${key}`,
    tagSet: (tag) => `${reserved}tag:${tag}`,
    tagVersion: (tag) => `${versions}t:${tag}`,
    tagDraining: (tag) => `${reserved}drain:${tag}`,
    allVersion: () => `${versions}all`,
  }
}

/**
 * The Cluster layout. A prefix with a complete `{...}` puts every key in that one slot (still
 * correct); one with a `{` not closed within it would give an entry and its keys different slots.
 *
 * @throws ValidationError (`prefix`) for such a prefix.
 */
export function clusterLayout(prefix: string): RedisKeyLayout {
  const open = prefix.indexOf('{')
  if (open !== -1 && prefix.indexOf('}', open + 2) === -1) {
    throw invalid('prefix', 'opens a "{" it does not close: on a Cluster its keys would span slots')
  }
  const reserved = `${prefix}__sc:`
  const versions = `${reserved}v:`
  const keyTag = (key: string) => `{${slotTag(slotOf(prefix + key))}}${key}`
  const tagTag = (tag: string) => `{${slotTag(slotOf(tag))}}${tag}`
  return {
    cluster: true,
    reserved,
    versions,
    entry: (key) => prefix + key,
    lease: (key) => `${reserved}lease:${keyTag(key)}`,
    waiters: (key) => `${reserved}wait:${keyTag(key)}`,
    keyVersion: (key) => `${versions}k:${keyTag(key)}`,
    record: (key) => `${reserved}kt:${keyTag(key)}`,
    tagSet: (tag) => `${reserved}tag:${tagTag(tag)}`,
    tagVersion: (tag) => `${versions}t:${tagTag(tag)}`,
    tagDraining: (tag) => `${reserved}drain:${tagTag(tag)}`,
    allVersion: (key) => `${versions}all:{${slotTag(slotOf(prefix + key))}}`,
  }
}

/** The `all` version of every slot (for `clear` and pattern invalidations on a Cluster). */
export function allSlotVersions(prefix: string): string[] {
  const out = new Array<string>(SLOT_COUNT)
  for (let s = 0; s < SLOT_COUNT; s++) out[s] = `${prefix}__sc:v:all:{${slotTag(s)}}`
  return out
}
