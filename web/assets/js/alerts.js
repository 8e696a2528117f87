// The alerts page: alerts (filtered by state, severity and whether
// acknowledged; editors acknowledge), the rules (editors create, edit,
// enable/disable and delete) and the notification channels (admins; a
// channel's secret is write-only: the API says only whether one is
// stored, and a blank secret field on edit keeps it).

import { api, enc, get } from './api.js';
import { canEdit, el, nav } from './nav.js';

const $ = (x) => document.getElementById(x);
let me = null;
let rules = [];
let channels = [];

function say(text) { $('status').textContent = text; $('error').hidden = true; }
function fail(e) {
  const d = (e.details || []).map((x) => `${x.field}: ${x.message}`).join('; ');
  $('error').textContent = d && !e.message.includes(d) ? `${e.message} (${d})` : e.message;
  $('error').hidden = false;
}
async function act(f, done) {
  try { await f(); say(done); await load(); } catch (e) { fail(e); }
}
const button = (text, cls, onClick) => {
  const b = el('button', { type: 'button', class: cls }, text);
  b.addEventListener('click', onClick);
  return b;
};

async function alerts() {
  const q = new URLSearchParams({ limit: '200' });
  for (const [k, id] of [['state', 'f-state'], ['severity', 'f-severity'], ['acknowledged', 'f-ack']]) {
    if ($(id).value) q.set(k, $(id).value);
  }
  const page = await get(`/api/v1/alerts?${q}`);
  const frag = document.createDocumentFragment();
  for (const a of page.items) {
    const tr = el('tr', { 'data-alert': String(a.id), 'data-alert-state': a.state });
    const subject = el('td', { class: 'name' });
    if (a.run_id != null) subject.append(el('a', { href: `/runs/${enc(a.run_id)}` }, a.subject));
    else subject.textContent = a.subject;
    const ack = el('td', { class: 'ack' });
    if (a.acknowledged_at) ack.textContent = a.acknowledged_at;
    else if (canEdit(me)) ack.append(button('Acknowledge', 'ack-button', () => act(() => api('POST', `/api/v1/alerts/${enc(a.id)}/ack`, {}), `alert ${a.id} acknowledged`)));
    else ack.textContent = 'no';
    tr.append(el('td', {}, a.fired_at), el('td', {}, a.rule_name), el('td', {}, a.severity), subject,
      el('td', { class: 'state' }, a.state), el('td', { class: 'num' }, a.value == null ? '–' : String(a.value)),
      el('td', {}, a.message), ack);
    frag.append(tr);
  }
  $('alerts').tBodies[0].replaceChildren(frag);
  $('alerts-empty').hidden = page.items.length > 0;
}

function ruleBody(r) {
  return {
    name: r.name, enabled: r.enabled, scope: r.scope, scenario_id: r.scenario_id ?? undefined, metric: r.metric,
    tags: r.tags, stat: r.stat, op: r.op, threshold: r.threshold, for: `${r.for_ms}ms`, lookback: `${r.lookback_ms}ms`,
    severity: r.severity, stop_run: r.stop_run, channels: r.channels,
  };
}

function editRule(r) {
  $('r-id').value = String(r.id);
  $('r-name').value = r.name;
  $('r-scope').value = r.scope;
  $('r-scenario').value = r.scenario_id ?? '';
  $('r-metric').value = r.metric;
  $('r-stat').value = r.stat;
  $('r-op').value = r.op;
  $('r-threshold').value = String(r.threshold);
  $('r-for').value = `${r.for_ms}ms`;
  $('r-lookback').value = `${r.lookback_ms}ms`;
  $('r-severity').value = r.severity;
  $('r-channels').value = r.channels.join(', ');
  $('r-stop').checked = r.stop_run;
  $('r-enabled').checked = r.enabled;
  $('r-save').textContent = 'Save rule';
  $('r-name').focus();
}

function ruleRows() {
  const edit = canEdit(me);
  const frag = document.createDocumentFragment();
  for (const r of rules) {
    const tr = el('tr', { 'data-rule': r.name, 'data-enabled': String(r.enabled) });
    const actions = el('td', { class: 'actions-cell' });
    if (edit) {
      actions.append(button('Edit', 'edit', () => editRule(r)),
        button(r.enabled ? 'Disable' : 'Enable', 'toggle', () => act(() => api('PUT', `/api/v1/alert-rules/${enc(r.id)}`,
          { ...ruleBody(r), enabled: !r.enabled }), `rule ${r.name} ${r.enabled ? 'disabled' : 'enabled'}`)));
      if (!r.builtin) {
        actions.append(button('Delete', 'danger delete', () => act(() => api('DELETE', `/api/v1/alert-rules/${enc(r.id)}`), `rule ${r.name} deleted`)));
      }
    }
    const scope = r.scope === 'scenario' ? `scenario ${r.scenario_id}` : r.scope;
    const cond = `${r.stat}(${r.metric}) ${r.op} ${r.threshold}${r.for_ms ? ` for ${r.for_ms / 1000} s` : ''}`;
    const chans = r.channels.map((id) => channels.find((c) => c.id === id)?.name || `#${id}`).join(', ') || '–';
    tr.append(el('td', { class: 'name' }, r.name + (r.builtin ? ' (built in)' : '')), el('td', {}, scope),
      el('td', {}, cond), el('td', {}, r.severity), el('td', {}, chans), el('td', {}, r.enabled ? 'yes' : 'no'), actions);
    frag.append(tr);
  }
  $('rules').tBodies[0].replaceChildren(frag);
}

