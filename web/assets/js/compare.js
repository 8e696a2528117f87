// Two or more runs side by side (`/compare?a=BASELINE&b=CURRENT[&b=…]`):
// their intervals overlaid on the same charts, aligned at the start of
// each run, and for each current run `GET /api/v1/runs/{a}/compare/{b}`'s
// per-endpoint regression table and verdict (the same as `stampede
// compare`), one table row per run, endpoint and metric.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { enc, get } from './api.js';
import { clock, ms, num, pct } from './format.js';
import { el, nav } from './nav.js';
import { color, onChange } from './theme.js';

const $ = (x) => document.getElementById(x);
const CHARTS = [
  ['cmp-rps', (p) => p.rps, (v) => num(v, 1)],
  ['cmp-p95', (p) => (p.latency ? p.latency.p95 : null), ms],
  ['cmp-vus', (p) => p.vus ?? null, (v) => num(v, 1)],
  ['cmp-errors', (p) => p.error_rate ?? null, pct, 0.01],
];
// The baseline's colour first, then one per current run (cycling).
const STROKES = ['--s5', '--s1', '--s2', '--s3', '--s4'];
/** How many current runs one page compares at most. */
const MAX_RUNS = 10;
let data = null;
let plots = [];

/** One table over whole seconds from each run's start: [t, run 1…, run 2…, …]. */
function align(runs, f) {
  const maps = runs.map((points) => new Map(points.map((p) => [Math.round(p.t), f(p)])));
  const ts = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort((x, y) => x - y);
  return [ts, ...maps.map((m) => ts.map((t) => m.get(t) ?? null))];
}

function draw() {
  // Widths before the old charts go: an emptied grid cell shrinks.
  const widths = new Map(CHARTS.map(([id]) => [id, $(id).clientWidth]));
  for (const p of plots) p.destroy();
  plots = [];
  if (!data) return;
  const axis = { stroke: color('--muted'), grid: { stroke: color('--grid'), width: 1 }, ticks: { stroke: color('--grid'), width: 1 } };
  const ids = [data.a, ...data.bs];
  for (const [id, f, fmt, floor] of CHARTS) {
    const box = $(id);
    const series = ids.map((run, i) => ({
      label: i === 0 ? `#${run} (baseline)` : `#${run}`,
      stroke: color(STROKES[i === 0 ? 0 : 1 + ((i - 1) % (STROKES.length - 1))]),
      width: 2,
      dash: i > STROKES.length - 1 ? [6, 4] : undefined,
      value: (u, v) => (v == null ? '–' : fmt(v)),
    }));
    const opts = {
      width: Math.max(240, widths.get(id)), height: window.innerWidth <= 640 ? 170 : 210,
      // From zero; a rate's axis spans at least `floor` (no 10000 % axis when all are 0).
      scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(max ?? 0, floor ?? 0) || 1] } },
      axes: [{ ...axis, values: (u, v) => v.map(clock) }, { ...axis, size: 70, values: (u, v) => v.map(fmt) }],
      series: [{ label: 'time', value: (u, v) => (v == null ? '–' : clock(v)) }, ...series],
    };
    const plot = new uPlot(opts, align(data.points, f), box);
    plot.root.setAttribute('role', 'img');
    plot.root.setAttribute('aria-label', `${box.querySelector('figcaption').textContent} of runs ${ids.join(', ')}`);
    plots.push(plot);
  }
}

function fmtValue(metric, v) {
  if (v == null) return '–';
  if (metric && (metric.startsWith('p') || metric === 'avg' || metric === 'med' || metric === 'max')) return ms(v);
  if (metric === 'error_rate') return pct(v);
  return num(v, 2);
}

/** The run ids in a field: "12" or "12, 13 14". */
function ids(text) {
  return text.split(/[\s,]+/).filter(Boolean);
}

function rows(b, c) {
  const frag = document.createDocumentFragment();
  for (const r of c.comparison.rows) {
    const tr = el('tr', { class: r.status === 'regressed' || r.status === 'missing' ? 'fail' : '', 'data-run': String(b) });
    const run = el('td');
    run.append(el('a', { href: `/runs/${enc(b)}` }, `#${b}`));
    tr.append(run, el('td', { class: 'name' }, r.endpoint ?? ''), el('td', {}, r.metric ?? ''),
      el('td', { class: 'num' }, fmtValue(r.metric, r.baseline)), el('td', { class: 'num' }, fmtValue(r.metric, r.current)),
      el('td', { class: 'num' }, r.change == null ? '–' : `${r.change >= 0 ? '+' : ''}${(r.change * 100).toFixed(1)}%`),
      el('td', { class: 'status' }, r.status));
    frag.append(tr);
  }
  return frag;
}

async function load(a, bs) {
  $('error').hidden = true;
  try {
    if (bs.length === 0) throw new Error('Name at least one run to compare with the baseline.');
    if (bs.length > MAX_RUNS) throw new Error(`At most ${MAX_RUNS} runs at once against one baseline.`);
    const [points, comparisons] = await Promise.all([
      Promise.all([a, ...bs].map((r) => get(`/api/v1/runs/${enc(r)}/live/metrics`).then((m) => m.points))),
      Promise.all(bs.map((b) => get(`/api/v1/runs/${enc(a)}/compare/${enc(b)}`))),
    ]);
    data = { a, bs, points };
    draw();
    const v = $('verdict');
    v.replaceChildren(...comparisons.map((c, i) => el('span', { class: c.passed ? 'ok' : 'bad', 'data-run': String(bs[i]) },
      c.passed ? `#${bs[i]} passes against #${a}` : `#${bs[i]} regressed against #${a}`)));
    v.className = `verdict ${comparisons.every((c) => c.passed) ? 'ok' : 'bad'}`;
    const frag = document.createDocumentFragment();
    comparisons.forEach((c, i) => frag.append(rows(bs[i], c)));
    $('rows').tBodies[0].replaceChildren(frag);
    $('title').textContent = bs.length === 1 ? `Run #${bs[0]} against #${a}` : `Runs ${bs.map((b) => `#${b}`).join(', ')} against #${a}`;
  } catch (e) {
    $('error').textContent = e.message;
    $('error').hidden = false;
  }
}

/** The address of a comparison: `?a=A&b=B1&b=B2…`. */
const address = (a, bs) => `/compare?a=${enc(a)}${bs.map((b) => `&b=${enc(b)}`).join('')}`;

$('pick').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const a = $('a').value.trim(), bs = ids($('b').value);
  history.replaceState(null, '', address(a, bs));
  load(a, bs);
});
onChange(draw);

nav('').then(() => {
  const q = new URLSearchParams(location.search);
  const bs = q.getAll('b').flatMap(ids);
  $('a').value = q.get('a') || '';
  $('b').value = bs.join(', ');
  if ($('a').value && bs.length) load($('a').value, bs);
});
