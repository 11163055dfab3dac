/**
 * The dashboard's panels (browser JavaScript, inlined after `dashboard-view.ts`): each takes an
 * endpoint's JSON answer, as `ops-routes.ts` shapes it, and fills its part of the page.
 */
export const DASHBOARD_PANELS = String.raw`
const stateOf = (status) => (status === 'healthy' ? 'ok' : status === 'degraded' ? 'warn' : 'bad')
const modelOperation = (entry) => (entry.model ?? '$raw') + '.' + entry.operation

/**
 * Whether Redis answers, as [state, pill, detail]. The figures do not say whether there is an L2
 * at all: an L1 miss that never reached L2 shows there is none.
 */
function l2State(m) {
  if (m.degraded) return ['bad', 'bypassed', 'bypassed: circuit open']
  if (m.l2Hits + m.l2Misses > 0) return ['ok', 'ok', 'in use']
  if (m.l1Misses > 0) return ['off', 'none', 'none: in-process only']
  return ['off', 'no reads yet', 'no reads yet']
}

/** /api/performance/stats: the headline figures, the read split, Redis and the bus. */
function renderStats(stats, point) {
  const m = stats.cache
  const totals = stats.queries ? stats.queries.totals : null
  setFigure('k-hitrate', percent(m.hitRate), m.hitRate)
  setFigure('k-hitrate-sub', count(m.hits) + ' hits · ' + count(m.misses) + ' misses', m.hits)
  if (point && isNumber(point.rps)) {
    setFigure('k-rps', rate(point.rps), point.rps)
    byId('k-rps-sub').textContent = isNumber(point.hitRate) ? percent(point.hitRate) + ' answered from the cache' : 'no reads in the last interval'
  }
  if (totals && totals.latency.count > 0) {
    setFigure('k-p95', ms(totals.latency.p95), totals.latency.p95)
    byId('k-p95-sub').textContent = 'p50 ' + ms(totals.latency.p50) + ' · p99 ' + ms(totals.latency.p99) + ' · ' + count(totals.queries) + ' calls'
  } else {
    setFigure('k-p95', '–')
    byId('k-p95-sub').textContent = stats.queries ? 'no Prisma calls yet' : 'no Prisma client given (its prisma option)'
  }
  byId('since').textContent = stats.queries ? 'Query figures since ' + clock(stats.queries.since) + '.' : ''

  const answered = m.l1Hits + m.l2Hits + m.misses
  const parts = [['l1', 'L1 hits', m.l1Hits], ['l2', 'L2 (Redis) hits', m.l2Hits], ['miss', 'misses', m.misses]]
  const legend = []
  for (const [key, label, value] of parts) {
    setShare(byId('split-' + key), answered === 0 ? 0 : value / answered)
    const share = answered === 0 ? '' : ' (' + ((value / answered) * 100).toFixed(0) + '%)'
    const item = el('span', key, label + ' ' + count(value) + share)
    item.dataset.value = String(value)
    item.id = 'split-legend-' + key
    legend.push(item)
  }
  byId('split-legend').replaceChildren(...legend)
  facts(byId('cache-facts'), [
    ['Writes', count(m.sets)],
    ['Deletes', count(m.deletes)],
    ['Invalidations', count(m.invalidations)],
    ['Stale hits served', count(m.staleHits)],
    ['Loader calls', count(m.loaderCalls) + (m.loaderErrors + m.loaderTimeouts > 0 ? ' (' + count(m.loaderErrors) + ' failed, ' + count(m.loaderTimeouts) + ' timed out)' : '')],
    ['Early refreshes', count(m.earlyRefreshes)],
    ['Fenced fills', count(m.fencedFills)],
    ['Average value size', bytes(m.averageSize)],
  ])

  const l2 = l2State(m)
  setPill('pill-l2', l2[0], 'Redis: ' + l2[1])
  setPill('pill-bus', m.busTrusted ? 'ok' : 'warn', m.busTrusted ? 'Bus: trusted' : 'Bus: not trusted')
  facts(byId('redis-facts'), [
    ['L2 (Redis)', l2[2], l2[0]],
    ['L2 hits / misses', count(m.l2Hits) + ' / ' + count(m.l2Misses)],
    ['L2 timeouts', count(m.l2Timeouts), m.l2Timeouts > 0 ? 'warn' : ''],
    ['Errors', count(m.errors), m.errors > 0 ? 'warn' : ''],
    ['Corrupted values', count(m.corruptedValues), m.corruptedValues > 0 ? 'bad' : ''],
    ['Invalidation bus', m.busTrusted ? 'trusted' : 'not trusted: L1 bypassed', m.busTrusted ? 'ok' : 'warn'],
    ['Invalidations sent / received', count(m.busSent) + ' / ' + count(m.busReceived)],
    ['Bus round trip', m.busLagMs === undefined ? 'not measured' : m.busLagMs.toFixed(1) + ' ms'],
    ['Times trust was lost', count(m.busTrustLost), m.busTrustLost > 0 ? 'warn' : ''],
  ])
}

/** /api/performance/cache: L1's size, and the TTL classes the clear action offers. */
function renderCache(info) {
  const local = info.local
  if (!local.enabled) {
    setFigure('k-l1', 'off', 0)
    byId('k-l1-sub').textContent = 'no in-process tier'
    setShare(byId('k-l1-meter'), 0)
  } else {
    setFigure('k-l1', count(local.entries), local.entries)
    setFigure('k-l1-sub', 'entries · ' + bytes(local.totalSize) + ' of ' + bytes(local.maxBytes) + ' · ' + count(local.evictions) + ' evicted · ' + count(local.tags) + ' tags', local.totalSize)
    const used = Math.max(local.totalSize / local.maxBytes, local.entries / local.maxEntries)
    setShare(byId('k-l1-meter'), used)
    byId('k-l1-meter-wrap').className = used > 0.9 ? 'meter warn' : 'meter'
  }
  const select = byId('clear-tier')
  for (const option of select.options) {
    if (option.value === 'all') continue
    const tier = info.tiers ? info.tiers[option.value] : null
    const label = tier ? option.value + ' · ' + tier.strategy + ' · ' + tier.ttlSeconds + ' s TTL' : option.value + ' · needs a Prisma client'
    // Rewritten only on change, so that an open drop-down does not flicker.
    if (option.textContent !== label) option.textContent = label
    option.disabled = !tier
  }
  const chosen = info.tiers ? info.tiers[select.value] : null
  byId('clear-info').textContent = select.value === 'all'
    ? 'Clears L1 and L2 on every instance.'
    : chosen ? 'Models: ' + (chosen.models.length > 0 ? chosen.models.join(', ') : 'none') : ''
}

/** /api/performance/health: the overall verdict (a 503 still carries it). */
function renderHealth(reply) {
  const body = reply.body
  if (!body || typeof body.status !== 'string') {
    setPill('pill-overall', 'bad', 'Overall: unknown')
    return
  }
  setPill('pill-overall', stateOf(body.status), 'Overall: ' + body.status)
}

/** /api/v1/database/status: ping, pool, query times; 404 when no health check was given. */
function renderDatabase(reply) {
  const container = byId('db-body')
  const badge = byId('db-badge')
  const code = reply.body && reply.body.error ? reply.body.error.code : undefined
  if (code === 'ERR_NOT_CONFIGURED') {
    setPill('pill-db', 'off', 'Database: not configured')
    setBadge(badge, 'off', 'not configured')
    message(container, 'empty', 'Not configured: no DatabaseHealthCheck was given to createOpsHandler (its health option).')
    return
  }
  if (reply.status === 401) {
    setPill('pill-db', 'off', 'Database: token needed')
    setBadge(badge, 'off', 'token needed')
    message(container, 'locked', 'These figures need the admin token (protectStats): enter it above.')
    return
  }
  const d = reply.body
  if (!reply.ok || !d || typeof d.status !== 'string') {
    setPill('pill-db', 'bad', 'Database: unknown')
    setBadge(badge, 'bad', 'unknown')
    message(container, 'empty error-text', failure(reply))
    return
  }
  setPill('pill-db', stateOf(d.status), 'Database: ' + d.status)
  setBadge(badge, stateOf(d.status), d.status)
  const pool = d.connectionPool || {}
  const perf = d.performance || {}
  const list = el('dl', 'facts')
  const rows = [
    ['Connected', d.connected ? 'yes' : 'no', d.connected ? 'ok' : 'bad'],
    ['Ping (SELECT 1)', ms(d.responseTime)],
    ['Query time avg / p95 / p99', perf.samples > 0 ? ms(perf.averageQueryTime) + ' / ' + ms(perf.p95QueryTime) + ' / ' + ms(perf.p99QueryTime) : 'no samples yet'],
    ['Samples', count(perf.samples) + (perf.source ? ' (' + perf.source + ')' : '')],
  ]
  if (pool.source) {
    rows.push(['Pool active / idle / max', count(pool.active) + ' / ' + count(pool.idle) + ' / ' + count(pool.max)])
    rows.push(['Waiting for a connection', count(pool.waiting), pool.waiting > 0 ? 'warn' : ''])
  } else {
    rows.push(['Connection pool', 'not given to the health check'])
  }
  rows.push(['Checked', clock(d.timestamp)])
  facts(list, rows)
  const children = [list]
  if (pool.source && isNumber(pool.usage)) {
    const meter = el('div', pool.usage > 0.8 ? 'meter warn' : 'meter')
    const fill = el('span')
    setShare(fill, pool.usage)
    meter.append(fill)
    meter.title = 'pool usage ' + ratio(pool.usage)
    children.push(meter)
  }
  if (Array.isArray(d.reasons) && d.reasons.length > 0) {
    const reasons = el('ul', 'reasons')
    for (const reason of d.reasons) reasons.append(el('li', null, reason))
    children.push(reasons)
  }
  container.replaceChildren(...children)
}

/** /api/performance/queries (admin): the table, slow queries and N+1 reports. */
function renderQueries(q) {
  byId('ops-since').textContent = 'since ' + clock(q.since)
  const operations = Object.values(q.operations).sort((a, b) => b.queries - a.queries)
  if (operations.length === 0) {
    message(byId('ops-body'), 'empty', 'No Prisma calls yet.')
  } else {
    const table = el('table')
    const head = el('tr')
    for (const title of ['Model.operation', 'Calls', 'Hits', 'Stale', 'Misses', 'Uncached', 'Errors', 'Hit rate', 'p50', 'p95', 'p99', 'DB p95']) head.append(el('th', null, title))
    const thead = el('thead')
    thead.append(head)
    table.append(thead)
    const row = (name, o) => {
      const tr = el('tr')
      const cached = o.hits + o.swr + o.misses
      for (const cell of [name, count(o.queries), count(o.hits), count(o.swr), count(o.misses), count(o.uncached), count(o.errors),
        cached === 0 ? '–' : percent(o.hitRate), ms(o.latency.p50), ms(o.latency.p95), ms(o.latency.p99), o.db.count === 0 ? '–' : ms(o.db.p95)]) {
        tr.append(el('td', null, cell))
      }
      return tr
    }
    const body = el('tbody')
    for (const o of operations) body.append(row(modelOperation(o), o))
    table.append(body)
    const foot = el('tfoot')
    foot.append(row('All', q.totals))
    table.append(foot)
    byId('ops-body').replaceChildren(table)
  }
  byId('slow-count').textContent = count(q.slowQueries.length) + ' held · ' + count(q.slowQueryCount) + ' in all'
  byId('nplus-count').textContent = count(q.nPlusOne.length) + ' held · ' + count(q.nPlusOneCount) + ' in all'
  renderList('slow-body', q.slowQueries, 'No slow queries.', slowEntry)
  renderList('nplus-body', q.nPlusOne, 'No N+1 patterns found.', nPlusOneEntry)
}

const listed = new Map()

/** Newest first; redrawn only when the entries change, so a reader's scroll position stays. */
function renderList(id, entries, empty, draw) {
  const signature = JSON.stringify(entries)
  if (listed.get(id) === signature) return
  listed.set(id, signature)
  if (entries.length === 0) return message(byId(id), 'empty', empty)
  const list = el('ul', 'entries')
  for (const entry of entries.slice().reverse()) list.append(draw(entry))
  byId(id).replaceChildren(list)
}

function entryHead(name, badgeState, badgeText, when) {
  const head = el('div', 'entry-head')
  head.append(el('strong', null, name), el('span', 'badge ' + badgeState, badgeText), el('span', 'when', when))
  return head
}

function slowEntry(s) {
  const item = el('li', 'entry slow')
  item.append(entryHead(modelOperation(s), 'warn', ms(s.durationMs) + ' in the database', 'total ' + ms(s.totalMs) + ' · ' + clock(s.timestamp)))
  if (s.callSite) item.append(callSiteLine(s.callSite))
  if (s.error) item.append(el('p', 'error-text', s.error))
  if (Array.isArray(s.sql) && s.sql.length > 0) item.append(el('pre', 'sql', s.sql.join(';\n')))
  else item.append(el('p', 'muted', 'SQL not captured (wrap the adapter in captureSql to see it).'))
  const args = JSON.stringify(s.args)
  if (args && args !== '{}') item.append(el('p', 'muted mono', 'args ' + (args.length > 300 ? args.slice(0, 300) + '…' : args)))
  return item
}

/** 'at file:line': where in the application the call was made. */
function callSiteLine(callSite) {
  const site = el('div', 'callsite')
  site.append(el('span', 'muted', 'at'), el('code', null, callSite))
  return site
}

function nPlusOneEntry(r) {
  const item = el('li', 'entry nplus')
  const where = r.detection === 'context' ? 'in ' + (r.context ?? 'a query context') : 'burst outside a query context'
  item.append(entryHead(modelOperation(r), 'bad', '×' + count(r.count), where + ' · ' + clock(r.timestamp)))
  item.append(el('p', 'mono', r.shape))
  item.append(callSiteLine(r.callSite ?? 'unknown call site'))
  if (r.suggestion) item.append(el('p', 'suggestion', r.suggestion))
  return item
}
`
