// k6/html: parseHTML and k6's Selection and Element (goquery's API). The
// document stays native; a Selection is the document plus node numbers.
import n from 'stampede:native/k6/html';

const DOC = Symbol('doc');
const IDS = Symbol('ids');
const PREV = Symbol('prev');
const NODE = Symbol('node');

// Go's type names, as k6's errors show them.
function goType(v) {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'function') return 'func(sobek.FunctionCall) sobek.Value';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

// k6 throws these from Go.
function goError(message) {
  const e = new Error(message);
  e.name = 'GoError';
  return e;
}

function make(doc, ids, prev, url) {
  const s = Object.create(Selection.prototype);
  Object.defineProperty(s, DOC, { value: doc });
  Object.defineProperty(s, IDS, { value: ids });
  Object.defineProperty(s, PREV, { value: prev });
  s.url = url;
  return s;
}

// [selector, nodes] for a selector string, a Selection or an Element.
function target(s, arg) {
  if (typeof arg === 'string') return [arg, undefined];
  if (arg instanceof Selection) return [undefined, arg[DOC] === s[DOC] ? arg[IDS] : []];
  if (arg instanceof Element) return [undefined, arg[DOC] === s[DOC] ? [arg[NODE]] : []];
  throw goError(`invalid argument, cannot use a '${goType(arg)}' as a selector`);
}

function derive(s, ids) { return make(s[DOC], ids, s, s.url); }

function one(s, id) { return make(s[DOC], [id], s, s.url); }

function element(doc, id, url) {
  if (id === undefined || id === null) return undefined;
  const name = doc.nodeName(id);
  const Cls = (doc.nodeType(id) === 1 && ELEMENT_CLASSES[name]) || Element;
  const e = Object.create(Cls.prototype);
  Object.defineProperty(e, DOC, { value: doc });
  Object.defineProperty(e, NODE, { value: id });
  Object.defineProperty(e, 'url', { value: url });
  return e;
}

function elemOf(s, i) { return element(s[DOC], s[IDS][i], s.url); }

