/**
 * The dashboard's stylesheet, served inline under the page's nonce (its CSP allows no other
 * style). Light by default, dark when the system asks for it; one column on narrow screens.
 */
export const DASHBOARD_STYLE = `
:root {
  --bg: #f3f5f9; --card: #ffffff; --ink: #1b2230; --muted: #667085; --line: #e3e7ee;
  --soft: #f7f8fb; --accent: #3461e6; --ok: #12915a; --ok-bg: #e3f6ec; --warn: #b86e00;
  --warn-bg: #fdf1dc; --bad: #c8322a; --bad-bg: #fce8e6; --off: #5b6474; --off-bg: #eceff3;
  --l1: #3461e6; --l2: #8d5cf0; --miss: #f0a030; --latency: #0f9a94; --ping: #8d5cf0;
  --reads: #dfe6f7;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #10141b; --card: #181e28; --ink: #e5e9f0; --muted: #95a0b3; --line: #283142;
    --soft: #1e2532; --ok-bg: #143626; --warn-bg: #3a2a0c; --bad-bg: #41181a; --off-bg: #262d39;
    --ok: #4cc98a; --warn: #f0b453; --bad: #f2776f; --off: #a2acbb; --reads: #27324a;
  }
}
[hidden] { display: none !important; }
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
h1, h2, h3 { margin: 0; font-weight: 600; }
h1 { font-size: 18px; letter-spacing: -0.01em; }
h2 { font-size: 13px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
h3 { font-size: 14px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.muted { color: var(--muted); }
.top {
  position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; align-items: center;
  gap: 12px 20px; padding: 12px 24px; background: var(--card); border-bottom: 1px solid var(--line);
}
.brand { display: flex; align-items: center; gap: 10px; margin-right: auto; }
.brand p { margin: 0; font-size: 12px; }
.logo {
  width: 30px; height: 30px; border-radius: 8px;
  background: linear-gradient(135deg, var(--l1) 0 34%, var(--l2) 34% 67%, var(--miss) 67%);
}
.pills { order: 3; flex: 1 0 100%; display: flex; flex-wrap: wrap; gap: 6px; margin: 0; padding: 0; list-style: none; }
.pill, .badge {
  display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border-radius: 999px;
  font-size: 12px; font-weight: 600; white-space: nowrap; background: var(--off-bg); color: var(--off);
}
.pill::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: currentColor; }
.badge { padding: 1px 8px; font-weight: 600; }
.ok { background: var(--ok-bg); color: var(--ok); }
.warn { background: var(--warn-bg); color: var(--warn); }
.bad { background: var(--bad-bg); color: var(--bad); }
.off { background: var(--off-bg); color: var(--off); }
.token { display: flex; align-items: center; gap: 6px; }
.token label { font-size: 12px; color: var(--muted); }
input, select, button {
  font: inherit; color: inherit; border: 1px solid var(--line); border-radius: 7px;
  padding: 5px 9px; background: var(--card);
}
input:focus, select:focus, button:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
#token { width: 200px; }
button { cursor: pointer; font-weight: 600; background: var(--accent); border-color: var(--accent); color: #fff; }
button.ghost { background: transparent; color: var(--ink); border-color: var(--line); }
button.danger { background: var(--bad); border-color: var(--bad); }
button.armed { background: var(--warn); border-color: var(--warn); }
button:disabled { opacity: 0.45; cursor: not-allowed; }
.banner {
  margin: 16px 24px 0; padding: 10px 14px; border-radius: 8px; background: var(--bad-bg);
  color: var(--bad); font-weight: 600;
}
main { display: grid; gap: 16px; padding: 16px 24px 8px; max-width: 1500px; margin: 0 auto; }
.grid { display: grid; gap: 16px; }
.kpis { grid-template-columns: repeat(4, minmax(0, 1fr)); }
.two { grid-template-columns: repeat(2, minmax(0, 1fr)); }
.three { grid-template-columns: repeat(3, minmax(0, 1fr)); }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 16px;
  min-width: 0; box-shadow: 0 1px 2px rgb(16 24 40 / 0.04);
}
.card-head { display: flex; align-items: baseline; gap: 10px; margin-bottom: 10px; flex-wrap: wrap; }
.card-head h2 { margin-right: auto; }
.big { margin: 6px 0 2px; font-size: 30px; font-weight: 650; letter-spacing: -0.02em; font-variant-numeric: tabular-nums; }
.sub { margin: 0; color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.meter { height: 6px; margin-top: 10px; border-radius: 3px; background: var(--soft); overflow: hidden; }
.meter > span { display: block; height: 100%; width: 0; background: var(--accent); border-radius: 3px; transition: width 0.4s; }
.meter.warn > span { background: var(--warn); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; color: var(--muted); }
.legend span::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 5px; border-radius: 2px; vertical-align: -1px; background: currentColor; }
.legend .l1::before, .seg.l1 { background: var(--l1); }
.legend .l2::before, .seg.l2 { background: var(--l2); }
.legend .miss::before, .seg.miss { background: var(--miss); }
.legend .latency::before { background: var(--latency); }
.legend .ping::before { background: var(--ping); }
.legend .reads::before { background: var(--reads); }
.readout { min-height: 18px; font-size: 12px; color: var(--muted); font-variant-numeric: tabular-nums; }
.chart { position: relative; height: 160px; }
.chart svg { display: block; width: 100%; height: 100%; overflow: visible; }
.chart text { font-size: 10px; fill: var(--muted); font-family: inherit; }
.chart .empty-text { font-size: 12px; }
.gridline { stroke: var(--line); stroke-width: 1; }
.guide { stroke: var(--muted); stroke-dasharray: 3 3; }
.bar-reads { fill: var(--reads); }
.line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
.line-hit { stroke: var(--l1); }
.area-hit { fill: var(--l1); opacity: 0.08; }
.line-latency { stroke: var(--latency); }
.line-ping { stroke: var(--ping); stroke-dasharray: 4 3; }
.split { display: flex; height: 14px; border-radius: 7px; overflow: hidden; background: var(--soft); margin: 8px 0 10px; }
.seg { height: 100%; width: 0; transition: width 0.4s; }
dl.facts { display: grid; grid-template-columns: auto 1fr; gap: 5px 14px; margin: 12px 0 0; font-size: 13px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.reasons { margin: 10px 0 0; padding-left: 18px; color: var(--warn); font-size: 12px; }
.empty, .locked { margin: 8px 0; color: var(--muted); }
.locked { font-weight: 500; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: var(--soft); }
th:first-child, td:first-child { text-align: left; }
tfoot td { font-weight: 650; border-bottom: 0; }
tbody tr:hover { background: var(--soft); }
.entries { list-style: none; margin: 0; padding: 0; display: grid; gap: 10px; max-height: 520px; overflow-y: auto; }
.entry { border: 1px solid var(--line); border-radius: 9px; padding: 10px 12px; background: var(--soft); }
.entry-head { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; }
.entry-head .when { margin-left: auto; font-size: 12px; color: var(--muted); }
.entry pre { margin: 8px 0 0; padding: 8px 10px; border-radius: 7px; background: var(--card); border: 1px solid var(--line); white-space: pre-wrap; word-break: break-word; max-height: 9em; overflow: auto; }
.entry p { margin: 6px 0 0; }
.callsite { display: flex; gap: 6px; align-items: baseline; margin-top: 6px; }
.callsite code { color: var(--accent); word-break: break-all; }
.suggestion { font-size: 13px; }
.error-text { color: var(--bad); }
.actions { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 16px; }
.action { border: 1px solid var(--line); border-radius: 9px; padding: 12px; display: grid; gap: 8px; align-content: start; }
.action p { margin: 0; font-size: 12px; }
.row { display: flex; gap: 6px; flex-wrap: wrap; }
.row input { flex: 1; min-width: 120px; }
.result { margin-top: 14px; border: 1px solid var(--line); border-radius: 9px; overflow: hidden; }
.result-head { display: flex; gap: 10px; align-items: center; padding: 8px 12px; background: var(--soft); font-size: 13px; }
.result pre { margin: 0; padding: 10px 12px; max-height: 240px; overflow: auto; }
footer { padding: 8px 24px 24px; text-align: center; font-size: 12px; color: var(--muted); }
@media (max-width: 1100px) {
  .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .three { grid-template-columns: repeat(2, minmax(0, 1fr)); }
}
@media (max-width: 760px) {
  .kpis, .two, .three, .actions { grid-template-columns: minmax(0, 1fr); }
  .top, main { padding-left: 12px; padding-right: 12px; }
  #token { width: 140px; }
}
`
