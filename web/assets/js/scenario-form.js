// The form of a declarative scenario (issue 19) in the scenario editor:
// base URL, load (executor, VUs or rate, duration or stages), requests
// (method, path, headers, body, checks, weight, extract) and thresholds.
// Form and YAML go both ways: every edit of the form rewrites the YAML in
// the editor (block YAML written here, strings quoted as JSON when plain
// YAML would read them otherwise); "Update form from YAML" sends the text
// to the server, whose parser (the one runs use) answers with its
// structure or its errors at line:col — so the browser needs no YAML
// parser and cannot disagree with the server. What the form has no field
// for (feeders, defaults, http, setup, retries, multipart...) is kept as
// read. A save's 422 marks the YAML line and, when the YAML is the form's,
// the field that wrote that line.

import { api } from './api.js';
import { el } from './nav.js';

const EXECUTORS = ['constant-vus', 'ramping-vus', 'constant-arrival-rate', 'ramping-arrival-rate',
  'shared-iterations', 'per-vu-iterations'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
/** The load keys the form owns (others, e.g. `graceful_stop`, are kept). */
const LOAD_NUM = ['vus', 'rate', 'pool', 'max_vus', 'iterations'];
const LOAD_TEXT = ['duration', 'time_unit', 'max_duration'];
/** A request's keys the form owns. */
const OWNED = ['name', ...METHODS, 'method', 'url', 'weight', 'headers', 'json', 'body', 'check', 'extract'];
const TOP = ['name', 'base_url', 'load', 'variables', 'feeders', 'defaults', 'http', 'flow', 'setup',
  'requests', 'thresholds'];
const REQ = ['name', ...METHODS, 'method', 'url', 'once', 'weight', 'query', 'headers', 'json', 'form',
  'multipart', 'body', 'extract', 'check', 'think_time', 'retry', 'timeout', 'redirects', 'tags'];

/** The scenario a new declarative scenario starts from. */
export const STARTER = {
  name: 'get smoke test',
  base_url: '{{env BASE http://127.0.0.1:3000}}',
  load: { executor: 'shared-iterations', vus: 2, iterations: 20 },
  requests: [{ name: 'get', GET: '/get', check: { status: 200 } }],
  thresholds: { http_req_failed: ['rate<0.01'] },
};

const PLAIN = /^[A-Za-z_/][\w ./-]*$/;
const RESERVED = /^(?:true|false|null|yes|no|on|off|y|n|~)$/i;

/** A scalar as YAML: plain when YAML reads it back as the same string. */
function scalar(v) {
  if (typeof v !== 'string') return JSON.stringify(v);
  const plain = PLAIN.test(v) && !RESERVED.test(v) && !/\s$/.test(v);
  return plain ? v : JSON.stringify(v);
}

const isEmpty = (v) => v !== null && typeof v === 'object' && Object.keys(v).length === 0;
const isScalar = (v) => v === null || typeof v !== 'object';

/**
 * `value` as block YAML; `paths[n]` is the key path (`requests.0.GET`)
 * written on line n (1-based).
 */
export function toYaml(value) {
  const lines = [];
  const paths = [null];
  const put = (line, path) => { lines.push(line); paths.push(path); };
  const block = (v, pad, path) => {
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) {
        const p = `${path}.${i}`;
        if (isScalar(item) || isEmpty(item) || Array.isArray(item)) put(`${pad}- ${JSON.stringify(item)}`, p);
        else {
          const at = lines.length;
          block(item, `${pad}  `, p);
          lines[at] = `${pad}- ${lines[at].slice(pad.length + 2)}`;
        }
      }
      return;
    }
    for (const [k, x] of Object.entries(v)) {
      const p = path ? `${path}.${k}` : k;
      const key = `${pad}${scalar(k)}:`;
      if (isScalar(x)) put(`${key} ${scalar(x)}`, p);
      else if (isEmpty(x) || (Array.isArray(x) && x.every(isScalar))) put(`${key} ${JSON.stringify(x)}`, p);
      else { put(key, p); block(x, `${pad}  `, p); }
    }
  };
  block(value, '', '');
  return { text: `${lines.join('\n')}\n`, paths };
}

/** `key: value` lines as an object; values through `parse`. */
function pairs(text, parse = (v) => v) {
  const out = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const i = line.indexOf(':');
    if (i < 1) throw new Error(`not "key: value": ${line}`);
    out[line.slice(0, i).trim()] = parse(line.slice(i + 1).trim());
  }
  return out;
}

/** JSON when it parses (`200`, `[201, 409]`, `true`), else the text. */
function loose(v) {
  try { return JSON.parse(v); } catch { return v; }
}

const unpairs = (o) => Object.entries(o || {})
  .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n');

function ordered(o, keys) {
  const out = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  for (const k of Object.keys(o)) if (!(k in out)) out[k] = o[k];
  return out;
}

