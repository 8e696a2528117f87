// A scenario: create from a template or edit, save (the server validates
// the script with the engine; its 422 is shown with the line marked),
// start with overrides (VUs, duration, workers, env), its runs, and the
// line diff between any two saved versions. Viewers see it read-only.
// A declarative scenario (kind `declarative`, YAML) is edited with the
// form of scenario-form.js beside its YAML.

import { api, enc, get } from './api.js';
import { diff, Editor, errorLine } from './editor.js';
import { badge, canEdit, el, nav } from './nav.js';
import { ScenarioForm, STARTER } from './scenario-form.js';
import { TEMPLATES } from './templates.js';

const $ = (x) => document.getElementById(x);
const editor = new Editor($('editor'));
const m = location.pathname.match(/^\/scenarios\/(\d+)$/);
let id = m ? Number(m[1]) : null;
let files = null;
let entry = 'script.js';
/** The declarative form, when this scenario is one. */
let form = null;

/** Shows the declarative form (filled from `yaml`, or the starter) or the script editor alone. */
async function setKind(kind, yaml) {
  $('kind').value = kind;
  $('form-panel').hidden = kind !== 'declarative';
  $('template-box').hidden = kind === 'declarative' || id != null;
  if (kind !== 'declarative') { form = null; return; }
  form = new ScenarioForm($('sform'), (text) => { editor.value = text; });
  if (yaml == null) form.fill(STARTER);
  else await fromYaml(yaml);
}

/** Reads `text` into the form (the server parses it); shows its errors. */
async function fromYaml(text) {
  const err = $('form-error');
  try {
    await form.load(text);
    editor.value = text;
    err.hidden = true;
  } catch (e) {
    const line = e.details?.[0]?.line ?? errorLine(e.message);
    editor.mark(line);
    form?.mark(line, editor.value)?.focus();
    err.textContent = e.message;
    err.hidden = false;
  }
}

function templates() {
  const sel = $('template');
  for (const [key, [label]] of Object.entries(TEMPLATES)) sel.append(el('option', { value: key }, label));
  sel.addEventListener('change', () => { editor.value = TEMPLATES[sel.value][1]; });
  editor.value = TEMPLATES[sel.value][1];
  $('kind').addEventListener('change', () => {
    if ($('kind').value === 'declarative') setKind('declarative');
    else { setKind('k6'); editor.value = TEMPLATES[sel.value][1]; }
  });
}

async function load() {
  const s = await get(`/api/v1/scenarios/${id}`);
  files = s.files || {};
  entry = s.content?.entry || Object.keys(files)[0] || 'script.js';
  $('title').textContent = s.name;
  document.title = `${s.name} · Stampede`;
  $('name').value = s.name;
  $('tags').value = (s.tags || []).join(', ');
  $('description').value = s.description || '';
  $('version').textContent = `version ${s.version}`;
  $('version').hidden = false;
  $('entry').textContent = entry;
  editor.value = files[entry] || '';
  $('template-box').hidden = true;
  $('kind').disabled = true;
  if (s.content?.kind === 'declarative' && !form) {
    await setKind('declarative', editor.value);
    // Viewers read the form; they cannot change it.
    if (editor.ta.readOnly) for (const e of $('form-panel').querySelectorAll('input, select, textarea, button')) e.disabled = true;
  }
  for (const p of ['start-panel', 'runs-panel', 'history-panel']) $(p).hidden = false;
  await Promise.all([runs(), versionList(s.version)]);
}

async function runs() {
  const page = await get(`/api/v1/runs?scenario_id=${id}&limit=20`);
  const frag = document.createDocumentFragment();
  for (const r of page.items) {
    const tr = document.createElement('tr');
    const a = el('td');
    a.append(el('a', { href: `/runs/${enc(r.id)}` }, `#${r.id}`));
    const st = el('td');
    st.append(badge(r.status));
    tr.append(a, st, el('td', {}, r.created_at));
    frag.append(tr);
  }
  $('runs').tBodies[0].replaceChildren(frag);
}

async function versionList(current) {
  const list = (await get(`/api/v1/scenarios/${id}/versions`)).items;
  for (const sel of [$('from'), $('to')]) {
    sel.replaceChildren(...list.map((v) => el('option', { value: String(v.version) }, `v${v.version} · ${v.created_at}`)));
    sel.onchange = showDiff;
  }
  $('to').value = String(current);
  $('from').value = String(list.length > 1 ? list[1].version : current);
  await showDiff();
}

const versions = new Map();
async function version(v) {
  if (!versions.has(v)) versions.set(v, get(`/api/v1/scenarios/${id}/versions/${v}`));
  const x = await versions.get(v);
  return x.files[x.entry] || '';
}

async function showDiff() {
  const [a, b] = await Promise.all([version($('from').value), version($('to').value)]);
  const frag = document.createDocumentFragment();
  for (const [kind, line] of diff(a, b)) {
    frag.append(el('span', { class: kind }, `${{ same: ' ', add: '+', del: '-' }[kind]} ${line}`));
  }
  $('diff').replaceChildren(frag);
}

async function save() {
  const status = $('save-status'), err = $('save-error');
  err.hidden = true;
  status.textContent = 'Validating…';
  $('save').disabled = true;
  const body = {
    name: $('name').value.trim(),
    description: $('description').value,
    tags: $('tags').value.split(',').map((t) => t.trim()).filter(Boolean),
  };
  if (id == null) {
    body.script = editor.value;
    if (form) { body.kind = 'declarative'; body.entry = 'scenario.yaml'; }
  } else { body.files = { ...files, [entry]: editor.value }; body.entry = entry; }
  try {
    const s = await api(id == null ? 'POST' : 'PUT', id == null ? '/api/v1/scenarios' : `/api/v1/scenarios/${id}`, body);
    status.textContent = `Saved version ${s.version}.`;
    if (id == null) { id = s.id; history.replaceState(null, '', `/scenarios/${id}`); }
    await load();
  } catch (e) {
    status.textContent = '';
    const line = e.details?.[0]?.line ?? errorLine(e.message);
    editor.mark(line);
    form?.mark(line, editor.value)?.focus();
    err.textContent = line ? `Line ${line}: ${e.message}` : e.message;
    err.dataset.line = line ?? '';
    err.hidden = false;
  } finally {
    $('save').disabled = false;
  }
}

async function start(ev) {
  ev.preventDefault();
  const err = $('start-error');
  err.hidden = true;
  const body = {};
  if ($('vus').value) body.vus = Number($('vus').value);
  if ($('duration').value) body.duration = $('duration').value.trim();
  if ($('workers').value) body.workers = Number($('workers').value);
  const env = {};
  for (const line of $('env').value.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const i = line.indexOf('=');
    if (i < 1) { err.textContent = `not KEY=value: ${line}`; err.hidden = false; return; }
    env[line.slice(0, i)] = line.slice(i + 1);
  }
  if (Object.keys(env).length) body.env = env;
  $('start-run').disabled = true;
  try {
    const r = await api('POST', `/api/v1/scenarios/${id}/start`, body);
    location.assign(`/runs/${enc(r.run_id)}`);
  } catch (e) {
    err.textContent = e.message;
    err.hidden = false;
    $('start-run').disabled = false;
  }
}

nav('scenarios').then(async (me) => {
  const edit = canEdit(me);
  $('save').hidden = !edit;
  editor.ta.readOnly = !edit;
  $('save').addEventListener('click', save);
  $('start').addEventListener('submit', start);
  $('start').hidden = !edit;
  $('from-yaml').addEventListener('click', () => fromYaml(editor.value));
  if (id == null) templates();
  else await load();
});