// Go's url.QueryEscape.
function queryEscape(v) {
  return encodeURIComponent(v)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

// snaker's initialisms, which k6's data() keys follow.
const INITIALISMS = new Set(['API', 'ASCII', 'CPU', 'CSS', 'DNS', 'EOF', 'GUID', 'HTML', 'HTTP', 'HTTPS',
  'ID', 'IP', 'JSON', 'LHS', 'QPS', 'RAM', 'RHS', 'RPC', 'SLA', 'SMTP', 'SSH', 'TLS', 'TTL', 'UI', 'UID',
  'UUID', 'URI', 'URL', 'UTF8', 'VM', 'XML', 'XSRF', 'XSS']);

function attrToProperty(s) {
  const i = s.indexOf('-');
  if (i < 0) return s;
  return s.slice(0, i) + s.slice(i + 1).split('-').map((w) => {
    const up = w.toUpperCase();
    return INITIALISMS.has(up) ? up : w.charAt(0).toUpperCase() + w.slice(1);
  }).join('');
}

function propertyToAttr(s) {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2').toLowerCase();
}

function dataValue(v) {
  if (v.length === 0) return undefined;
  if (v[0] === '{' || v[0] === '[') {
    try { return JSON.parse(v); } catch (e) { return v; }
  }
  switch (v) {
    case 'true': return true;
    case 'false': return false;
    case 'null': case 'undefined': return undefined;
  }
  const f = Number(v);
  if (v.trim() !== '' && Number.isFinite(f) && String(f) === v) return f;
  return v;
}

// The value goquery's valueOrHTML gives an option.
function optionValue(doc, id) {
  const v = doc.attr(id, 'value');
  return v === undefined ? doc.html(id) : v;
}

function walk(s, kind, filter) {
  const f = filter === undefined || filter === null ? undefined : String(filter);
  return derive(s, s[DOC].walk(s[IDS], kind, f, undefined, undefined));
}

function walkUntil(s, kind, stop, filter) {
  const f = filter === undefined || filter === null ? undefined : String(filter);
  let sel, nodes;
  if (stop === undefined || stop === null) {
    sel = undefined;
  } else if (typeof stop === 'string' || stop instanceof Selection) {
    [sel, nodes] = target(s, stop);
  } else {
    throw goError(`invalid argument, cannot use a '${goType(stop)}' as a selector`);
  }
  return derive(s, s[DOC].walk(s[IDS], kind, f, sel, nodes));
}

class Selection {
  constructor() { throw new TypeError('use parseHTML() to make a Selection'); }

  find(arg) {
    const [sel, nodes] = target(this, arg);
    return derive(this, this[DOC].find(this[IDS], sel, nodes));
  }

  add(arg) {
    const [sel, nodes] = target(this, arg);
    const extra = sel !== undefined ? this[DOC].find([0], sel, undefined) : nodes;
    const ids = this[IDS].slice();
    for (const id of extra) if (!ids.includes(id)) ids.push(id);
    return derive(this, ids);
  }

  closest(arg) {
    const [sel, nodes] = target(this, arg);
    return derive(this, this[DOC].closest(this[IDS], sel, nodes));
  }

  has(arg) {
    const [sel, nodes] = target(this, arg);
    return derive(this, this[DOC].has(this[IDS], sel, nodes));
  }

  filter(arg) {
    if (typeof arg === 'function') {
      return derive(this, this[IDS].filter((id, i) => Boolean(arg.call(this, i, one(this, id)))));
    }
    if (typeof arg !== 'string' && !(arg instanceof Selection)) {
      throw goError('the argument to filter() must be a function, a selector or a selection');
    }
    const [sel, nodes] = target(this, arg);
    return derive(this, this[DOC].filter(this[IDS], true, sel, nodes));
  }

  not(arg) {
    if (typeof arg === 'function') {
      return derive(this, this[IDS].filter((id, i) => !arg.call(this, i, one(this, id))));
    }
    const [sel, nodes] = target(this, arg);
    return derive(this, this[DOC].filter(this[IDS], false, sel, nodes));
  }

  is(arg) {
    if (typeof arg === 'function') {
      return this[IDS].some((id, i) => Boolean(arg.call(this, i, one(this, id))));
    }
    if (typeof arg !== 'string' && !(arg instanceof Selection)) {
      throw goError('the argument to is() must be a function, a selector or a selection');
    }
    const [sel, nodes] = target(this, arg);
    return this[DOC].is(this[IDS], sel, nodes);
  }

  children(filter) { return walk(this, 'children', filter); }
  contents() { return walk(this, 'contents'); }
  parent(filter) { return walk(this, 'parent', filter); }
  parents(filter) { return walk(this, 'parents', filter); }
  next(filter) { return walk(this, 'next', filter); }
  nextAll(filter) { return walk(this, 'nextAll', filter); }
  prev(filter) { return walk(this, 'prev', filter); }
  prevAll(filter) { return walk(this, 'prevAll', filter); }
  siblings(filter) { return walk(this, 'siblings', filter); }
  parentsUntil(until, filter) { return walkUntil(this, 'parents', until, filter); }
  nextUntil(until, filter) { return walkUntil(this, 'nextAll', until, filter); }
  prevUntil(until, filter) { return walkUntil(this, 'prevAll', until, filter); }

  size() { return this[IDS].length; }

  end() { return this[PREV] || make(this[DOC], [], undefined, this.url); }

  eq(i) {
    const ids = this[IDS];
    let k = Math.trunc(Number(i));
    if (k < 0) k += ids.length;
    return derive(this, k >= 0 && k < ids.length ? [ids[k]] : []);
  }

  first() { return this.eq(0); }
  last() { return this.eq(-1); }

  slice(start, end) {
    const len = this[IDS].length;
    let a = Math.trunc(Number(start)) || 0;
    let b = end === undefined ? len : Math.trunc(Number(end)) || 0;
    if (a < 0) a += len;
    if (b < 0) b += len;
    return derive(this, this[IDS].slice(Math.max(0, a), Math.min(len, b)));
  }

  text() { return this[DOC].text(this[IDS]); }

  html() {
    return this[IDS].length === 0 ? '' : this[DOC].html(this[IDS][0]);
  }

  attr(name, ...def) {
    const v = this[IDS].length === 0 ? undefined : this[DOC].attr(this[IDS][0], String(name));
    if (v === undefined) return def.length > 0 ? def[0] : undefined;
    return v;
  }

  val() {
    if (this[IDS].length === 0) return undefined;
    const doc = this[DOC];
    const id = this[IDS][0];
    switch (doc.nodeName(id)) {
      case 'input': {
        const v = doc.attr(id, 'value');
        if (v !== undefined) return v;
        const type = doc.attr(id, 'type');
        return type === 'radio' || type === 'checkbox' ? 'on' : '';
      }
      case 'button': {
        const v = doc.attr(id, 'value');
        return v === undefined ? '' : v;
      }
      case 'textarea': return doc.html(id);
      case 'option': return optionValue(doc, id);
      case 'select': {
        const selected = doc.find([id], 'option[selected]', undefined);
        if (doc.attr(id, 'multiple') !== undefined) return selected.map((o) => optionValue(doc, o));
        return selected.length === 0 ? '' : optionValue(doc, selected[0]);
      }
      default: return undefined;
    }
  }

  data(key) {
    if (this[IDS].length === 0) return undefined;
    const attrs = this[DOC].attrs(this[IDS][0]);
    if (attrs.length === 0) return undefined;
    if (key !== undefined) {
      const v = this[DOC].attr(this[IDS][0], 'data-' + propertyToAttr(String(key)));
      return v === undefined ? undefined : dataValue(v);
    }
    const out = {};
    for (const [k, v] of attrs) {
      if (k.startsWith('data-') && k.length > 5) out[attrToProperty(k.slice(5))] = dataValue(v);
    }
    return out;
  }

  each(fn) {
    if (typeof fn !== 'function') throw goError('the argument to each() must be a function');
    this[IDS].forEach((id, i) => { fn.call(this, i, element(this[DOC], id, this.url)); });
    return this;
  }

  map(fn) {
    if (typeof fn !== 'function') throw goError('the argument to map() must be a function');
    const out = [];
    this[IDS].forEach((id, i) => {
      // As k6: an item whose callback throws is left out.
      try { out.push(fn.call(this, i, one(this, id))); } catch (e) { /* skipped */ }
    });
    return out;
  }

  get(i) {
    const ids = this[IDS];
    if (i === undefined) return ids.map((_, k) => elemOf(this, k));
    const k = Math.trunc(Number(i));
    if (k < ids.length && k > -ids.length) return elemOf(this, k < 0 ? k + ids.length : k);
    return undefined;
  }

  toArray() { return this[IDS].map((id) => one(this, id)); }

  index(arg) {
    const ids = this[IDS];
    if (arg === undefined) {
      if (ids.length === 0) return -1;
      return this[DOC].walk([ids[0]], 'prevAll', undefined, undefined, undefined).length;
    }
    if (typeof arg === 'string') {
      if (ids.length === 0) return -1;
      return this[DOC].find([0], arg, undefined).indexOf(ids[0]);
    }
    if (arg instanceof Selection) {
      const other = arg[IDS];
      return other.length === 0 || arg[DOC] !== this[DOC] ? -1 : ids.indexOf(other[0]);
    }
    return -1;
  }

  serializeArray() {
    const doc = this[DOC];
    const fields = 'input,select,textarea,keygen';
    let ids = this[IDS];
    ids = doc.is(ids, 'form', undefined) ? doc.find(ids, fields, undefined) : doc.filter(ids, true, fields, undefined);
    const excluded = ['submit', 'button', 'reset', 'image', 'file'];
    return ids.filter((id) => {
      const name = doc.attr(id, 'name') || '';
      const type = doc.attr(id, 'type') || '';
      return name !== '' && doc.attr(id, 'disabled') !== 'disabled' && !excluded.includes(type)
        && (doc.attr(id, 'checked') === 'checked' || (type !== 'checkbox' && type !== 'radio'));
    }).map((id) => ({ name: doc.attr(id, 'name'), value: one(this, id).val() }));
  }

  serializeObject() {
    const out = {};
    for (const { name, value } of this.serializeArray()) out[name] = value;
    return out;
  }

  serialize() {
    const values = new Map();
    for (const { name, value } of this.serializeArray()) {
      if (typeof value === 'string') values.set(name, [value]);
      else if (Array.isArray(value)) values.set(name, value);
    }
    const parts = [];
    for (const k of [...values.keys()].sort()) {
      for (const v of values.get(k)) parts.push(queryEscape(k) + '=' + queryEscape(v));
    }
    return parts.join('&');
  }
}

// --- Elements -------------------------------------------------------------

function elementList(doc, ids, url) { return ids.map((id) => element(doc, id, url)); }

class Element {
  constructor() { throw new TypeError('Elements come from Selection.get() and each()'); }

  nodeName() { return this[DOC].nodeName(this[NODE]); }
  nodeType() { return this[DOC].nodeType(this[NODE]); }
  nodeValue() {
    const t = this.nodeType();
    if (t === 3) return this[DOC].text([this[NODE]]);
    if (t === 8) return '';
    return undefined;
  }
  id() { return this._str('id'); }
  className() { return this._str('class'); }
  classList() { const c = this._attr('class'); return c === undefined ? [] : c.split(/\s+/).filter(Boolean); }
  lang() { return this._attr('lang'); }
  innerHTML() { return this[DOC].html(this[NODE]); }
  textContent() { return this[DOC].text([this[NODE]]); }
  namespaceURI() { return this[DOC].namespace(this[NODE]); }
  isDefaultNamespace() { return false; }
  toString() { return this.nodeType() === 1 ? '[object html.Node]' : `[object ${this.nodeName()}]`; }

  getAttribute(name) { return this._attr(String(name)); }
  hasAttribute(name) { return this._attr(String(name)) !== undefined; }
  hasAttributes() { return this[DOC].attrs(this[NODE]).length > 0; }
  getAttributeNode(name) {
    const v = this._attr(String(name));
    return v === undefined ? undefined : { owner_element: this, name: String(name), value: v };
  }
  attributes() {
    const out = {};
    for (const [name, value] of this[DOC].attrs(this[NODE])) {
      out[name] = { owner_element: this, name, value };
    }
    return out;
  }

  parentNode() { return this._link(0); }
  previousSibling() { return this._link(1); }
  nextSibling() { return this._link(2); }
  firstChild() { return this._link(3); }
  lastChild() { return this._link(4); }
  parentElement() { const p = this._rel('parent'); return element(this[DOC], p[0], this.url); }
  previousElementSibling() { return element(this[DOC], this._rel('prev')[0], this.url); }
  nextElementSibling() { return element(this[DOC], this._rel('next')[0], this.url); }
  firstElementChild() { return element(this[DOC], this._rel('children')[0], this.url); }
  lastElementChild() { const c = this._rel('children'); return element(this[DOC], c[c.length - 1], this.url); }
  childNodes() { return elementList(this[DOC], this._rel('contents'), this.url); }
  children() { return elementList(this[DOC], this._rel('children'), this.url); }
  childElementCount() { return this._rel('children').length; }
  hasChildNodes() { return this[DOC].links(this[NODE])[3] !== null; }
  ownerDocument() { return element(this[DOC], 0, this.url); }

  isSameNode(o) { return o instanceof Element && o[DOC] === this[DOC] && o[NODE] === this[NODE]; }
  isEqualNode(o) { return o instanceof Element && o.innerHTML() === this.innerHTML(); }
  contains(o) {
    return o instanceof Element && o[DOC] === this[DOC] && (o[NODE] === this[NODE] || this[DOC].contains(this[NODE], o[NODE]));
  }
  matches(selector) { return this[DOC].is([this[NODE]], String(selector), undefined); }
  querySelector(selector) { return element(this[DOC], this[DOC].find([this[NODE]], String(selector), undefined)[0], this.url); }
  querySelectorAll(selector) { return elementList(this[DOC], this[DOC].find([this[NODE]], String(selector), undefined), this.url); }
  getElementsByClassName(name) { return this.querySelectorAll('.' + name); }
  getElementsByTagName(name) { return this.querySelectorAll(name); }

  // Helpers for the element-specific classes.
  _attr(name) { return this[DOC].attr(this[NODE], name); }
  _str(name) { const v = this[DOC].attr(this[NODE], name); return v === undefined ? '' : v; }
  _bool(name) { return this._attr(name) !== undefined; }
  _int(name, def) { const v = parseInt(this._attr(name), 10); return Number.isNaN(v) ? def : v; }
  _link(i) { const l = this[DOC].links(this[NODE])[i]; return l === null ? undefined : element(this[DOC], l, this.url); }
  _rel(kind) { return this[DOC].walk([this[NODE]], kind, undefined, undefined, undefined); }
  _find(selector) { return this[DOC].find([this[NODE]], selector, undefined); }
  _closest(selector) { return this[DOC].closest([this[NODE]], selector, undefined); }
  _element(id) { return element(this[DOC], id, this.url); }
  _list(ids) { return elementList(this[DOC], ids, this.url); }
  _rootFind(selector) { return this[DOC].find([0], selector, undefined); }
}

// --- URLs (Go's url.Parse and ResolveReference, enough for links) ---------

function parseURL(s) {
  const m = /^(?:([a-zA-Z][a-zA-Z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(s) || [];
  let user, host = m[2];
  if (host !== undefined && host.includes('@')) {
    const at = host.lastIndexOf('@');
    user = host.slice(0, at);
    host = host.slice(at + 1);
  }
  return { scheme: m[1] || '', user, host, path: m[3] || '', query: m[4], fragment: m[5] };
}

function removeDots(path) {
  const out = [];
  for (const seg of path.split('/')) {
    if (seg === '..') { if (out.length > 1) out.pop(); } else if (seg !== '.') out.push(seg);
  }
  let p = out.join('/');
  if (/\/\.\.?$/.test(path)) p += '/';
  return p.startsWith('/') ? p : '/' + p;
}

function resolveURL(base, ref) {
  const r = parseURL(ref);
  const b = parseURL(base || '');
  if (r.scheme) return r;
  const out = { scheme: b.scheme, user: b.user, host: b.host, query: r.query, fragment: r.fragment };
  if (r.host !== undefined) return { ...r, scheme: b.scheme };
  if (r.path === '') {
    out.path = b.path;
    if (r.query === undefined) out.query = b.query;
  } else if (r.path.startsWith('/')) {
    out.path = removeDots(r.path);
  } else {
    const dir = b.path.slice(0, b.path.lastIndexOf('/') + 1);
    out.path = removeDots(dir + r.path);
  }
  return out;
}

function formatURL(u) {
  let s = u.scheme ? u.scheme + ':' : '';
  if (u.host !== undefined) s += '//' + (u.user !== undefined ? u.user + '@' : '') + u.host;
  s += u.path;
  if (u.query !== undefined) s += '?' + u.query;
  if (u.fragment !== undefined) s += '#' + u.fragment;
  return s;
}

const DEFAULT_PORTS = { http: '80', https: '443', ftp: '21' };

function splitHost(host) {
  const m = /^(.*?)(?::(\d*))?$/.exec(host || '');
  return [m[1], m[2] === undefined ? '' : m[2]];
}

// An URL attribute, resolved against the page's URL when there is one.
function urlAttr(e, name) {
  const v = e._str(name);
  return e.url ? formatURL(resolveURL(e.url, v)) : v;
}

class HrefElement extends Element {
  _url() { return resolveURL(this.url, this._str('href')); }
  href() { return urlAttr(this, 'href'); }
  protocol() { const s = this._url().scheme; return s === '' ? ':' : s; }
  host() {
    const u = this._url();
    const [h, p] = splitHost(u.host);
    return p !== '' && DEFAULT_PORTS[u.scheme] === p ? h : (u.host || '');
  }
  hostname() { return splitHost(this._url().host)[0]; }
  port() { return splitHost(this._url().host)[1]; }
  pathname() { return this._url().path; }
  search() { const q = this._url().query; return q ? '?' + q : ''; }
  hash() { const f = this._url().fragment; return f ? '#' + f : ''; }
  origin() {
    const u = this._url();
    if (u.scheme === '') return '';
    return u.scheme === 'file' ? this.href() : `${u.scheme}://${u.host || ''}`;
  }
  username() { const u = this._url().user; return u === undefined ? '' : u.split(':')[0]; }
  password() { const u = this._url().user; return u === undefined || !u.includes(':') ? '' : u.slice(u.indexOf(':') + 1); }
  text() { return this.textContent(); }
  rel() { return this._str('rel'); }
  relList() { return this._str('rel').split(/\s+/).filter(Boolean); }
  target() { return this._str('target'); }
  download() { return this._str('download'); }
  hreflang() { return this._str('hreflang'); }
  media() { return this._str('media'); }
  type() { return this._str('type'); }
  referrerPolicy() { return this._str('referrerpolicy'); }
}

class FormElement extends Element {
  action() { return urlAttr(this, 'action'); }
  method() { return this._str('method') === 'post' ? 'post' : 'get'; }
  enctype() { return this._str('enctype'); }
  encoding() { return this._str('enctype'); }
  acceptCharset() { return this._str('accept-charset'); }
  autocomplete() { return this._str('autocomplete'); }
  name() { return this._str('name'); }
  noValidate() { return this._bool('novalidate'); }
  target() { return this._str('target'); }
  elements() { return this._list(this._find('input,select,button,textarea,fieldset')); }
  length() { return this._find('input,select,button,textarea,fieldset').length; }
}

class FormFieldElement extends Element {
  form() {
    const id = this._attr('form');
    if (id !== undefined) return this._element(this._rootFind(`form[id="${id}"]`)[0]);
    return this._element(this._closest('form')[0]);
  }
  _formAttr(name) {
    const own = this._attr('form' + name);
    if (own !== undefined) return own;
    const f = this.form();
    return f === undefined ? '' : f._str(name);
  }
  formAction() { return this._formAttr('action'); }
  formEnctype() { return this._formAttr('enctype'); }
  formMethod() { return this._formAttr('method').toLowerCase() === 'post' ? 'post' : 'get'; }
  formNoValidate() { return this._bool('formnovalidate') || (this.form() !== undefined && this.form()._bool('novalidate')); }
  formTarget() { return this._formAttr('target'); }
  name() { return this._str('name'); }
  disabled() { return this._bool('disabled'); }
  autofocus() { return this._bool('autofocus'); }
  required() { return this._bool('required'); }
  labels() {
    const id = this._attr('id');
    const ids = id === undefined ? [] : this._rootFind(`label[for="${id}"]`);
    return this._list(ids.concat(this._closest('label').filter((l) => !ids.includes(l))));
  }
}

class InputElement extends FormFieldElement {
  type() { const t = this._attr('type'); return t === undefined ? 'text' : t.toLowerCase(); }
  value() { return this._str('value'); }
  defaultValue() { return this._str('value'); }
  checked() { return this._bool('checked'); }
  defaultChecked() { return this._bool('checked'); }
  readOnly() { return this._bool('readonly'); }
  multiple() { return this._bool('multiple'); }
  placeholder() { return this._str('placeholder'); }
  accept() { return this._str('accept'); }
  alt() { return this._str('alt'); }
  src() { return this._str('src'); }
  min() { return this._str('min'); }
  max() { return this._str('max'); }
  step() { return this._str('step'); }
  pattern() { return this._str('pattern'); }
  size() { return this._int('size', 20); }
  maxLength() { return this._int('maxlength', -1); }
  autocomplete() { return this._str('autocomplete'); }
}

class ButtonElement extends FormFieldElement {
  type() { const t = (this._attr('type') || '').toLowerCase(); return t === 'reset' || t === 'button' ? t : 'submit'; }
  value() { const v = this._attr('value'); return v === undefined ? this.innerHTML() : v; }
}

class SelectElement extends FormFieldElement {
  options() { return this._list(this._find('option')); }
  length() { return this._find('option').length; }
  multiple() { return this._bool('multiple'); }
  type() { return this._bool('multiple') ? 'select-multiple' : 'select-one'; }
  selectedOptions() { return this._list(this._find('option[selected]')); }
  selectedIndex() {
    const all = this._find('option');
    const sel = this._find('option[selected]');
    return sel.length === 0 ? -1 : all.indexOf(sel[0]);
  }
  value() {
    const sel = this._find('option[selected]');
    return sel.length === 0 ? '' : this._element(sel[0]).value();
  }
  size() { return this._int('size', 0); }
}

class TextAreaElement extends FormFieldElement {
  type() { return 'textarea'; }
  value() { return this.textContent(); }
  defaultValue() { return this.textContent(); }
  placeholder() { return this._str('placeholder'); }
  readOnly() { return this._bool('readonly'); }
  rows() { return this._int('rows', 2); }
  cols() { return this._int('cols', 20); }
  maxLength() { return this._int('maxlength', -1); }
}

class OptionElement extends Element {
  value() { const v = this._attr('value'); return v === undefined ? this.innerHTML() : v; }
  text() { return this.textContent(); }
  label() { const l = this._attr('label'); return l === undefined ? this.textContent() : l; }
  selected() { return this._bool('selected'); }
  defaultSelected() { return this._bool('selected'); }
  disabled() { return this._bool('disabled') || this._closest('optgroup[disabled]').length > 0; }
  index() {
    const holder = this._closest('select,datalist')[0];
    if (holder === undefined) return 0;
    return this._element(holder)._find('option').indexOf(this[NODE]);
  }
  form() { return this._element(this._closest('form')[0]); }
}

class ImageElement extends Element {
  src() { return urlAttr(this, 'src'); }
  currentSrc() { return urlAttr(this, 'src'); }
  alt() { return this._str('alt'); }
  width() { return this._int('width', 0); }
  height() { return this._int('height', 0); }
  isMap() { return this._bool('ismap'); }
  useMap() { return this._str('usemap'); }
  crossOrigin() { return this._attr('crossorigin'); }
  sizes() { return this._str('sizes'); }
  srcset() { return this._str('srcset'); }
  referrerPolicy() { return this._str('referrerpolicy'); }
}

class LabelElement extends Element {
  htmlFor() { return this._str('for'); }
  control() {
    const f = this._attr('for');
    return f === undefined ? undefined : this._element(this._rootFind(`[id="${f}"]`)[0]);
  }
  form() { return this._element(this._closest('form')[0]); }
}

class ScriptElement extends Element {
  src() { return urlAttr(this, 'src'); }
  type() { return this._str('type'); }
  charset() { return this._str('charset'); }
  async() { return this._bool('async'); }
  defer() { return this._bool('defer'); }
  text() { return this.textContent(); }
  noModule() { return this._bool('nomodule'); }
  crossOrigin() { return this._attr('crossorigin'); }
}

class LinkElement extends Element {
  href() { return urlAttr(this, 'href'); }
  rel() { return this._str('rel'); }
  relList() { return this._str('rel').split(/\s+/).filter(Boolean); }
  media() { return this._str('media'); }
  hreflang() { return this._str('hreflang'); }
  type() { return this._str('type'); }
  crossOrigin() { return this._attr('crossorigin'); }
  disabled() { return this._bool('disabled'); }
}

class MetaElement extends Element {
  name() { return this._str('name'); }
  content() { return this._str('content'); }
  httpEquiv() { return this._str('http-equiv'); }
  charset() { return this._str('charset'); }
}

class LiElement extends Element {
  value() { return this._int('value', 0); }
}

const ELEMENT_CLASSES = {
  a: HrefElement, area: HrefElement, form: FormElement, input: InputElement, button: ButtonElement,
  select: SelectElement, textarea: TextAreaElement, option: OptionElement, img: ImageElement,
  label: LabelElement, script: ScriptElement, link: LinkElement, meta: MetaElement, li: LiElement,
};

// The response's URL (for res.html()) resolves links, as in k6.
export function parseHTML(src, url) {
  const doc = n.parse(src === undefined || src === null ? '' : String(src));
  return make(doc, [0], undefined, typeof url === 'string' ? url : '');
}

export default { parseHTML };

// Response.clickLink() and submitForm() (k6's response.go), called by k6/http
// with the response, the method's arguments and its request function.

// The keys k6 reads from their first argument, which Go turns into an
// object (so null and undefined throw, a number has none).
function linkOptions(args, defaults) {
  const out = { ...defaults };
  if (args.length === 0) return out;
  const o = args[0];
  if (o === undefined || o === null) throw new TypeError('Cannot convert undefined or null to object');
  for (const k of Object.keys(Object(o))) {
    if (!(k in defaults)) continue;
    const v = o[k];
    out[k] = k === 'params' || k === 'fields' ? v : String(v);
  }
  return out;
}

function resolveAgainst(base, ref) {
  return formatURL(resolveURL(base, ref));
}

function clickLink(res, args, request) {
  const o = linkOptions(args, { selector: 'a[href]', params: null });
  const el = res.html(o.selector);
  if (el.size() === 0) {
    throw goError(`no element found for selector '${o.selector}' in response '${res.url}'`);
  }
  const href = el.attr('href');
  if (href === undefined) {
    throw goError(`no valid href attribute value found on element '${o.selector}' in response '${res.url}'`);
  }
  return request('GET', resolveAgainst(res.url, String(href)), null, o.params);
}

function submitForm(res, args, request) {
  const o = linkOptions(args, {
    formSelector: 'form', submitSelector: '[type="submit"]', fields: undefined, params: null,
  });
  const form = res.html(o.formSelector);
  if (form.size() === 0) {
    throw goError(`no form found for selector '${o.formSelector}' in response '${res.url}'`);
  }
  const methodAttr = form.attr('method');
  const method = methodAttr === undefined ? 'GET' : String(methodAttr).toUpperCase();
  const actionAttr = form.attr('action');
  const target = actionAttr === undefined ? res.url : resolveAgainst(res.url, String(actionAttr));
  const values = form.serializeObject();
  const submit = form.find(o.submitSelector);
  const name = submit.attr('name');
  const value = submit.attr('value');
  if (name !== undefined && value !== undefined) values[name] = value;
  if (o.fields !== undefined && o.fields !== null) {
    for (const k of Object.keys(o.fields)) values[k] = o.fields[k];
  }
  if (method !== 'GET') return request(method, target, values, o.params);
  // The values replace the action's query (Go's url.Values.Encode: keys
  // sorted), as Go's RawQuery does; the fragment stays.
  const hash = target.indexOf('#');
  const fragment = hash < 0 ? '' : target.slice(hash);
  const noFragment = hash < 0 ? target : target.slice(0, hash);
  const q = noFragment.indexOf('?');
  const base = q < 0 ? noFragment : noFragment.slice(0, q);
  const query = Object.keys(values).sort()
    .map((k) => queryEscape(k) + '=' + queryEscape(String(values[k]))).join('&');
  return request('GET', base + (query === '' ? '' : '?' + query) + fragment, null, o.params);
}

// For Response.html(), clickLink() and submitForm(), which load this module
// on first use.
if (n.parseHTML === undefined) {
  Object.defineProperty(n, 'parseHTML', { value: parseHTML });
  Object.defineProperty(n, 'clickLink', { value: clickLink });
  Object.defineProperty(n, 'submitForm', { value: submitForm });
}