function field(label, input, cls = '') {
  const box = el('div', cls ? { class: cls } : {});
  const id = `f${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  box.append(el('label', { for: id }, label), input);
  return box;
}

const input = (name, attrs = {}) => el('input', { 'data-f': name, ...attrs });
const area = (name, placeholder) => el('textarea', { 'data-f': name, rows: '2', placeholder });

/** The form, in `box`; `onChange` gets the YAML after each edit. */
export class ScenarioForm {
  constructor(box, onChange) {
    this.box = box;
    this.onChange = onChange;
    this.base = {};
    this.paths = [];
    this.yaml = '';
    this.top = el('div', { class: 'row' });
    this.requests = el('div', { class: 'requests' });
    const add = el('button', { type: 'button', id: 'add-request' }, 'Add request');
    add.addEventListener('click', () => { this.addRequest({ name: `r${this.requests.children.length + 1}`, GET: '/' }); this.changed(); });
    this.thresholds = area('thresholds', 'http_req_duration: p(95)<500');
    this.thresholds.id = 'f-thresholds';
    const th = el('div', { class: 'grow' });
    th.append(el('label', { for: 'f-thresholds' }, 'Thresholds (metric: expression, one a line)'), this.thresholds);
    const ths = el('div', { class: 'row' });
    ths.append(th);
    box.replaceChildren(this.top, el('h3', {}, 'Requests'), this.requests, add, ths);
    box.addEventListener('input', () => this.changed());
    box.addEventListener('change', () => this.changed());
    this.buildTop();
  }

  buildTop() {
    const exec = el('select', { 'data-f': 'executor' });
    for (const e of EXECUTORS) exec.append(el('option', { value: e }, e));
    this.top.replaceChildren(
      field('Base URL', input('base_url', { id: 'f-base-url' }), 'grow'),
      field('Executor', exec),
      ...LOAD_NUM.map((k) => field({ pool: 'Pre-allocated VUs', max_vus: 'Max VUs', vus: 'VUs' }[k] || k[0].toUpperCase() + k.slice(1),
        input(k, { type: 'number', min: '0', inputmode: 'numeric' }))),
      ...LOAD_TEXT.map((k) => field(k.replace('_', ' '), input(k, { placeholder: k === 'time_unit' ? '1s' : '30s' }))),
      field('Stages (duration target, one a line)', area('stages', '30s 10'), 'grow'),
    );
  }

  q(name, root = this.top) { return root.querySelector(`[data-f="${name}"]`); }

  addRequest(r) {
    const fs = el('fieldset', { class: 'request row' });
    fs.base = r;
    const method = el('select', { 'data-f': 'method' });
    for (const m of METHODS) method.append(el('option', { value: m }, m));
    const found = METHODS.find((m) => r[m] != null) || (r.method || 'GET').toUpperCase();
    method.value = found;
    const url = input('url', { placeholder: '/path' });
    url.value = r[found] ?? r.url ?? '';
    const name = input('name');
    name.value = r.name || '';
    const weight = input('weight', { type: 'number', min: '0', inputmode: 'numeric' });
    weight.value = r.weight ?? '';
    const bodyKind = el('select', { 'data-f': 'body_kind' });
    for (const [v, l] of [['', 'no body'], ['json', 'JSON'], ['body', 'text']]) bodyKind.append(el('option', { value: v }, l));
    const body = area('body', '{"key": "value"}');
    if (r.json !== undefined) { bodyKind.value = 'json'; body.value = JSON.stringify(r.json, null, 2); } else if (r.body != null) { bodyKind.value = 'body'; body.value = r.body; }
    const headers = area('headers', 'Authorization: Bearer {{token}}');
    headers.value = unpairs(r.headers);
    const check = area('check', 'status: 200');
    check.value = unpairs(r.check);
    const extract = area('extract', 'token: json.token');
    extract.value = unpairs(r.extract);
    const remove = el('button', { type: 'button', class: 'ghost' }, 'Remove');
    remove.addEventListener('click', () => { fs.remove(); this.changed(); });
    fs.append(el('legend', {}, 'Request'), field('Name', name), field('Method', method), field('Path or URL', url, 'grow'),
      field('Weight', weight), field('Headers (Name: value)', headers, 'grow'), field('Body', bodyKind),
      field('Body text', body, 'grow'), field('Checks (what: expected)', check, 'grow'),
      field('Extract (variable: json.path | header.Name | regex:…)', extract, 'grow'), remove);
    this.requests.append(fs);
  }

  /** Shows `s` (the server's reading of the YAML). */
  fill(s) {
    this.base = structuredClone(s);
    const load = s.load || {};
    this.q('base_url').value = s.base_url || '';
    this.q('executor').value = load.executor || 'constant-vus';
    for (const k of [...LOAD_NUM, ...LOAD_TEXT]) this.q(k).value = load[k] ?? '';
    this.q('stages').value = (load.stages || []).map((x) => `${x.duration} ${x.target}`).join('\n');
    this.requests.replaceChildren();
    for (const r of s.requests || []) this.addRequest(r);
    this.thresholds.value = Object.entries(s.thresholds || {})
      .flatMap(([m, xs]) => xs.map((x) => `${m}: ${x}`)).join('\n');
    this.render();
  }

  /** The scenario the form says, and the field of each key path. */
  read() {
    const s = structuredClone(this.base);
    const fields = new Map();
    const set = (o, k, v) => { if (v === '' || v == null || isEmpty(v)) delete o[k]; else o[k] = v; };
    set(s, 'base_url', this.q('base_url').value.trim());
    fields.set('base_url', this.q('base_url'));
    const load = { ...(s.load || {}) };
    load.executor = this.q('executor').value;
    fields.set('load', this.q('executor'));
    for (const k of LOAD_NUM) { const v = this.q(k).value; set(load, k, v === '' ? '' : Number(v)); fields.set(`load.${k}`, this.q(k)); }
    for (const k of LOAD_TEXT) { set(load, k, this.q(k).value.trim()); fields.set(`load.${k}`, this.q(k)); }
    const stages = this.q('stages').value.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
      const [duration, target, extra] = l.split(/\s+/);
      if (extra !== undefined || !/^\d+$/.test(target || '')) throw new Error(`a stage is "duration target": ${l}`);
      return { duration, target: Number(target) };
    });
    set(load, 'stages', stages);
    fields.set('load.stages', this.q('stages'));
    s.load = ordered(load, ['executor']);
    s.requests = [...this.requests.children].map((fs, i) => {
      const r = { ...fs.base };
      for (const k of OWNED) delete r[k];
      const f = (n) => this.q(n, fs);
      const method = f('method').value;
      r.name = f('name').value.trim();
      r[method] = f('url').value.trim();
      set(r, 'weight', f('weight').value === '' ? '' : Number(f('weight').value));
      set(r, 'headers', pairs(f('headers').value));
      const kind = f('body_kind').value;
      if (kind === 'json') {
        try { r.json = JSON.parse(f('body').value); } catch (e) { throw new Error(`request ${r.name}: the JSON body does not parse: ${e.message}`); }
      } else if (kind === 'body') r.body = f('body').value;
      set(r, 'check', pairs(f('check').value, loose));
      set(r, 'extract', pairs(f('extract').value));
      const p = `requests.${i}`;
      for (const [k, n] of [['name', 'name'], [method, 'url'], ['weight', 'weight'], ['headers', 'headers'],
        ['json', 'body'], ['body', 'body'], ['check', 'check'], ['extract', 'extract']]) fields.set(`${p}.${k}`, f(n));
      fields.set(p, f('name'));
      return ordered(r, REQ);
    });
    const th = {};
    for (const line of this.thresholds.value.split('\n').map((l) => l.trim()).filter(Boolean)) {
      const m = /^([^:{]+(?:\{[^}]*\})?)\s*:\s*(.+)$/.exec(line);
      if (!m) throw new Error(`a threshold is "metric: expression": ${line}`);
      (th[m[1].trim()] ||= []).push(m[2].trim());
    }
    set(s, 'thresholds', th);
    fields.set('thresholds', this.thresholds);
    return { scenario: ordered(s, TOP), fields };
  }

  /** Writes the YAML of the form; false (with the reason shown) when a field does not read. */
  render() {
    const err = this.box.parentElement?.querySelector('#form-error');
    try {
      const { scenario, fields } = this.read();
      const { text, paths } = toYaml(scenario);
      Object.assign(this, { yaml: text, paths, fields });
      if (err) err.hidden = true;
      this.onChange(text);
      return true;
    } catch (e) {
      if (err) { err.textContent = e.message; err.hidden = false; }
      return false;
    }
  }

  changed() { this.clearMark(); this.render(); }

  /** Reads `text` through the server into the form; rejects with its 422. */
  async load(text) {
    const r = await api('POST', '/api/v1/scenarios/parse', { text });
    this.fill(r.scenario);
  }

  clearMark() {
    for (const e of this.box.querySelectorAll('.field-error')) { e.classList.remove('field-error'); e.removeAttribute('aria-invalid'); }
  }

  /** Marks the field that wrote YAML line `line` (when the YAML is the form's); returns it. */
  mark(line, yaml) {
    this.clearMark();
    if (yaml !== this.yaml || !line) return null;
    let p = this.paths[line];
    while (p && !this.fields.has(p)) p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : null;
    const f = p && this.fields.get(p);
    if (!f) return null;
    f.classList.add('field-error');
    f.setAttribute('aria-invalid', 'true');
    return f;
  }
}
