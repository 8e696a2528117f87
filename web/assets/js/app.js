// The run view: wires the live feed to the charts, cards, progress bars and
// tables. The run is `/runs/{id}` in the path or `?run=` in the query,
// else `local` (`stampede run --web-dashboard` serves one run).
//
// Each interval that reaches the charts leaves a `stampede:interval-drawn`
// performance mark with its `seq` and the time it closed on the server, so
// the time from an interval's end to the screen can be measured in the
// browser (the UI tests report it).

import { Charts } from './charts.js';
import { bytes, clock, ms, num, pct } from './format.js';
import { LiveFeed } from './live.js';
import * as tables from './tables.js';
import * as theme from './theme.js';
import { server } from './run-server.js';

function runId() {
  const m = location.pathname.match(/^\/runs\/([^/]+)/);
  if (m) return decodeURIComponent(m[1]);
  return new URLSearchParams(location.search).get('run') || 'local';
}

const id = runId();
const $ = (x) => document.getElementById(x);
const text = (x, v) => { $(x).textContent = v; };
const MAX_MARKS = 4000;
let marks = 0;

theme.init();
const charts = new Charts();
charts.build();
// The charts' data, for the browser tests (no gap after a reconnect).
window.stampedeCharts = charts;
theme.onChange(() => charts.build());
const endpoints = new tables.Endpoints();

$('export').href = `/api/v1/export/${encodeURIComponent(id)}?format=html`;
$('stop').addEventListener('click', async () => {
  const button = $('stop');
  button.disabled = true;
  button.textContent = 'Stopping…';
  try {
    const r = await fetch(`/api/v1/runs/${encodeURIComponent(id)}/stop`, {
      method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: '{}',
    });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
  } catch (e) {
    button.textContent = 'Stop run';
    button.disabled = false;
    text('conn', `stop failed: ${e.message}`);
  }
});

let lastPoint = null;

function onPoints(points, live) {
  lastPoint = points[points.length - 1];
  charts.push(points, () => {
    const now = performance.timeOrigin + performance.now();
    for (const p of points) {
      if (marks++ >= MAX_MARKS) break;
      performance.mark('stampede:interval-drawn', { detail: { seq: p.seq, live, closed_at_ms: p.closed_at_ms, drawn_at_ms: now } });
    }
  });
  text('c-vus', lastPoint.vus == null ? '–' : num(lastPoint.vus));
  text('c-rps', num(lastPoint.rps, 1));
}

function onRun(run) {
  const status = $('run-status');
  status.dataset.status = run.status;
  status.textContent = run.status;
  const name = run.script || `run ${run.id}`;
  text('run-name', name);
  document.title = `${run.status} · ${name} · Stampede`;
  text('foot-script', run.started_at ? `started ${run.started_at}` : '');
  const stop = $('stop');
  if (!run.can_stop) { stop.disabled = true; if (run.status !== 'finishing') stop.textContent = 'Stop run'; }
  else if (stop.textContent === 'Stop run') stop.disabled = false;
  const err = $('run-error');
  err.hidden = !run.error;
  err.textContent = run.error || '';

  const t = run.totals;
  text('c-elapsed', clock(run.elapsed_s));
  text('c-requests', num(t.requests));
  text('c-p95', t.latency.count ? ms(t.latency.p95) : '–');
  text('c-errors', t.requests ? pct(t.error_rate) : '–');
  const checks = t.checks_passed + t.checks_failed;
  text('c-checks', checks ? pct(t.checks_passed / checks) : '–');
  text('c-data', bytes(t.data_received));
  if (!lastPoint) text('c-vus', t.vus_max == null ? '–' : num(t.vus_max));

  scenarios(run.scenarios);
  tables.thresholds(run.thresholds);
  tables.checks(run.checks);
  endpoints.update(run.endpoints);
}

function scenarios(list) {
  const ul = $('scenarios');
  const frag = document.createDocumentFragment();
  for (const s of list) {
    const li = document.createElement('li');
    li.className = 'scenario';
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = s.name;
    const small = document.createElement('small');
    small.textContent = s.executor;
    name.appendChild(small);
    const bar = document.createElement('progress');
    bar.max = 1;
    bar.value = s.fraction;
    bar.setAttribute('aria-label', `${s.name} progress`);
    const figures = document.createElement('div');
    figures.className = 'figures';
    const total = s.duration_s != null ? ` / ${clock(s.duration_s)}` : '';
    figures.textContent = `${Math.round(s.fraction * 100)}% · ${clock(s.elapsed_s)}${total} · ` +
      `${s.active_vus}/${s.max_vus} VUs · ${num(s.completed)} complete, ${num(s.interrupted)} interrupted` +
      (s.finished ? ' · done' : '');
    li.append(name, bar, figures);
    frag.appendChild(li);
  }
  ul.replaceChildren(frag);
}

function onConn(state) {
  const el = $('conn');
  el.dataset.state = state;
  el.textContent = { connecting: 'connecting…', live: '● live', lost: 'reconnecting…', ended: 'run ended' }[state] || state;
}

new LiveFeed(id, { onPoints, onRun: (run) => { onRun(run); serverRun?.(run); }, onConn }).start();
// On `stampede server`: navigation, user menu, abort, more exports, compare.
let serverRun = null;
server(id).then((f) => { serverRun = f; });
