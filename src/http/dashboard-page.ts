/**
 * The live dashboard (`GET <base>/dashboard`): one self-contained HTML page whose script polls
 * the operations endpoints next to it and draws what they answer. The page holds no figures
 * itself, so it is public; the admin panels ask for the token, kept in the tab's sessionStorage.
 *
 * Everything is inline under the response's nonce, because its CSP allows nothing else: no
 * external script, style or font (it must work without internet), no `style=""` attributes and
 * no inline event handlers (the script sets styles through the CSSOM and attaches its listeners).
 */
import { DASHBOARD_PANELS } from './dashboard-panels.js'
import { DASHBOARD_SCRIPT } from './dashboard-script.js'
import { DASHBOARD_STYLE } from './dashboard-style.js'
import { DASHBOARD_VIEW } from './dashboard-view.js'

/** A 3-band tile as the tab icon, inline: `img-src data:` allows it, and no favicon request 404s. */
const ICON =
  "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 3 3'><rect width='1' height='3' fill='%233461e6'/><rect x='1' width='1' height='3' fill='%238d5cf0'/><rect x='2' width='1' height='3' fill='%23f0a030'/></svg>"

const BODY = `
<header class="top">
  <div class="brand">
    <span class="logo" aria-hidden="true"></span>
    <div><h1>stratacache</h1><p class="muted">live cache and database dashboard</p></div>
  </div>
  <ul class="pills" aria-label="Status">
    <li id="pill-overall" class="pill off">Overall: …</li>
    <li id="pill-l2" class="pill off">Redis: …</li>
    <li id="pill-bus" class="pill off">Bus: …</li>
    <li id="pill-db" class="pill off">Database: …</li>
    <li id="pill-admin" class="pill off">Admin: no token</li>
    <li id="pill-link" class="pill off">Connecting…</li>
  </ul>
  <form id="token-form" class="token" autocomplete="off">
    <label for="token">Admin token</label>
    <input id="token" type="password" autocomplete="off" spellcheck="false" placeholder="Bearer token">
    <button type="submit" id="token-save">Use</button>
    <button type="button" id="token-forget" class="ghost">Forget</button>
  </form>
</header>
<p id="banner" class="banner" role="alert" hidden></p>
<main>
  <section class="grid kpis">
    <article class="card">
      <h2>Hit rate</h2>
      <p class="big" id="k-hitrate">–</p>
      <p class="sub" id="k-hitrate-sub">waiting for figures</p>
    </article>
    <article class="card">
      <h2>Reads per second</h2>
      <p class="big" id="k-rps">–</p>
      <p class="sub" id="k-rps-sub">over the last interval</p>
    </article>
    <article class="card">
      <h2>Prisma call latency p95</h2>
      <p class="big" id="k-p95">–</p>
      <p class="sub" id="k-p95-sub">since the counters started</p>
    </article>
    <article class="card">
      <h2>L1 (in-process)</h2>
      <p class="big" id="k-l1">–</p>
      <p class="sub" id="k-l1-sub">entries</p>
      <div class="meter" id="k-l1-meter-wrap"><span id="k-l1-meter"></span></div>
    </article>
  </section>
  <section class="grid two">
    <article class="card">
      <div class="card-head">
        <h2>Hit rate over time</h2>
        <span class="legend"><span class="l1">hit rate per interval</span><span class="reads">reads</span></span>
      </div>
      <div class="chart" id="chart-hit"></div>
      <div class="readout" id="chart-hit-readout"></div>
    </article>
    <article class="card">
      <div class="card-head">
        <h2>Latency over time</h2>
        <span class="legend"><span class="latency">Prisma call, mean</span><span class="ping">database ping</span></span>
      </div>
      <div class="chart" id="chart-latency"></div>
      <div class="readout" id="chart-latency-readout"></div>
    </article>
  </section>
  <section class="grid three">
    <article class="card">
      <div class="card-head"><h2>Where reads are answered</h2></div>
      <div class="split" id="split">
        <span class="seg l1" id="split-l1"></span><span class="seg l2" id="split-l2"></span><span class="seg miss" id="split-miss"></span>
      </div>
      <div class="legend" id="split-legend"></div>
      <dl class="facts" id="cache-facts"></dl>
    </article>
    <article class="card">
      <div class="card-head"><h2>Redis and invalidation bus</h2></div>
      <dl class="facts" id="redis-facts"></dl>
    </article>
    <article class="card">
      <div class="card-head"><h2>Database</h2><span id="db-badge" class="badge off">…</span></div>
      <div id="db-body"><p class="empty">Waiting for the first check…</p></div>
    </article>
  </section>
  <section class="card">
    <div class="card-head"><h2>Prisma calls by model and operation</h2><span class="muted" id="ops-since"></span></div>
    <div id="ops-body" class="table-wrap"></div>
  </section>
  <section class="grid two">
    <article class="card">
      <div class="card-head"><h2>Slow queries</h2><span class="muted" id="slow-count"></span></div>
      <div id="slow-body"></div>
    </article>
    <article class="card">
      <div class="card-head"><h2>N+1 reports</h2><span class="muted" id="nplus-count"></span></div>
      <div id="nplus-body"></div>
    </article>
  </section>
  <section class="card" id="actions-card">
    <div class="card-head"><h2>Actions</h2></div>
    <p class="locked" id="actions-locked"></p>
    <div class="actions">
      <div class="action">
        <h3>Clear</h3>
        <p class="muted">Every entry, or the cached Prisma reads of one TTL class.</p>
        <div class="row">
          <select id="clear-tier" aria-label="What to clear">
            <option value="all">All entries</option>
            <option value="L1">L1</option>
            <option value="L2">L2</option>
            <option value="L3">L3</option>
          </select>
          <button type="button" id="clear-run" class="danger">Clear</button>
        </div>
        <p class="muted" id="clear-info"></p>
      </div>
      <div class="action">
        <h3>Invalidate</h3>
        <p class="muted">By tags or keys (comma separated), or by a key glob such as <code>product:*</code>.</p>
        <div class="row">
          <select id="invalidate-kind" aria-label="Invalidate by">
            <option value="tags">tags</option>
            <option value="keys">keys</option>
            <option value="pattern">pattern</option>
          </select>
          <input id="invalidate-value" aria-label="Tags, keys or pattern" placeholder="product, catalog">
          <button type="button" id="invalidate-run">Invalidate</button>
        </div>
      </div>
      <div class="action">
        <h3>Prefetch</h3>
        <p class="muted">Runs a cache warming round now (the warming items of the CacheInvalidation).</p>
        <div class="row"><button type="button" id="prefetch-run">Prefetch</button></div>
      </div>
    </div>
    <div class="result" id="action-result" hidden>
      <div class="result-head"><span id="action-status" class="badge"></span><span id="action-what"></span></div>
      <pre id="action-output"></pre>
    </div>
  </section>
</main>
<footer>Polling every 2 s, paused while this tab is hidden. <span id="since"></span></footer>
`

/** The page, with `nonce` on its one style and one script element (the response's CSP names it). */
export function dashboardPage({ nonce }: { nonce: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stratacache dashboard</title>
<link rel="icon" href="${ICON}">
<style nonce="${nonce}">${DASHBOARD_STYLE}</style>
</head>
<body>${BODY}<script nonce="${nonce}">(() => {
'use strict'
${DASHBOARD_VIEW}${DASHBOARD_PANELS}${DASHBOARD_SCRIPT}
})()</script>
</body>
</html>
`
}
