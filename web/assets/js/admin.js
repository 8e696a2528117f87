// The admin page (admins only; the server refuses it to others): users
// and roles (create, change role, disable, reset password, quotas), API
// tokens (anyone's listed and revoked; created for oneself and shown once)
// and the server's settings that are flags (allowed targets, limits),
// read-only with the flag that sets them. No password or token secret is
// ever read back: the API has none to give.

import { api, enc, get } from './api.js';
import { el, nav } from './nav.js';

const $ = (x) => document.getElementById(x);
const ROLES = ['viewer', 'editor', 'admin'];
let me = null;
let users = [];

function say(text) { $('status').textContent = text; $('error').hidden = true; }
function fail(e) { $('error').textContent = e.message; $('error').hidden = false; }

/** Runs `f`, then reloads; a failure is shown and loses nothing typed. */
async function act(f, done) {
  try { await f(); say(done); await load(); } catch (e) { fail(e); }
}

const quotaText = (q) => [q.max_vus && `${q.max_vus} VUs`, q.max_duration_secs && `${q.max_duration_secs} s`,
  q.max_concurrent_runs && `${q.max_concurrent_runs} runs`].filter(Boolean).join(' · ') || 'none';

function userRow(u) {
  const tr = el('tr', { 'data-user': u.username });
  const role = el('select', { 'aria-label': `role of ${u.username}`, class: 'role' });
  for (const r of ROLES) role.append(el('option', { value: r }, r));
  role.value = u.role;
  const save = el('button', { type: 'button', class: 'save-role' }, 'Change role');
  save.addEventListener('click', () => act(() => api('PATCH', `/api/v1/users/${enc(u.id)}`, { role: role.value }),
    `${u.username} is now ${role.value}`));
  const disabled = !!u.disabled_at;
  const toggle = el('button', { type: 'button', class: 'toggle' }, disabled ? 'Enable' : 'Disable');
  toggle.addEventListener('click', () => act(() => api('PATCH', `/api/v1/users/${enc(u.id)}`, { disabled: !disabled }),
    `${u.username} ${disabled ? 'enabled' : 'disabled'}`));
  const roleCell = el('td');
  roleCell.append(role);
  const actions = el('td', { class: 'actions-cell' });
  actions.append(save, toggle);
  tr.append(el('td', { class: 'name' }, u.username), roleCell,
    el('td', { class: 'state' }, disabled ? `disabled ${u.disabled_at}` : 'active'),
    el('td', {}, quotaText(u.quotas)), actions);
  return tr;
}

function userOptions(select, keep) {
  const before = select.value || keep;
  select.replaceChildren(...users.map((u) => el('option', { value: String(u.id) }, u.username)));
  if (before && users.some((u) => String(u.id) === before)) select.value = before;
}

async function tokens() {
  const owner = $('tk-user').value || String(me.id);
  const list = owner === String(me.id) ? await get('/api/v1/tokens') : await get(`/api/v1/users/${enc(owner)}/tokens`);
  const frag = document.createDocumentFragment();
  for (const t of list) {
    const tr = el('tr', { 'data-token': t.name });
    const state = t.revoked_at ? `revoked ${t.revoked_at}` : 'active';
    const actions = el('td');
    if (!t.revoked_at) {
      const revoke = el('button', { type: 'button', class: 'danger revoke' }, 'Revoke');
      revoke.addEventListener('click', () => act(() => api('DELETE', `/api/v1/tokens/${enc(t.id)}`), `token ${t.name} revoked`));
      actions.append(revoke);
    }
    tr.append(el('td', { class: 'name' }, t.name), el('td', {}, t.created_at), el('td', {}, t.last_used_at || '–'),
      el('td', {}, t.expires_at || 'never'), el('td', { class: 'state' }, state), actions);
    frag.append(tr);
  }
  $('tokens').tBodies[0].replaceChildren(frag);
  $('tokens-empty').hidden = list.length > 0;
  $('new-token').hidden = owner !== String(me.id);
}

async function settings() {
  const s = await get('/api/v1/settings');
  const frag = document.createDocumentFragment();
  for (const [key, { value, set_by: by }] of Object.entries(s)) {
    const v = Array.isArray(value) ? value.join(', ') : typeof value === 'object' ? JSON.stringify(value) : String(value);
    frag.append(el('tr', { 'data-setting': key }));
    frag.lastChild.append(el('td', {}, key.replaceAll('_', ' ')), el('td', { class: 'value' }, v), el('td', {}, by));
  }
  $('settings').tBodies[0].replaceChildren(frag);
}

async function load() {
  users = (await get('/api/v1/users?limit=500')).items;
  $('users').tBodies[0].replaceChildren(...users.map(userRow));
  userOptions($('rs-user'));
  userOptions($('q-user'));
  userOptions($('tk-user'), String(me.id));
  await tokens();
}

$('new-user').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const body = { username: $('nu-name').value.trim(), password: $('nu-password').value, role: $('nu-role').value };
  act(async () => {
    await api('POST', '/api/v1/users', body);
    $('nu-name').value = '';
    $('nu-password').value = '';
  }, `user ${body.username} created`);
});
$('reset').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const u = users.find((x) => String(x.id) === $('rs-user').value);
  act(async () => {
    await api('PATCH', `/api/v1/users/${enc($('rs-user').value)}`, { password: $('rs-password').value });
    $('rs-password').value = '';
  }, `password of ${u ? u.username : 'the user'} reset`);
});
$('q-user').addEventListener('change', () => {
  const u = users.find((x) => String(x.id) === $('q-user').value);
  const q = u ? u.quotas : {};
  $('q-vus').value = q.max_vus ?? '';
  $('q-duration').value = q.max_duration_secs ?? '';
  $('q-runs').value = q.max_concurrent_runs ?? '';
});
$('quotas').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const n = (id) => ($(id).value === '' ? null : Number($(id).value));
  const quotas = { max_vus: n('q-vus'), max_duration_secs: n('q-duration'), max_concurrent_runs: n('q-runs') };
  act(() => api('PATCH', `/api/v1/users/${enc($('q-user').value)}`, { quotas }), 'quotas saved');
});
$('tk-user').addEventListener('change', () => { $('secret-box').hidden = true; tokens().catch(fail); });
$('new-token').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const body = { name: $('tk-name').value.trim() };
  if ($('tk-expires').value) body.expires_at = `${$('tk-expires').value}T23:59:59Z`;
  act(async () => {
    const t = await api('POST', '/api/v1/tokens', body);
    $('token-secret').textContent = t.token;
    $('secret-box').hidden = false;
    $('tk-name').value = '';
  }, `token ${body.name} created`);
});

nav('admin').then(async (m) => {
  me = m;
  if (!me || me.role !== 'admin') { fail(new Error('this page is for admins')); return; }
  try { await Promise.all([load(), settings()]); } catch (e) { fail(e); }
});
