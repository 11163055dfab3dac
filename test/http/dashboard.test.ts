import { mkdirSync, readFileSync } from 'node:fs'
import { setTimeout as pause } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createOpsHandler } from '../../src/http/index.js'
import type { CacheManager } from '../../src/index.js'
import { runWithQueryContext } from '../../src/prisma/index.js'
import { type OpsStack, useOpsStack } from '../support/ops-fixture.js'
import { keysUnder, rawRedis } from '../support/redis.js'

const TOKEN = 'dashboard-admin-token-0123456789'
const SCREENSHOT = 'test-results/dashboard.png'
const raw = rawRedis()
// Every database call above 40 ms is slow: the pg_sleep(0.06) below, never the shop's reads.
const stack = useOpsStack('http-dashboard', { slowQueryMs: 40 })
const { prefix } = stack
let cache: CacheManager
let prisma: OpsStack['prisma']
let browser: Browser
/** The full handler under /ops, and one given nothing but the cache under /bare. */
let url: string
let bareUrl: string
const contexts: BrowserContext[] = []

function lineOf(marker: string): number {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n')
  return lines.findIndex((line) => line.includes(marker) && !line.includes('lineOf(')) + 1
}

beforeAll(async () => {
  ;({ cache, prisma } = stack)
  const { health, invalidation } = stack
  url = await stack.listen(
    createOpsHandler({ cache, prisma, health, invalidation, adminToken: TOKEN, basePath: '/ops' }),
  )
  bareUrl = await stack.listen(createOpsHandler({ cache, basePath: '/bare' }))
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
})

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close()
})

afterAll(async () => {
  await browser?.close()
  raw.disconnect()
})

interface Watched {
  page: Page
  /** Console errors and warnings, uncaught exceptions and CSP violations, in order. */
  problems: string[]
  /** The Authorization header of every request the page made, by path. */
  requests: { path: string; authorization: string | undefined }[]
}

