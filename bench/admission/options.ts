/** The command line of the admission study: sizes, runs, trace shapes. (bench/admission.ts) */
export const QUICK = process.argv.includes('--quick')

export function numberOption(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`))
  const value = arg === undefined ? fallback : Number(arg.slice(name.length + 3))
  if (!(value > 0)) throw new Error(`--${name} must be a positive number`)
  return value
}
/** `--big`: full sizes (1 M keys, 2 M accesses); about 1.5 minutes. */
export const BIG = process.argv.includes('--big')
export const MODE = QUICK ? 'quick' : BIG ? 'big' : 'default'
export const KEYSPACE = QUICK ? 150_000 : BIG ? 1_000_000 : 500_000
/** Accesses per trace: twice the key space. */
export const ACCESSES = 2 * KEYSPACE
export const CAPACITY_FRACTIONS = [0.01, 0.1] as const
/** Timed replays per policy and trace (`--runs=`, default 1); the first gives the hit ratio. */
export const TIMING_RUNS = Math.round(numberOption('runs', 1))
/** The hit-path table: short rounds, many of them, so paired rounds see the same machine load. */
export const HIT_PATH_CHUNK = 100_000
export const HIT_PATH_ROUNDS = QUICK ? 11 : 41
/** `--doorkeeper`: also run W-TinyLFU with a doorkeeper (hit ratios within ~0.5 points). */
export const DOORKEEPER = process.argv.includes('--doorkeeper')
export const SEED = 20_170_501

/** Shifting trace: working-set size as a multiple of the capacity (`--shift-width=`, default 1). */
export const SHIFT_WIDTH = numberOption('shift-width', 1)
/** Shifting trace: mean accesses per key over its life (`--shift-uses=`, default 8). */
export const SHIFT_USES = numberOption('shift-uses', 8)
