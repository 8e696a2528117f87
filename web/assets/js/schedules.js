// The schedules page: every schedule with its next fire times (the server
// computes them in the schedule's time zone), enable/disable and delete
// for its owner or an admin, and a form to create one whose next fires
// are previewed as the cron expression is typed (`POST /schedules/preview`,
// nothing stored; a bad expression shows the server's message).

import { api, enc, get } from './api.js';
import { canEdit, el, nav } from './nav.js';

const $ = (x) => document.getElementById(x);
let me = null;
let names = new Map();

function say(text) { $('status').textContent = text; $('error').hidden = true; }
function fail(e) { $('error').textContent = e.message; $('error').hidden = false; }
async function act(f, done) {
  try { await f(); say(done); await load(); } catch (e) { fail(e); }
}

/** The body that replaces schedule `s` as it is, but for `enabled`. */
const body = (s, enabled) => ({
  name: s.name, scenario_id: s.scenario_id, cron: s.cron, timezone: s.timezone, options: s.options,
  overlap: s.overlap, missed: s.missed, enabled, alert_on_failure: s.alert_on_failure,
});

function row(s) {
  const tr = el('tr', { 'data-schedule': s.name, 'data-enabled': String(s.enabled) });
  const scenario = el('td');
  scenario.append(el('a', { href: `/scenarios/${enc(s.scenario_id)}` }, names.get(s.scenario_id) || `#${s.scenario_id}`));
  const next = el('td', { class: 'next' });
  next.textContent = s.enabled ? (s.next_fires || []).slice(0, 3).join(', ') || '–' : 'disabled';
  const last = el('td');
  if (s.last_run_id != null) last.append(el('a', { href: `/runs/${enc(s.last_run_id)}` }, `#${s.last_run_id}`));
  else last.textContent = '–';
  const actions = el('td', { class: 'actions-cell' });
  if (canEdit(me) && (me.role === 'admin' || me.id === s.owner_id)) {
    const toggle = el('button', { type: 'button', class: 'toggle' }, s.enabled ? 'Disable' : 'Enable');
    toggle.addEventListener('click', () => act(() => api('PUT', `/api/v1/schedules/${enc(s.id)}`, body(s, !s.enabled)),
      `${s.name} ${s.enabled ? 'disabled' : 'enabled'}`));
    const del = el('button', { type: 'button', class: 'danger delete' }, 'Delete');
    del.addEventListener('click', () => act(() => api('DELETE', `/api/v1/schedules/${enc(s.id)}`), `${s.name} deleted`));
    actions.append(toggle, del);
  }
  tr.append(el('td', { class: 'name' }, s.name), scenario, el('td', {}, `${s.cron} (${s.timezone})`), next, last,
    el('td', {}, s.enabled ? 'yes' : 'no'), actions);
  return tr;
}

async function load() {
  const list = (await get('/api/v1/schedules')).items;
  $('schedules').tBodies[0].replaceChildren(...list.map(row));
  $('schedules-empty').hidden = list.length > 0;
}

let previewing = 0;
async function preview() {
  const n = ++previewing;
  try {
    const r = await api('POST', '/api/v1/schedules/preview', { cron: $('s-cron').value, timezone: $('s-tz').value || 'UTC' });
    if (n !== previewing) return;
    $('preview').replaceChildren(...r.next_fires.map((t) => el('li', {}, t)));
    $('preview-error').hidden = true;
  } catch (e) {
    if (n !== previewing) return;
    $('preview').replaceChildren();
    $('preview-error').textContent = e.message;
    $('preview-error').hidden = false;
  }
}

let timer = null;
for (const id of ['s-cron', 's-tz']) {
  $(id).addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(preview, 250); });
}

$('new').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const options = {};
  if ($('s-vus').value) options.vus = Number($('s-vus').value);
  if ($('s-duration').value.trim()) options.duration = $('s-duration').value.trim();
  const b = {
    name: $('s-name').value.trim(), scenario_id: Number($('s-scenario').value), cron: $('s-cron').value.trim(),
    timezone: $('s-tz').value.trim() || 'UTC', options, overlap: $('s-overlap').value, missed: $('s-missed').value,
    alert_on_failure: $('s-alert').checked,
  };
  act(async () => {
    await api('POST', '/api/v1/schedules', b);
    $('s-name').value = '';
  }, `schedule ${b.name} created`);
});

nav('schedules').then(async (m) => {
  me = m;
  for (const e of document.querySelectorAll('.editor-only')) e.hidden = !canEdit(me);
  try {
    const scenarios = (await get('/api/v1/scenarios?limit=500')).items;
    names = new Map(scenarios.map((s) => [s.id, s.name]));
    $('s-scenario').replaceChildren(...scenarios.map((s) => el('option', { value: String(s.id) }, s.name)));
    await load();
    if (canEdit(me)) await preview();
  } catch (e) { fail(e); }
});
