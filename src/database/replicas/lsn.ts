/**
 * PostgreSQL WAL positions (`pg_lsn`, written `16/B374D848`: the high and low 32 bits in hex) as
 * bigints, so that "has this replica replayed that write" is one comparison.
 */

/** The LSN `text` as a bigint; throws on anything that is not `<hex>/<hex>`. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text)
  if (match === null) throw new Error(`not a PostgreSQL LSN: ${JSON.stringify(text)}`)
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`)
}

/** The bigint `lsn` as PostgreSQL writes it (`16/B374D848`). */
export function formatLsn(lsn: bigint): string {
  const high = (lsn >> 32n).toString(16).toUpperCase()
  const low = (lsn & 0xffff_ffffn).toString(16).toUpperCase()
  return `${high}/${low}`
}
