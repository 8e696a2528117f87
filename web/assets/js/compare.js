// Two runs side by side (`/compare?a=BASELINE&b=CURRENT`): their intervals
// overlaid on the same charts, aligned at the start of each run, and
// `GET /api/v1/runs/{a}/compare/{b}`'s per-endpoint regression table and
// verdict (the same as `stampede compare`).

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { enc, get } from './api.js';
import { clock, ms, num, pct } from './format.js';
import { el, nav } from './nav.js';
import { color, onChange } from './theme.js';

const $ = (x) => document.getElementById(x);
const CHARTS = [
  ['cmp-rps', (p) => p.rps, (v) => num(v, 1)],
  ['cmp-p95', (p) => (p.latency ? p.latency.p95 : null), ms],
  ['cmp-vus', (p) => p.vus ?? null, (v) => num(v)],
  ['cmp-errors', (p) => p.error_rate ?? null, pct],
];
let data = null;
let plots = [];

/** One table over whole seconds from each run's start: [t, a…, b…]. */
function align(pa, pb, f) {
  const at = new Map(), bt = new Map();
  for (const p of pa) at.set(Math.round(p.t), f(p));
  for (const p of pb) bt.set(Math.round(p.t), f(p));
  const ts = [...new Set([...at.keys(), ...bt.keys()])].sort((x, y) => x - y);
  return [ts, ts.map((t) => at.get(t) ?? null), ts.map((t) => bt.get(t) ?? null)];
}

function draw() {
  for (const p of plots) p.destroy();
  plots = [];
  if (!data) return;
  const axis = { stroke: color('--muted'), grid: { stroke: color('--grid'), width: 1 }, ticks: { stroke: color('--grid'), width: 1 } };
  for (const [id, f, fmt] of CHARTS) {
    const box = $(id);
    const opts = {
      width: Math.max(240, box.clientWidth), height: window.innerWidth <= 640 ? 170 : 210,
      scales: { x: { time: false } },
      axes: [{ ...axis, values: (u, v) => v.map(clock) }, { ...axis, size: 70, values: (u, v) => v.map(fmt) }],
      series: [
        { label: 'time', value: (u, v) => (v == null ? '–' : clock(v)) },
        { label: `#${data.a} (baseline)`, stroke: color('--s5'), width: 2, value: (u, v) => (v == null ? '–' : fmt(v)) },
        { label: `#${data.b}`, stroke: color('--s1'), width: 2, value: (u, v) => (v == null ? '–' : fmt(v)) },
      ],
    };
    const plot = new uPlot(opts, align(data.pa, data.pb, f), box);
    plot.root.setAttribute('role', 'img');
    plot.root.setAttribute('aria-label', `${box.querySelector('figcaption').textContent} of runs ${data.a} and ${data.b}`);
    plots.push(plot);
  }
}

function fmtValue(metric, v) {
  if (v == null) return '–';
  if (metric && (metric.startsWith('p') || metric === 'avg' || metric === 'med' || metric === 'max')) return ms(v);
  if (metric === 'error_rate') return pct(v);
  return num(v, 2);
}

async function load(a, b) {
  $('error').hidden = true;
  try {
    const [pa, pb, c] = await Promise.all([
      get(`/api/v1/runs/${enc(a)}/live/metrics`), get(`/api/v1/runs/${enc(b)}/live/metrics`),
      get(`/api/v1/runs/${enc(a)}/compare/${enc(b)}`),
    ]);
    data = { a, b, pa: pa.points, pb: pb.points };
    draw();
    const v = $('verdict');
    v.textContent = c.passed ? `#${b} passes against #${a}` : `#${b} regressed against #${a}`;
    v.className = `verdict ${c.passed ? 'ok' : 'bad'}`;
    const frag = document.createDocumentFragment();
    for (const r of c.comparison.rows) {
      const tr = el('tr', { class: r.status === 'regressed' || r.status === 'missing' ? 'fail' : '' });
      tr.append(el('td', { class: 'name' }, r.endpoint ?? ''), el('td', {}, r.metric ?? ''),
        el('td', { class: 'num' }, fmtValue(r.metric, r.baseline)), el('td', { class: 'num' }, fmtValue(r.metric, r.current)),
        el('td', { class: 'num' }, r.change == null ? '–' : `${r.change >= 0 ? '+' : ''}${(r.change * 100).toFixed(1)}%`),
        el('td', { class: 'status' }, r.status));
      frag.append(tr);
    }
    $('rows').tBodies[0].replaceChildren(frag);
    $('title').textContent = `Run #${b} against #${a}`;
  } catch (e) {
    $('error').textContent = e.message;
    $('error').hidden = false;
  }
}

$('pick').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const a = $('a').value, b = $('b').value;
  history.replaceState(null, '', `/compare?a=${enc(a)}&b=${enc(b)}`);
  load(a, b);
});
onChange(draw);

nav('').then(() => {
  const q = new URLSearchParams(location.search);
  $('a').value = q.get('a') || '';
  $('b').value = q.get('b') || '';
  if ($('a').value && $('b').value) load($('a').value, $('b').value);
});