function editChannel(c) {
  $('c-id').value = String(c.id);
  $('c-name').value = c.name;
  $('c-kind').value = c.kind;
  $('c-config').value = JSON.stringify(c.config);
  $('c-secret').value = '';
  $('c-enabled').checked = c.enabled;
  $('c-save').textContent = 'Save channel';
  $('c-name').focus();
}

function channelRows() {
  const frag = document.createDocumentFragment();
  for (const c of channels) {
    const tr = el('tr', { 'data-channel': c.name });
    const actions = el('td', { class: 'actions-cell' });
    actions.append(button('Edit', 'edit', () => editChannel(c)),
      button('Delete', 'danger delete', () => act(() => api('DELETE', `/api/v1/alert-channels/${enc(c.id)}`), `channel ${c.name} deleted`)));
    tr.append(el('td', { class: 'num' }, String(c.id)), el('td', { class: 'name' }, c.name), el('td', {}, c.kind),
      el('td', {}, JSON.stringify(c.config)), el('td', { class: 'secret-state' }, c.has_secret ? 'stored' : 'none'),
      el('td', {}, c.enabled ? 'yes' : 'no'), actions);
    frag.append(tr);
  }
  $('channels').tBodies[0].replaceChildren(frag);
}

async function load() {
  const admin = me && me.role === 'admin';
  [rules, channels] = await Promise.all([
    get('/api/v1/alert-rules').then((r) => r.items || r),
    admin ? get('/api/v1/alert-channels').then((r) => r.items) : Promise.resolve([]),
  ]);
  ruleRows();
  if (admin) channelRows();
  await alerts();
}

$('filter').addEventListener('submit', (ev) => { ev.preventDefault(); alerts().catch(fail); });
$('rule').addEventListener('reset', () => { $('r-id').value = ''; $('r-save').textContent = 'Create rule'; });
$('rule').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const id = $('r-id').value;
  const body = {
    name: $('r-name').value.trim(), scope: $('r-scope').value, metric: $('r-metric').value.trim(),
    stat: $('r-stat').value.trim() || undefined, op: $('r-op').value, threshold: Number($('r-threshold').value),
    for: $('r-for').value.trim() || undefined, lookback: $('r-lookback').value.trim() || undefined,
    severity: $('r-severity').value, stop_run: $('r-stop').checked, enabled: $('r-enabled').checked,
    channels: $('r-channels').value.split(',').map((x) => x.trim()).filter(Boolean).map(Number),
  };
  if ($('r-scenario').value) body.scenario_id = Number($('r-scenario').value);
  act(async () => {
    await api(id ? 'PUT' : 'POST', id ? `/api/v1/alert-rules/${enc(id)}` : '/api/v1/alert-rules', body);
    $('rule').reset();
  }, `rule ${body.name} saved`);
});
$('channel').addEventListener('reset', () => { $('c-id').value = ''; $('c-save').textContent = 'Create channel'; });
$('channel').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const id = $('c-id').value;
  let config;
  try { config = JSON.parse($('c-config').value || '{}'); } catch (e) { fail(new Error(`the settings are not JSON: ${e.message}`)); return; }
  const body = { name: $('c-name').value.trim(), kind: $('c-kind').value, config, enabled: $('c-enabled').checked };
  if ($('c-secret').value) body.secret = $('c-secret').value;
  act(async () => {
    await api(id ? 'PUT' : 'POST', id ? `/api/v1/alert-channels/${enc(id)}` : '/api/v1/alert-channels', body);
    $('channel').reset();
  }, `channel ${body.name} saved`);
});

nav('alerts').then(async (m) => {
  me = m;
  for (const e of document.querySelectorAll('.editor-only')) e.hidden = !canEdit(me);
  for (const e of document.querySelectorAll('.admin-only')) e.hidden = !(me && me.role === 'admin');
  try { await load(); } catch (e) { fail(e); }
  setInterval(() => alerts().catch(fail), 5000);
});
