/**
 * The methods the query patterns call on a model delegate, untyped: the public functions are
 * typed by the caller's delegate (see types.ts), and arguments are checked before these calls.
 * Each returns Prisma's lazy PrismaPromise, which `$transaction([...])` can batch.
 */
export interface RuntimeDelegate {
  findMany(args: unknown): PromiseLike<unknown[]>
  findFirst(args: unknown): PromiseLike<unknown>
  count(args: unknown): PromiseLike<number>
  createMany(args: unknown): PromiseLike<{ count: number }>
  createManyAndReturn(args: unknown): PromiseLike<unknown[]>
  updateMany(args: unknown): PromiseLike<{ count: number }>
  deleteMany(args: unknown): PromiseLike<{ count: number }>
  groupBy(args: unknown): PromiseLike<unknown[]>
}
