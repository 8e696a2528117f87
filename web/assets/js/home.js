// The home page: runs in flight with a live mini-chart of their requests/s,
// recent runs with their verdicts, and the workers online, from
// `GET /api/v1/dashboard`; the alerts firing now, from
// `GET /api/v1/alerts?state=firing`; refreshed every two seconds.

import { enc, get } from './api.js';
import { clock, num, pct } from './format.js';
import { badge, el, nav } from './nav.js';

const $ = (x) => document.getElementById(x);
const SVG = 'http://www.w3.org/2000/svg';

/** A sparkline of `values` (an SVG polyline scaled to its box). */
function spark(values, label) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', '0 0 100 40');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const max = Math.max(1e-9, ...values);
  const step = values.length > 1 ? 100 / (values.length - 1) : 100;
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', values.map((v, i) => `${(i * step).toFixed(2)},${(38 - (v / max) * 36).toFixed(2)}`).join(' '));
  svg.append(line);
  return svg;
}

function running(list) {
  const frag = document.createDocumentFragment();
  for (const r of list) {
    const card = el('article', { class: 'run-card', 'data-run': String(r.id) });
    const head = el('div', { class: 'row' });
    head.append(el('a', { href: `/runs/${enc(r.id)}` }, `#${r.id} ${r.scenario || ''}`), badge(r.status));
    const rps = r.points.map((p) => p.rps || 0);
    card.append(head, spark(rps, `requests per second of run ${r.id}`),
      el('div', { class: 'figures' },
        `${clock(r.elapsed_s)} · ${num(r.totals.rps, 1)} req/s · ${num(r.totals.requests)} requests · ${pct(r.totals.error_rate)} errors`));
    frag.append(card);
  }
  $('running').replaceChildren(frag);
  $('running-empty').hidden = list.length > 0;
}

function recent(list) {
  const frag = document.createDocumentFragment();
  for (const r of list) {
    const tr = document.createElement('tr');
    const id = el('td');
    id.append(el('a', { href: `/runs/${enc(r.id)}` }, `#${r.id}`));
    const verdict = el('td');
    verdict.append(badge(r.status));
    tr.append(id, el('td', { class: 'name' }, r.scenario || ''), verdict, el('td', {}, r.ended_at || ''));
    frag.append(tr);
  }
  $('recent').tBodies[0].replaceChildren(frag);
  $('recent-empty').hidden = list.length > 0;
}

function alerts(list) {
  const frag = document.createDocumentFragment();
  for (const a of list) {
    const tr = el('tr', { 'data-alert': String(a.id), 'data-severity': a.severity });
    const subject = el('td', { class: 'name' });
    if (a.run_id != null) subject.append(el('a', { href: `/runs/${enc(a.run_id)}` }, a.subject));
    else subject.textContent = a.subject;
    tr.append(el('td', {}, a.fired_at), el('td', {}, a.rule_name), el('td', {}, a.severity), subject,
      el('td', { class: 'num' }, a.value == null ? '–' : num(a.value, 2)));
    frag.append(tr);
  }
  $('active-alerts').tBodies[0].replaceChildren(frag);
  $('alerts-empty').hidden = list.length > 0;
}

async function refresh() {
  try {
    alerts((await get('/api/v1/alerts?state=firing&limit=20')).items);
  } catch (e) {
    $('alerts-empty').textContent = `cannot load the alerts: ${e.message}`;
    $('alerts-empty').hidden = false;
  }
  try {
    const d = await get('/api/v1/dashboard');
    running(d.running);
    recent(d.recent);
    const online = d.workers.filter((w) => (w.state || 'online') === 'online').length;
    $('workers-summary').textContent = `${online} of ${d.workers.length} online · `;
    $('workers-summary').append(el('a', { href: '/workers' }, 'see workers'));
  } catch (e) {
    $('workers-summary').textContent = `cannot load the dashboard: ${e.message}`;
  }
  setTimeout(refresh, 2000);
}

nav('home').then(refresh);
