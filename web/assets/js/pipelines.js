// Pipelines (issue 18), one page for the list (`/pipelines`) and for one
// pipeline (`/pipelines/ID`). The list starts a pipeline from its YAML,
// with its scripts as files or stored scenarios; an invalid file comes
// back as every problem with its line. One pipeline shows its stage table
// (state, gate checks, a link to each stage's run), the decision tree,
// breaking point and recovery time, and its report links; it follows the
// pipeline live over the WebSocket (`{"type": "pipeline"}` messages),
// re-reading it from the API when the connection drops or it ends.

import { api, get, ApiError } from './api.js';
import { el, nav, badge, canEdit } from './nav.js';

const $ = (x) => document.getElementById(x);
const detailId = (location.pathname.match(/^\/pipelines\/(\d+)$/) || [])[1];

function pairs(text, sep) {
  const out = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const i = line.indexOf(sep);
    if (i < 1) throw new Error(`"${line}": expected NAME${sep}value`);
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

async function readFiles(input) {
  const files = {};
  for (const f of input.files) files[f.name] = await f.text();
  return files;
}

function showProblems(e) {
  const box = $('problems');
  const items = e instanceof ApiError && e.details.length
    ? e.details.map((d) => (d.line ? `line ${d.line}: ${d.message}` : d.message))
    : [e.message];
  box.replaceChildren(el('p', {}, e instanceof ApiError && e.details.length ? 'The pipeline cannot run:' : 'Error:'));
  const ul = el('ul', { id: 'problem-list' });
  for (const t of items) ul.append(el('li', {}, t));
  box.append(ul);
  box.hidden = false;
}

async function start(ev) {
  ev.preventDefault();
  $('problems').hidden = true;
  try {
    const scenarios = {};
    for (const [k, v] of Object.entries(pairs($('scenarios').value, '='))) {
      const id = Number(v);
      if (!Number.isInteger(id) || id < 1) throw new Error(`${k}: "${v}" is not a scenario id`);
      scenarios[k] = id;
    }
    const body = {
      pipeline: $('yaml').value,
      files: await readFiles($('files')),
      scenarios,
      env: pairs($('env').value, '='),
      include: $('include').value.split(',').map((s) => s.trim()).filter(Boolean),
    };
    const p = await api('POST', '/api/v1/pipelines', body);
    location.assign(`/pipelines/${p.id}`);
  } catch (e) {
    showProblems(e);
  }
}

function stageCounts(p) {
  const n = {};
  for (const s of p.stages || []) n[s.state] = (n[s.state] || 0) + 1;
  return Object.entries(n).map(([k, v]) => `${v} ${k}`).join(', ');
}

async function showList(me) {
  $('list-view').hidden = false;
  if (canEdit(me)) {
    $('start-panel').hidden = false;
    $('start').addEventListener('submit', start);
  }
  const list = (await get('/api/v1/pipelines?limit=100')).items || [];
  const frag = document.createDocumentFragment();
  for (const p of list) {
    const tr = el('tr', { 'data-id': String(p.id) });
    const a = el('a', { href: `/pipelines/${p.id}` }, p.name);
    tr.append(el('td', { class: 'num' }, String(p.id)));
    const name = el('td');
    name.append(a);
    const status = el('td');
    status.append(badge(p.status));
    tr.append(name, status, el('td', {}, stageCounts(p)), el('td', {}, new Date(p.created_at).toLocaleString()));
    frag.append(tr);
  }
  $('list').tBodies[0].replaceChildren(frag);
  $('list-empty').hidden = list.length > 0;
}

function gateCell(s) {
  const td = el('td');
  if (s.skipped_because) td.append(el('span', { class: 'empty' }, s.skipped_because));
  for (const c of s.checks || []) {
    td.append(el('div', { class: c.ok ? 'check-ok' : 'check-failed', 'data-check': c.name },
      `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`));
  }
  return td;
}

function renderStages(stages) {
  const frag = document.createDocumentFragment();
  for (const s of stages) {
    const tr = el('tr', { 'data-stage': s.name, 'data-state': s.state });
    const state = el('td');
    state.append(badge(s.state));
    const run = el('td');
    if (s.run_id != null) run.append(el('a', { href: `/runs/${s.run_id}` }, `run ${s.run_id}`));
    tr.append(el('td', {}, s.required === false ? `${s.name} (optional)` : s.name), el('td', {}, s.kind || ''),
      el('td', {}, (s.needs || []).join(', ')), state, gateCell(s), run);
    frag.append(tr);
  }
  $('stages').tBodies[0].replaceChildren(frag);
}

function point(label, bp) {
  if (!bp || bp.t == null) return `${label}: none`;
  const vus = bp.vus != null ? `${Math.round(bp.vus)} VUs, ` : '';
  return `${label}: ${vus}${bp.rps.toFixed(1)} req/s, ${(bp.error_rate * 100).toFixed(2)} % errors at ${bp.t.toFixed(0)} s`;
}

function render(p, me) {
  document.title = `${p.name} · Pipelines · Stampede`;
  $('title').textContent = `${p.name} #${p.id}`;
  $('status').replaceChildren(badge(p.status));
  $('stop').hidden = !(p.status === 'running' && canEdit(me));
  renderStages(p.stages || []);
  if (p.decisions) {
    $('decisions').replaceChildren(...p.decisions.map((d) => el('li', {}, d)));
  } else if (p.error) {
    $('decisions').replaceChildren(el('li', { class: 'error' }, p.error));
  }
  if (p.breaking_point) {
    $('breaking-point').textContent = point(`Breaking point (${p.breaking_point.stage})`, p.breaking_point.breaking_point);
    $('breaking-point').hidden = false;
  }
  if (p.recovery) {
    const r = p.recovery.recovery || {};
    const took = r.recovery_s != null ? `${r.recovery_s.toFixed(1)} s` : `not within the test (SLO never held ${r.k} intervals)`;
    $('recovery').textContent = `Recovery time (${p.recovery.stage}): ${took} after the fault ended at ${Number(r.fault_end_s).toFixed(0)} s`;
    $('recovery').hidden = false;
  }
  if (p.report) {
    for (const ext of ['html', 'json', 'xml']) $(`report-${ext}`).href = `/api/v1/pipelines/${p.id}/report.${ext}`;
    $('reports').hidden = false;
  }
}

function follow(me) {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/api/v1/ws`);
  ws.addEventListener('message', (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    if (msg.type !== 'pipeline' || String(msg.pipeline_id) !== detailId) return;
    renderStages(msg.stages || []);
    if (msg.status !== 'running') load(me).catch(showError);
  });
  // Missed messages are re-read; then listen again while it runs.
  ws.addEventListener('close', () => {
    load(me).then((p) => { if (p.status === 'running') setTimeout(() => follow(me), 2000); }).catch(showError);
  });
}

async function load(me) {
  const p = await get(`/api/v1/pipelines/${detailId}`);
  render(p, me);
  return p;
}

function showError(e) {
  $('error').textContent = e.message;
  $('error').hidden = false;
}

async function showDetail(me) {
  $('detail-view').hidden = false;
  $('stop').addEventListener('click', async () => {
    try { await api('POST', `/api/v1/pipelines/${detailId}/stop`); } catch (e) { showError(e); }
  });
  const p = await load(me);
  if (p.status === 'running') follow(me);
}

nav('pipelines').then((me) => (detailId ? showDetail(me) : showList(me))).catch(showError);
