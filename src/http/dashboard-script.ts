/**
 * The dashboard's driver (browser JavaScript, inlined last): polls the endpoints every
 * `POLL_MS`, keeps the chart history, holds the admin token and runs the admin actions.
 */
export const DASHBOARD_SCRIPT = String.raw`
const TOKEN_KEY = 'stratacache.adminToken'
/**
 * The mount path of the endpoints: the page is <base>/dashboard, and a URL relative to the page
 * alone would miss it when the page is asked for as <base>/dashboard/.
 */
const BASE = location.pathname.replace(/\/dashboard\/?$/, '/')
const points = []
let previous = null
let token = loadToken()
let timer = 0
let running = null
let again = false

function loadToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? ''
  } catch {
    return '' // storage blocked: the token lasts as long as the page
  }
}

function storeToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value)
    else sessionStorage.removeItem(TOKEN_KEY)
  } catch {}
}

/** One endpoint's answer as { status, ok, body }; status 0 when the server did not answer. */
async function api(path, method, body) {
  const headers = { accept: 'application/json' }
  if (token) headers.authorization = 'Bearer ' + token
  const init = { method: method ?? 'GET', headers, cache: 'no-store', credentials: 'same-origin' }
  if (body !== undefined) {
    headers['content-type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  try {
    const response = await fetch(BASE + path, init)
    const text = await response.text()
    let parsed = null
    try {
      parsed = text === '' ? null : JSON.parse(text)
    } catch {
      parsed = text
    }
    return { status: response.status, ok: response.ok, body: parsed }
  } catch (error) {
    return { status: 0, ok: false, body: null, network: String(error && error.message ? error.message : error) }
  }
}

/**
 * Refusals and absent parts (401, 403, 404) stay so until the token changes or the server is set
 * up again: they are not asked for again for HOLD_MS, since the browser logs each one as an error.
 */
const HOLD_MS = 30000
const held = new Map()

async function poll(path) {
  const hold = held.get(path)
  if (hold && hold.token === token && hold.until > Date.now()) return hold.reply
  const reply = await api(path)
  if (reply.status === 401 || reply.status === 403 || reply.status === 404) {
    held.set(path, { token, reply, until: Date.now() + HOLD_MS })
  } else {
    held.delete(path)
  }
  return reply
}

function failure(reply) {
  if (reply.status === 0) return 'No answer from the server: ' + reply.network
  const error = reply.body && reply.body.error
  if (error && typeof error.message === 'string') return error.code + ': ' + error.message
  return 'HTTP ' + reply.status
}

/** Why the admin panels cannot show anything, or null when the queries answered. */
function adminLock(reply) {
  if (!token) return 'The admin token is needed: enter it above.'
  if (reply.status === 401) return 'The admin token was refused: enter the right one above.'
  if (reply.status === 403) return 'The server has no admin token, so its admin endpoints stay closed (the adminToken option or STRATACACHE_ADMIN_TOKEN).'
  if (reply.status === 404) return 'No Prisma client extended with withCache was given (the prisma option of createOpsHandler).'
  if (!reply.ok) return 'The endpoint failed: ' + failure(reply) + '.'
  if (reply.body === null) return 'Query metrics are off for this Prisma client.'
  return null
}

function renderAdmin(reply) {
  const lock = adminLock(reply)
  if (!token) setPill('pill-admin', 'off', 'Admin: no token')
  else if (reply.status === 401) setPill('pill-admin', 'bad', 'Admin: token refused')
  else if (reply.status === 403) setPill('pill-admin', 'off', 'Admin: closed on the server')
  else setPill('pill-admin', 'ok', 'Admin: token set')
  const actionsLocked = !token || reply.status === 401 || reply.status === 403
  byId('actions-locked').hidden = !actionsLocked
  byId('actions-locked').textContent = actionsLocked ? lock : ''
  for (const id of ['clear-run', 'invalidate-run', 'prefetch-run']) byId(id).disabled = actionsLocked
  if (lock === null) return renderQueries(reply.body)
  listed.clear()
  for (const id of ['ops-body', 'slow-body', 'nplus-body']) message(byId(id), 'locked', lock)
  for (const id of ['ops-since', 'slow-count', 'nplus-count']) byId(id).textContent = ''
}

/** This interval's figures from the difference of two cumulative snapshots. */
function nextPoint(stats, health, now) {
  const m = stats.cache
  const latency = stats.queries ? stats.queries.totals.latency : null
  const database = health.body && health.body.database
  const point = { t: now, hitRate: null, rps: null, latency: null, ping: database ? database.responseTime : null }
  if (previous) {
    const seconds = (now - previous.t) / 1000
    const hits = m.hits - previous.hits
    const reads = hits + (m.misses - previous.misses)
    // Counters only go back when the process behind the endpoints restarted: no figure then.
    if (seconds > 0 && hits >= 0 && reads >= hits) {
      point.rps = reads / seconds
      point.hitRate = reads > 0 ? (hits / reads) * 100 : null
    }
    const calls = latency ? latency.count - previous.calls : 0
    if (calls > 0) point.latency = (latency.mean * latency.count - previous.mean * previous.calls) / calls
  }
  previous = { t: now, hits: m.hits, misses: m.misses, calls: latency ? latency.count : 0, mean: latency ? latency.mean : 0 }
  return point
}

async function tick() {
  const [stats, cacheInfo, health, database, queries] = await Promise.all([
    poll('api/performance/stats'),
    poll('api/performance/cache'),
    poll('api/performance/health'),
    poll('api/v1/database/status'),
    token ? poll('api/performance/queries') : Promise.resolve({ status: 0, ok: false, body: null }),
  ])
  const now = Date.now()
  const banner = byId('banner')
  if (stats.ok) {
    banner.hidden = true
    setPill('pill-link', 'ok', 'Live · ' + clock(now))
    const point = nextPoint(stats.body, health, now)
    if (points.length > 0 || isNumber(point.rps)) {
      points.push(point)
      if (points.length > HISTORY) points.shift()
    }
    renderStats(stats.body, point)
    updateChart('chart-hit', points)
    updateChart('chart-latency', points)
  } else {
    banner.hidden = false
    banner.textContent = stats.status === 401
      ? 'These figures need the admin token (the server protects its stats): enter it above.'
      : 'Cannot read the figures. ' + failure(stats) + '. Retrying every ' + POLL_MS / 1000 + ' s.'
    setPill('pill-link', 'bad', stats.status === 0 ? 'Offline · retrying' : 'Error · retrying')
  }
  if (cacheInfo.ok) renderCache(cacheInfo.body)
  renderHealth(health)
  renderDatabase(database)
  renderAdmin(queries)
}

/** Polls now, then every POLL_MS; a call during a poll asks for one more right after it. */
function refresh() {
  if (running) {
    again = true
    return
  }
  clearTimeout(timer)
  if (document.hidden) return
  running = tick()
    .catch((error) => {
      console.error('stratacache dashboard:', error)
      const banner = byId('banner')
      banner.hidden = false
      banner.textContent = 'The dashboard failed to draw the figures: ' + (error && error.message ? error.message : String(error))
    })
    .finally(() => {
      running = null
      if (again) {
        again = false
        refresh()
      } else {
        timer = setTimeout(refresh, POLL_MS)
      }
    })
}

function showResult(what, reply) {
  byId('action-result').hidden = false
  setBadge(byId('action-status'), reply.ok ? 'ok' : 'bad', reply.status === 0 ? 'no answer' : String(reply.status))
  byId('action-what').textContent = what + ' · ' + clock(Date.now())
  const output = reply.ok ? JSON.stringify(reply.body, null, 2) : failure(reply)
  byId('action-output').textContent = output
}

async function act(what, path, body) {
  const buttons = ['clear-run', 'invalidate-run', 'prefetch-run'].map(byId)
  for (const button of buttons) button.disabled = true
  try {
    showResult(what, await api(path, 'POST', body))
  } finally {
    for (const button of buttons) button.disabled = false
    refresh() // the figures as the action left them, without waiting for the next poll
  }
}

/** A clear empties caches on every instance: the first click arms the button, the second runs it. */
let disarm = 0
function disarmClear() {
  clearTimeout(disarm)
  const button = byId('clear-run')
  button.classList.remove('armed')
  button.textContent = 'Clear'
}

byId('clear-run').addEventListener('click', () => {
  const button = byId('clear-run')
  if (!button.classList.contains('armed')) {
    button.classList.add('armed')
    button.textContent = 'Click again to clear'
    disarm = setTimeout(disarmClear, 4000)
    return
  }
  disarmClear()
  const select = byId('clear-tier')
  act('Clear ' + select.options[select.selectedIndex].textContent, 'api/performance/cache/clear', { tier: select.value })
})
byId('clear-tier').addEventListener('change', () => {
  disarmClear()
  refresh()
})

byId('invalidate-run').addEventListener('click', () => {
  const kind = byId('invalidate-kind').value
  const text = byId('invalidate-value').value.trim()
  if (text === '') {
    showResult('Invalidate', { status: 400, ok: false, body: { error: { code: 'ERR_EMPTY', message: 'enter the ' + kind + ' to invalidate' } } })
    return
  }
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '')
  const body = kind === 'pattern' ? { pattern: text } : kind === 'keys' ? { keys: names } : { tags: names }
  act('Invalidate ' + kind + ' ' + text, 'api/v1/database/cache/invalidate', body)
})

byId('prefetch-run').addEventListener('click', () => act('Prefetch', 'api/performance/prefetch'))

byId('token-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const input = byId('token')
  token = input.value.trim()
  storeToken(token)
  // Out of the field once used: it is kept in this tab's sessionStorage only.
  input.value = ''
  input.placeholder = token ? 'token in use' : 'Bearer token'
  refresh()
})

byId('token-forget').addEventListener('click', () => {
  token = ''
  storeToken('')
  byId('token').placeholder = 'Bearer token'
  refresh()
})

defineChart('chart-hit', {
  label: 'Hit rate per interval, with reads per interval as bars',
  series: [{ key: 'hitRate', className: 'line-hit', area: 'area-hit' }],
  bars: { key: 'rps', className: 'bar-reads' },
  max: 100,
  axis: (value) => value.toFixed(0) + '%',
  readout: (p) => 'hit rate ' + percent(p.hitRate) + ' · ' + rate(p.rps) + ' reads/s',
})
defineChart('chart-latency', {
  label: 'Mean Prisma call latency and database ping per interval',
  series: [{ key: 'latency', className: 'line-latency' }, { key: 'ping', className: 'line-ping' }],
  axis: (value) => (value === 0 || value >= 10 ? value.toFixed(0) : value.toFixed(value >= 1 ? 1 : 2)) + ' ms',
  readout: (p) => 'Prisma call ' + ms(p.latency) + ' · database ping ' + ms(p.ping),
})

let resizing = 0
window.addEventListener('resize', () => {
  cancelAnimationFrame(resizing)
  resizing = requestAnimationFrame(redrawCharts)
})
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) refresh()
})
if (token) byId('token').placeholder = 'token in use'
redrawCharts()
refresh()
`
