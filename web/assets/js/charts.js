// The run's time-series charts, drawn with uPlot (canvas; made for long
// series at 1 s resolution). Each chart owns some columns of one shared
// table indexed by interval; a new interval appends one row and redraws.
// Colours come from the theme's CSS variables, so a theme change rebuilds
// the charts with the same data.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { bytes, clock, ms, num, pct } from './format.js';
import { color } from './theme.js';

const DEFS = [
  { id: 'ch-vus', fmt: (v) => num(v), series: [['VUs', 'vus', '--s1']] },
  { id: 'ch-rps', fmt: (v) => num(v, 1), series: [['requests/s', 'rps', '--s1'], ['failed/s', 'failps', '--s4']] },
  {
    id: 'ch-latency', fmt: ms, size: 70,
    series: [['p50', 'p50', '--s3'], ['p90', 'p90', '--s1'], ['p95', 'p95', '--s2'], ['p99', 'p99', '--s4']],
  },
  { id: 'ch-errors', fmt: pct, series: [['errors', 'err', '--s4']], range: [0, null] },
  {
    id: 'ch-data', fmt: (v) => `${bytes(v)}/s`, size: 80,
    series: [['received', 'recv', '--s1'], ['sent', 'sent', '--s5']],
  },
];

/** Tick steps of the time axis: whole seconds, minutes, hours. */
const SECONDS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400];

/** The columns one interval contributes. */
function row(p) {
  const l = p.latency;
  return {
    t: p.t,
    vus: p.vus ?? null,
    rps: p.rps,
    failps: p.dur > 0 ? p.failed / p.dur : 0,
    p50: l ? l.p50 : null,
    p90: l ? l.p90 : null,
    p95: l ? l.p95 : null,
    p99: l ? l.p99 : null,
    err: p.error_rate ?? null,
    recv: p.received_bps,
    sent: p.sent_bps,
  };
}

export class Charts {
  constructor() {
    this.cols = { t: [] };
    for (const d of DEFS) for (const [, key] of d.series) this.cols[key] = [];
    this.plots = [];
    this.pending = false;
    const grid = document.querySelector('.charts');
    new ResizeObserver(() => this.resize()).observe(grid);
  }

  size(el) {
    const w = Math.max(240, el.clientWidth);
    return { width: w, height: window.innerWidth <= 640 ? 170 : 210 };
  }

  /** (Re)creates every chart with the current theme's colours. */
  build() {
    for (const p of this.plots) p.destroy();
    this.plots = [];
    const text = color('--muted'), grid = color('--grid');
    for (const d of DEFS) {
      const el = document.getElementById(d.id);
      const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
      const opts = {
        ...this.size(el),
        scales: { x: { time: false }, y: d.range ? { range: (u, min, max) => [0, Math.max(max, 0.01)] } : {} },
        axes: [
          { ...axis, incrs: SECONDS, space: 50, values: (u, vals) => vals.map(clock) },
          { ...axis, size: d.size || 60, values: (u, vals) => vals.map(d.fmt) },
        ],
        series: [
          { label: 'time', value: (u, v) => (v == null ? '–' : clock(v)) },
          ...d.series.map(([label, , c]) => ({
            label, stroke: color(c), width: 2, value: (u, v) => (v == null ? '–' : d.fmt(v)),
          })),
        ],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
      };
      const data = [this.cols.t, ...d.series.map(([, key]) => this.cols[key])];
      const plot = new uPlot(opts, data, el);
      plot.root.setAttribute('role', 'img');
      plot.root.setAttribute('aria-label', el.querySelector('figcaption').textContent + ' over time');
      this.plots.push(Object.assign(plot, { def: d, el }));
    }
  }

  /** Appends intervals; calls `drawn()` once they are on screen. */
  push(points, drawn) {
    for (const p of points) {
      const r = row(p);
      for (const k in this.cols) this.cols[k].push(r[k]);
    }
    for (const plot of this.plots) {
      plot.setData([this.cols.t, ...plot.def.series.map(([, key]) => this.cols[key])]);
    }
    if (drawn) requestAnimationFrame(() => drawn());
  }

  /** The number of points each chart shows. */
  get length() { return this.cols.t.length; }

  resize() {
    for (const plot of this.plots) plot.setSize(this.size(plot.el));
  }
}
