import type { Shop } from './replica-cluster.js'

/**
 * Writers increment balances and note each acknowledged value; readers (cached and uncached)
 * check every read against the value acknowledged before it started; replay is paused and
 * resumed underneath (through `replay`). Where reads go is up to `prisma`: the router, or a
 * stand-in sending every read to the replica.
 */
export async function checker(prisma: Shop['prisma'], replay: (on: boolean) => Promise<void>) {
  const acknowledged = new Map<number, number>()
  for (const account of await prisma.$primary(() =>
    prisma.account.findMany({ cacheStrategy: false }),
  )) {
    acknowledged.set(account.id, account.balance)
  }
  const violations: string[] = []
  let reads = 0
  let stop = false
  const writer = async (seed: number) => {
    for (let i = 0; i < 40; i++) {
      const id = ((seed + i) % 4) + 1
      const { balance } = await prisma.account.update({
        where: { id },
        data: { balance: { increment: 1 } },
      })
      acknowledged.set(id, Math.max(acknowledged.get(id) ?? 0, balance))
    }
  }
  const reader = async (seed: number) => {
    for (let i = 0; !stop; i++) {
      const id = ((seed + i) % 4) + 1
      const floor = acknowledged.get(id) ?? 0
      const account =
        i % 2 === 0
          ? await prisma.account.findUnique({ where: { id } })
          : (await prisma.account.findMany({ where: { id }, cacheStrategy: false }))[0]
      reads++
      if ((account?.balance ?? -1) < floor) {
        violations.push(`account ${id}: read ${account?.balance}, acknowledged ${floor}`)
      }
      await prisma.note.findMany({ cacheStrategy: false })
    }
  }
  const toggler = async () => {
    for (let on = false; !stop; on = !on) {
      await replay(on)
      await new Promise((resolve) => setTimeout(resolve, 15))
    }
    await replay(true)
  }
  const toggling = toggler()
  const readers = Promise.all([1, 2, 3, 4, 5, 6].map(reader))
  await Promise.all([1, 2, 3].map(writer))
  stop = true
  await Promise.all([readers, toggling])
  return { violations, reads }
}
