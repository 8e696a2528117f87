// The run view's tables: thresholds (a failing row turns red), checks and
// the per-endpoint statistics (sortable by any column, by mouse or
// keyboard). Cells are filled with textContent only: names come from the
// script and are never parsed as HTML.

import { ms, num, observed, pct } from './format.js';

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function fill(id, rows, render) {
  const body = document.querySelector(`#${id} tbody`);
  const frag = document.createDocumentFragment();
  for (const r of rows) frag.appendChild(render(r));
  body.replaceChildren(frag);
  document.getElementById(`${id}-empty`).hidden = rows.length > 0;
  document.getElementById(id).hidden = rows.length === 0;
}

/** Renders the thresholds table. */
export function thresholds(rows) {
  fill('thresholds', rows, (t) => {
    const tr = document.createElement('tr');
    tr.className = t.ok ? 'pass' : 'fail';
    cell(tr, t.metric, 'name');
    cell(tr, t.expression);
    cell(tr, observed(t), 'num');
    cell(tr, t.ok ? '✓ pass' : '✗ fail', 'status');
    return tr;
  });
}

/** Renders the checks table. */
export function checks(rows) {
  fill('checks', rows, (c) => {
    const tr = document.createElement('tr');
    const total = c.passes + c.fails;
    if (c.fails > 0) tr.className = 'fail';
    cell(tr, c.group ? c.group.replace(/^::/, '').split('::').join(' › ') : '–');
    cell(tr, c.name, 'name');
    cell(tr, num(c.passes), 'num');
    cell(tr, num(c.fails), 'num');
    cell(tr, total ? pct(c.passes / total) : '–', 'num');
    return tr;
  });
}

const KEYS = {
  name: (e) => e.name,
  methods: (e) => e.methods.join(','),
  requests: (e) => e.requests,
  rps: (e) => e.rps,
  error_rate: (e) => e.error_rate,
  p50: (e) => e.latency.med,
  p90: (e) => e.latency.p90,
  p95: (e) => e.latency.p95,
  p99: (e) => e.latency.p99,
  max: (e) => e.latency.max,
};

/** The endpoints table, re-sorted on every update by the chosen column. */
export class Endpoints {
  constructor() {
    this.rows = [];
    this.key = 'name';
    this.dir = 1;
    for (const th of document.querySelectorAll('#endpoints th[data-key]')) {
      th.querySelector('button').addEventListener('click', () => {
        const key = th.dataset.key;
        this.dir = this.key === key ? -this.dir : (th.dataset.type === 'num' ? -1 : 1);
        this.key = key;
        this.render();
      });
    }
  }

  update(rows) { this.rows = rows; this.render(); }

  render() {
    const get = KEYS[this.key];
    const sorted = [...this.rows].sort((a, b) => {
      const x = get(a), y = get(b);
      const r = typeof x === 'string' ? x.localeCompare(y) : x - y;
      return r * this.dir;
    });
    for (const th of document.querySelectorAll('#endpoints th[data-key]')) {
      if (th.dataset.key === this.key) th.setAttribute('aria-sort', this.dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
    fill('endpoints', sorted, (e) => {
      const tr = document.createElement('tr');
      if (e.failed > 0) tr.className = 'fail';
      cell(tr, e.name, 'name');
      cell(tr, e.methods.join(', '));
      cell(tr, num(e.requests), 'num');
      cell(tr, num(e.rps, 1), 'num');
      cell(tr, pct(e.error_rate), 'num');
      cell(tr, ms(e.latency.med), 'num');
      cell(tr, ms(e.latency.p90), 'num');
      cell(tr, ms(e.latency.p95), 'num');
      cell(tr, ms(e.latency.p99), 'num');
      cell(tr, ms(e.latency.max), 'num');
      return tr;
    });
  }
}
