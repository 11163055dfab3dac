/**
 * The dashboard's drawing helpers (browser JavaScript, inlined before `dashboard-script.ts` in
 * one script element): DOM building, number formats and the time-series charts.
 *
 * Every figure reaches the DOM through `textContent` or an SVG attribute, never as markup: the
 * endpoints echo SQL, tags and call sites that an attacker may have shaped.
 */
// biome-ignore lint/complexity/noUselessStringRaw: browser code: any backslash added later must reach the browser as written
export const DASHBOARD_VIEW = String.raw`
const POLL_MS = 2000
/** Points each chart keeps: three minutes at one point per poll. */
const HISTORY = 90
const SVG_NS = 'http://www.w3.org/2000/svg'

const byId = (id) => document.getElementById(id)

function el(tag, className, text) {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined && text !== null) node.textContent = String(text)
  return node
}

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG_NS, tag)
  for (const name of Object.keys(attributes)) node.setAttribute(name, String(attributes[name]))
  if (text !== undefined) node.textContent = String(text)
  return node
}

const isNumber = (value) => typeof value === 'number' && Number.isFinite(value)
const integers = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const decimals = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 })

const count = (value) => (isNumber(value) ? integers.format(value) : '–')
const rate = (value) => (isNumber(value) ? decimals.format(value) : '–')
const percent = (value) => (isNumber(value) ? value.toFixed(1) + '%' : '–')
const ratio = (value) => (isNumber(value) ? (value * 100).toFixed(0) + '%' : '–')

function ms(value) {
  if (!isNumber(value)) return '–'
  if (value < 1) return value.toFixed(2) + ' ms'
  if (value < 100) return value.toFixed(1) + ' ms'
  if (value < 10000) return Math.round(value) + ' ms'
  return (value / 1000).toFixed(1) + ' s'
}

function bytes(value) {
  if (!isNumber(value)) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return (unit === 0 ? String(value) : value.toFixed(1)) + ' ' + units[unit]
}

function clock(time) {
  const date = new Date(time)
  return Number.isNaN(date.getTime()) ? '–' : date.toLocaleTimeString()
}

/** Text, and the raw figure in data-value: what a script or a test reads back. */
function setFigure(id, text, value) {
  const node = byId(id)
  node.textContent = text
  if (value === undefined || value === null) delete node.dataset.value
  else node.dataset.value = String(value)
}

function setPill(id, state, text) {
  const node = byId(id)
  node.className = 'pill ' + state
  node.textContent = text
}

function setBadge(node, state, text) {
  node.className = 'badge ' + state
  node.textContent = text
}

/** Width as a share of the parent, set through the CSSOM (the CSP forbids style attributes). */
function setShare(node, fraction) {
  const share = isNumber(fraction) ? Math.max(0, Math.min(1, fraction)) : 0
  node.style.width = (share * 100).toFixed(2) + '%'
}

/** A definition list of [label, value, state?] rows (state colours the value as a badge). */
function facts(container, rows) {
  const children = []
  for (const [label, value, state] of rows) {
    children.push(el('dt', null, label))
    const dd = el('dd')
    dd.append(state ? el('span', 'badge ' + state, value) : document.createTextNode(value))
    children.push(dd)
  }
  container.replaceChildren(...children)
}

function message(container, className, text) {
  container.replaceChildren(el('p', className, text))
}

/** The smallest of 1, 2, 5 × 10^n at or above value: round axis maxima. */
function niceCeiling(value) {
  if (!(value > 0)) return 1
  const power = Math.pow(10, Math.floor(Math.log10(value)))
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power
  return 10 * power
}

const charts = new Map()

/**
 * Registers a chart drawn into the element with this id, from the points' fields:
 * { label, series: [{ key, className, area? }], bars?: { key, className }, max?, axis(v), readout(p) }.
 */
function defineChart(id, options) {
  const container = byId(id)
  const chart = { container, options, points: [], hover: -1 }
  charts.set(id, chart)
  container.addEventListener('mousemove', (event) => {
    const box = container.getBoundingClientRect()
    chart.hover = indexAt(chart, event.clientX - box.left, box.width)
    drawChart(chart)
  })
  container.addEventListener('mouseleave', () => {
    chart.hover = -1
    drawChart(chart)
  })
}

function updateChart(id, points) {
  const chart = charts.get(id)
  chart.points = points
  drawChart(chart)
}

function redrawCharts() {
  for (const chart of charts.values()) drawChart(chart)
}

const PAD = { left: 46, right: 10, top: 10, bottom: 22 }

/** Points across the chart: one minute's worth at first, growing with the history up to HISTORY. */
const spanOf = (chart) => Math.min(HISTORY, Math.max(30, chart.points.length))

function geometry(chart) {
  const width = Math.max(240, chart.container.clientWidth)
  const height = Math.max(100, chart.container.clientHeight)
  const plotWidth = width - PAD.left - PAD.right
  const span = spanOf(chart)
  const slot = plotWidth / (span - 1)
  const last = chart.points.length - 1
  return { width, height, plotHeight: height - PAD.top - PAD.bottom, slot, span, last,
    x: (index) => PAD.left + plotWidth - (last - index) * slot }
}

function indexAt(chart, offsetX, width) {
  if (chart.points.length === 0) return -1
  const plotWidth = width - PAD.left - PAD.right
  const fromRight = Math.round((PAD.left + plotWidth - offsetX) / (plotWidth / (spanOf(chart) - 1)))
  const index = chart.points.length - 1 - fromRight
  return index >= 0 && index < chart.points.length ? index : -1
}

function ago(ms) {
  const seconds = Math.round(ms / 1000)
  return '−' + (seconds < 90 ? seconds + ' s' : Math.round(seconds / 60) + ' min')
}

/** Draws at the container's pixel size, so lines and labels stay crisp at any width. */
function drawChart(chart) {
  const { options, points, container } = chart
  const g = geometry(chart)
  const root = svg('svg', { viewBox: '0 0 ' + g.width + ' ' + g.height, role: 'img', 'aria-label': options.label })
  let top = 0
  for (const point of points) {
    for (const series of options.series) if (isNumber(point[series.key])) top = Math.max(top, point[series.key])
  }
  const max = options.max ?? niceCeiling(top * 1.15)
  const y = (value) => PAD.top + g.plotHeight - (Math.min(value, max) / max) * g.plotHeight
  for (const share of [0, 0.5, 1]) {
    const at = y(max * share)
    root.append(svg('line', { class: 'gridline', x1: PAD.left, x2: g.width - PAD.right, y1: at, y2: at }))
    root.append(svg('text', { x: PAD.left - 6, y: at + 3, 'text-anchor': 'end' }, options.axis(max * share)))
  }
  const base = PAD.top + g.plotHeight
  root.append(svg('text', { x: PAD.left, y: g.height - 6 }, ago((g.span - 1) * POLL_MS)))
  root.append(svg('text', { x: g.width - PAD.right, y: g.height - 6, 'text-anchor': 'end' }, 'now'))
  if (options.bars) {
    let barMax = 0
    for (const point of points) if (isNumber(point[options.bars.key])) barMax = Math.max(barMax, point[options.bars.key])
    const width = Math.max(1, g.slot * 0.7)
    points.forEach((point, index) => {
      const value = point[options.bars.key]
      if (!isNumber(value) || value <= 0 || barMax === 0) return
      const height = (value / barMax) * g.plotHeight * 0.9
      root.append(svg('rect', { class: options.bars.className, x: g.x(index) - width / 2, y: base - height, width, height, rx: 1 }))
    })
  }
  let drawn = 0
  for (const series of options.series) {
    // Intervals without a figure (no reads, no calls) break the line rather than invent one.
    let run = []
    const flush = () => {
      if (run.length === 0) return
      const line = run.map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' ')
      if (series.area && run.length > 1) {
        const first = run[0][0].toFixed(1), last = run[run.length - 1][0].toFixed(1)
        root.append(svg('polygon', { class: series.area, points: first + ',' + base + ' ' + line + ' ' + last + ',' + base }))
      }
      // A lone point is a zero-length path, which its round line cap draws as a dot.
      if (run.length === 1) root.append(svg('path', { class: 'line ' + series.className, d: 'M' + line + 'h0.01' }))
      else root.append(svg('polyline', { class: 'line ' + series.className, points: line }))
      drawn += run.length
      run = []
    }
    points.forEach((point, index) => {
      const value = point[series.key]
      if (isNumber(value)) run.push([g.x(index), y(value)])
      else flush()
    })
    flush()
  }
  if (drawn === 0) {
    root.append(svg('text', { class: 'empty-text', x: PAD.left + (g.width - PAD.left - PAD.right) / 2, y: PAD.top + g.plotHeight / 2, 'text-anchor': 'middle' }, points.length < 2 ? 'collecting…' : 'no activity in this window'))
  }
  const hovered = chart.hover >= 0 ? points[chart.hover] : undefined
  if (hovered) {
    const at = g.x(chart.hover)
    root.append(svg('line', { class: 'guide', x1: at, x2: at, y1: PAD.top, y2: base }))
  }
  const readout = byId(container.id + '-readout')
  const shown = hovered ?? points[points.length - 1]
  readout.textContent = shown ? clock(shown.t) + ' · ' + options.readout(shown) : ''
  container.dataset.points = String(points.length)
  container.dataset.drawn = String(drawn)
  container.replaceChildren(root)
}
`