async function open(address: string): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
  contexts.push(context)
  const page = await context.newPage()
  const watched: Watched = { page, problems: [], requests: [] }
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      watched.problems.push(`console.${message.type()}: ${message.text()}`)
    }
  })
  page.on('pageerror', (error) => watched.problems.push(`pageerror: ${error.message}`))
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname
    watched.requests.push({ path, authorization: request.headers().authorization })
  })
  // Chromium logs CSP refusals to the console too; the event names the directive.
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (event) =>
      console.error('CSP violation: ' + event.violatedDirective + ' ' + event.blockedURI))`,
  })
  const response = await page.goto(address)
  expect(response?.status()).toBe(200)
  expect(response?.headers()['content-security-policy']).toContain("script-src 'nonce-")
  return watched
}

/** A page condition, polled for longer than the page's 2 s between polls. */
const eventually = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 10_000 })

const text = (page: Page, selector: string) => page.locator(selector).textContent()
const figure = async (page: Page, selector: string) =>
  Number(await page.locator(selector).getAttribute('data-value'))

/** Cache reads in the test process: a few keys filled once, then hits, and some misses. */
async function cacheTraffic(round: number): Promise<void> {
  for (let i = 0; i < 16; i++) {
    await cache.getOrCompute(`dash:item:${(round + i) % 24}`, async () => ({ i }), {
      ttl: 60_000,
      tags: ['dash'],
    })
  }
  for (let i = 0; i < round % 6; i++) await cache.get(`dash:absent:${round}:${i}`)
}

async function prismaTraffic(): Promise<void> {
  for (let id = 1; id <= 6; id++) await prisma.product.findUnique({ where: { id } })
  await prisma.category.findMany({ orderBy: { id: 'asc' } })
}

/** Traffic in the background, paced so that each poll of the page sees some. */
function keepBusy(): { stop(): Promise<void> } {
  let running = true
  const done = (async () => {
    for (let round = 0; running; round++) {
      await cacheTraffic(round)
      await prismaTraffic()
      await pause(30 + (round % 5) * 15)
    }
  })()
  return {
    async stop() {
      running = false
      await done
    },
  }
}

async function useToken(page: Page, token: string): Promise<void> {
  await page.locator('#token').fill(token)
  await page.locator('#token-save').click()
}

/** Clicks the clear button twice: the first click only arms it. */
async function clear(page: Page, tier: 'all' | 'L1' | 'L2' | 'L3'): Promise<void> {
  await page.locator('#clear-tier').selectOption(tier)
  await page.locator('#clear-run').click()
  expect(await text(page, '#clear-run')).toBe('Click again to clear')
  await page.locator('#clear-run').click()
}

describe('the dashboard', () => {
  it('shows live figures without the token, and says the admin panels need it', async () => {
    const { page, problems, requests } = await open(`${url}/ops/dashboard`)
    await eventually(() => text(page, '#pill-link')).toMatch(/^Live/)
    for (const panel of ['#ops-body', '#slow-body', '#nplus-body', '#actions-locked']) {
      expect(await text(page, panel)).toContain('The admin token is needed')
    }
    expect(await page.locator('#clear-run').isDisabled()).toBe(true)
    expect(await text(page, '#pill-admin')).toBe('Admin: no token')
    await eventually(() => text(page, '#pill-db')).toMatch(/^Database: (healthy|degraded)$/)
    expect(await text(page, '#db-body')).toContain('Pool active / idle / max')

    const hits = await figure(page, '#k-hitrate-sub')
    await cacheTraffic(0)
    await cacheTraffic(1)
    await prismaTraffic()
    await eventually(() => figure(page, '#k-hitrate-sub')).toBeGreaterThan(hits)
    await eventually(() => figure(page, '#k-l1')).toBeGreaterThan(0)
    await eventually(() => figure(page, '#split-legend-l1')).toBeGreaterThan(0)
    expect(await text(page, '#k-hitrate')).toMatch(/^\d+(\.\d)?%$/)
    expect(await text(page, '#pill-l2')).toBe('Redis: ok')
    expect(await text(page, '#pill-bus')).toBe('Bus: trusted')
    // The bus's heartbeat round trip through Redis, measured once a heartbeat came back.
    await eventually(() => text(page, '#redis-facts')).toMatch(/Bus round trip\s*\d+\.\d ms/)
    expect(await text(page, '#redis-facts')).toMatch(/Invalidations sent \/ received\s*\d+ \/ \d+/)

    expect(requests.some((request) => request.path === '/ops/api/performance/stats')).toBe(true)
    expect(requests.filter((request) => request.authorization !== undefined)).toEqual([])
    expect(requests.some((request) => request.path.endsWith('/queries'))).toBe(false)
    expect(problems).toEqual([])
  })

  it('with the token: the per-operation table, slow queries with their SQL and call site, N+1 reports with theirs', async () => {
    const { page, problems, requests } = await open(`${url}/ops/dashboard`)
    await useToken(page, TOKEN)
    await eventually(() => text(page, '#pill-admin')).toBe('Admin: token set')
    expect(await page.evaluate("sessionStorage.getItem('stratacache.adminToken')")).toBe(TOKEN)
    expect(await page.locator('#token').inputValue()).toBe('')

    const busy = keepBusy()
    try {
      await runWithQueryContext(
        async () => {
          const products = await prisma.product.findMany({ orderBy: { id: 'asc' } })
          for (let round = 0; round < 2; round++) {
            for (const product of products) {
              await prisma.review.findMany({ where: { productId: product.id } }) // N+1 here
            }
          }
        },
        { name: 'GET /products' },
      )
      await prisma.$queryRaw`SELECT 1 AS one FROM pg_sleep(0.06)` // slow here

      const callSite = `test/http/dashboard.test.ts:${lineOf('// N+1 here')}`
      await eventually(() => text(page, '#nplus-body')).toContain(callSite)
      const report = await text(page, '#nplus-body')
      expect(report).toContain('Review.findMany')
      expect(report).toContain('in GET /products')
      expect(report).toContain('include: { reviews: true }')
      await eventually(() => text(page, '#slow-body')).toContain('pg_sleep(0.06)')
      expect(await text(page, '#slow-body')).toContain('$raw.$queryRaw')
      expect(await text(page, '#slow-body')).toContain(
        `test/http/dashboard.test.ts:${lineOf('// slow here')}`,
      )
      const table = await text(page, '#ops-body')
      for (const row of ['Review.findMany', 'Product.findUnique', 'Category.findMany', 'All']) {
        expect(table).toContain(row)
      }

      // Enough polls for the charts to draw lines, then a picture for a person to look at.
      await expect
        .poll(async () => Number(await page.locator('#chart-hit').getAttribute('data-drawn')), {
          timeout: 30_000,
        })
        .toBeGreaterThanOrEqual(6)
      expect(await page.locator('#chart-hit polyline').count()).toBeGreaterThan(0)
      expect(
        Number(await page.locator('#chart-latency').getAttribute('data-drawn')),
      ).toBeGreaterThan(0)
      expect(await figure(page, '#k-rps')).toBeGreaterThan(0)
      expect(await text(page, '#k-p95')).toMatch(/ ms$/)
      mkdirSync('test-results', { recursive: true })
      await page.screenshot({ path: SCREENSHOT, fullPage: true })
    } finally {
      await busy.stop()
    }
    const queries = requests.filter((request) => request.path === '/ops/api/performance/queries')
    expect(queries.length).toBeGreaterThan(0)
    expect(queries.every((request) => request.authorization === `Bearer ${TOKEN}`)).toBe(true)
    expect(problems).toEqual([])
  }, 60_000)

  it('runs the admin actions behind the token and shows their answers', async () => {
    const { page, problems } = await open(`${url}/ops/dashboard`)
    await useToken(page, TOKEN)
    await eventually(() => page.locator('#clear-run').isDisabled()).toBe(false)

    await cacheTraffic(0)
    await eventually(() => figure(page, '#k-l1')).toBeGreaterThan(0)
    expect((await keysUnder(raw, prefix)).length).toBeGreaterThan(0)
    await clear(page, 'all')
    await eventually(() => text(page, '#action-output')).toContain('"cleared": "all"')
    expect(await text(page, '#action-status')).toBe('200')
    await eventually(() => figure(page, '#k-l1')).toBe(0)
    expect(await keysUnder(raw, prefix)).toEqual([])

    expect(await page.locator('#clear-tier option[value="L1"]').textContent()).toMatch(
      /^L1 · hot · /,
    )
    await clear(page, 'L1')
    await eventually(() => text(page, '#action-output')).toContain('"strategy": "hot"')

    await cache.set('dash:tagged', 1, { tags: ['dash-tagged'] })
    await page.locator('#invalidate-kind').selectOption('tags')
    await page.locator('#invalidate-value').fill('dash-tagged')
    await page.locator('#invalidate-run').click()
    await eventually(() => text(page, '#action-output')).toContain('"tags": 1')
    expect(await raw.exists(`${prefix}dash:tagged`)).toBe(0)

    await page.locator('#prefetch-run').click()
    await eventually(() => text(page, '#action-what')).toMatch(/^Prefetch/)
    expect(await text(page, '#action-output')).toContain('"prefetched"')
    expect(await raw.exists(`${prefix}warm:categories`)).toBe(1)
    expect(problems).toEqual([])
  })

  it('says when the token is refused, and drops it on Forget', async () => {
    const { page, problems } = await open(`${url}/ops/dashboard`)
    await useToken(page, 'not-the-admin-token-at-all')
    await eventually(() => text(page, '#pill-admin')).toBe('Admin: token refused')
    expect(await text(page, '#slow-body')).toContain('The admin token was refused')
    expect(await page.locator('#prefetch-run').isDisabled()).toBe(true)
    await page.locator('#token-forget').click()
    await eventually(() => text(page, '#pill-admin')).toBe('Admin: no token')
    expect(await page.evaluate("sessionStorage.getItem('stratacache.adminToken')")).toBeNull()
    // The browser logs each refused call; nothing else may appear.
    expect(problems.filter((line) => !/status of 401/.test(line))).toEqual([])
  })

  it('says "not configured" for the parts createOpsHandler was not given', async () => {
    // At <base>/dashboard/ too: the endpoints are still found under <base>/.
    const { page, problems } = await open(`${bareUrl}/bare/dashboard/`)
    await eventually(() => text(page, '#pill-link')).toMatch(/^Live/)
    await eventually(() => text(page, '#pill-db')).toBe('Database: not configured')
    expect(await text(page, '#db-body')).toContain('Not configured')
    expect(await text(page, '#k-p95-sub')).toContain('no Prisma client')
    expect(await page.locator('#clear-tier option[value="L2"]').isDisabled()).toBe(true)
    await useToken(page, TOKEN)
    await eventually(() => text(page, '#pill-admin')).toBe('Admin: closed on the server')
    expect(await text(page, '#ops-body')).toContain('The server has no admin token')
    expect(problems.filter((line) => !/status of 40[34]/.test(line))).toEqual([])
  })
})
