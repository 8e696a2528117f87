// k6/http: argument shaping and the Response class; requests run natively.
import n from 'stampede:native/k6/http';

const TEMPLATE = Symbol('template');

// --- gjson-style selectors for Response.json(selector) -------------------
function splitPath(path) {
  const parts = [];
  let cur = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === '\\' && i + 1 < path.length) { cur += path[++i]; continue; }
    if (c === '.') { parts.push(cur); cur = ''; continue; }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

function wildcardMatch(pattern, s) {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(s);
}

function selectPath(value, parts) {
  if (parts.length === 0) return value;
  const [head, ...rest] = parts;
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (head === '#') {
      if (rest.length === 0) return value.length;
      return value.map((v) => selectPath(v, rest)).filter((v) => v !== undefined);
    }
    const q = /^#\((.+?)(==|!=|<=|>=|<|>|%)(.+)\)(#?)$/.exec(head);
    if (q) {
      const [, key, op, rawWant, all] = q;
      let want = rawWant.trim();
      if (/^".*"$/.test(want)) want = want.slice(1, -1);
      else if (!isNaN(Number(want))) want = Number(want);
      const test = (v) => {
        const got = selectPath(v, splitPath(key));
        switch (op) {
          case '==': return got === want || String(got) === String(want);
          case '!=': return String(got) !== String(want);
          case '<': return got < want;
          case '<=': return got <= want;
          case '>': return got > want;
          case '>=': return got >= want;
          case '%': return typeof got === 'string' && wildcardMatch(String(want), got);
        }
        return false;
      };
      if (all === '#') return value.filter(test).map((v) => selectPath(v, rest));
      const found = value.find(test);
      return found === undefined ? undefined : selectPath(found, rest);
    }
    if (/^\d+$/.test(head)) return selectPath(value[Number(head)], rest);
    return undefined;
  }
  if (typeof value === 'object') {
    if (head.includes('*') || head.includes('?')) {
      const key = Object.keys(value).find((k) => wildcardMatch(head, k));
      return key === undefined ? undefined : selectPath(value[key], rest);
    }
    return Object.prototype.hasOwnProperty.call(value, head) ? selectPath(value[head], rest) : undefined;
  }
  return undefined;
}

// Methods the native Response gets from JavaScript.
const responsePrototype = n.responsePrototype();
Object.defineProperty(responsePrototype, 'json', {
  configurable: true,
  writable: true,
  value: function json(selector) {
    if (this._json === undefined) {
      const body = this.body;
      if (body === null || body === undefined) {
        throw new Error('the body is null so we can\'t transform it to JSON - this likely was because of a request error getting the response');
      }
      const text = typeof body === 'string' ? body : n.bytesToString(body);
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new SyntaxError(`cannot parse json due to an error: ${e.message}`);
      }
      Object.defineProperty(this, '_json', { value: parsed, configurable: true });
    }
    if (selector === undefined) return this._json;
    return selectPath(this._json, splitPath(String(selector)));
  },
});
Object.defineProperty(responsePrototype, 'html', {
  configurable: true,
  writable: true,
  value: function html(selector) {
    if (this._html === undefined) {
      const body = this.body;
      if (body === null || body === undefined) {
        throw new Error('the body is null so we can\'t transform it to HTML - this likely was because of a request error getting the response');
      }
      const text = typeof body === 'string' ? body : n.bytesToString(body);
      Object.defineProperty(this, '_html', { value: n.htmlExport('parseHTML')(text, this.url), configurable: true });
    }
    return selector === undefined ? this._html : this._html.find(selector);
  },
});

// clickLink() and submitForm() live in k6/html, which loads on first use.
for (const name of ['clickLink', 'submitForm']) {
  Object.defineProperty(responsePrototype, name, {
    configurable: true,
    writable: true,
    value(...args) { return n.htmlExport(name)(this, args, request); },
  });
}

// --- request bodies --------------------------------------------------------
export class FileData {
  constructor(data, filename, contentType) {
    this.data = data;
    this.filename = filename;
    this.content_type = contentType || 'application/octet-stream';
  }
}

export function file(data, filename, contentType) {
  return new FileData(data, filename, contentType);
}

// Native: naming the typed array globals here would load them into every VU.
const isBinary = n.isBinary;

// Go's url.QueryEscape.
function queryEscape(v) {
  return encodeURIComponent(v)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%20/g, '+');
}

// Go's url.Values.Encode, as k6 sends an object body: keys sorted, each
// array value repeated under its key.
function encodeForm(obj) {
  const parts = [];
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    const vals = Array.isArray(v) ? v : [v];
    for (const x of vals) parts.push(queryEscape(k) + '=' + queryEscape(x === null || x === undefined ? '' : String(x)));
  }
  return parts.join('&');
}

// Returns [body, contentTypeIfUnset].
function prepareBody(body) {
  if (body === undefined || body === null) return [null, null];
  if (typeof body === 'string' || isBinary(body)) return [body, null];
  if (body instanceof FileData) return [body.data, null];
  if (typeof body === 'object') {
    const hasFile = Object.keys(body).some((k) => body[k] instanceof FileData);
    if (!hasFile) return [encodeForm(body), 'application/x-www-form-urlencoded'];
    const boundary = n.boundary();
    const chunks = [];
    for (const k of Object.keys(body)) {
      const v = body[k];
      if (v instanceof FileData) {
        const fname = v.filename === undefined ? k : v.filename;
        chunks.push(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"; filename="${fname}"\r\nContent-Type: ${v.content_type}\r\n\r\n`);
        chunks.push(v.data);
        chunks.push('\r\n');
      } else {
        chunks.push(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v === null || v === undefined ? '' : String(v)}\r\n`);
      }
    }
    chunks.push(`--${boundary}--\r\n`);
    return [n.concat(chunks), `multipart/form-data; boundary=${boundary}`];
  }
  return [String(body), null];
}

function urlOf(url) {
  if (url && typeof url === 'object' && url[TEMPLATE] !== undefined) return [url.url, url[TEMPLATE]];
  return [String(url), undefined];
}

export function request(method, url, body, params) {
  const [u, name] = urlOf(url);
  const [b, ctype] = prepareBody(body);
  return n.request(String(method).toUpperCase(), u, b, params, ctype, name);
}

export function get(url, params) {
  // The common case goes straight to the native request.
  if (typeof url === 'string') return n.request('GET', url, null, params, null, undefined);
  return request('GET', url, null, params);
}
export function head(url, params) { return request('HEAD', url, null, params); }
export function post(url, body, params) { return request('POST', url, body, params); }
export function put(url, body, params) { return request('PUT', url, body, params); }
export function patch(url, body, params) { return request('PATCH', url, body, params); }
export function del(url, body, params) { return request('DELETE', url, body, params); }
export function options(url, body, params) { return request('OPTIONS', url, body, params); }

// Resolves when the response arrives; the VU keeps running meanwhile.
export function asyncRequest(method, url, body, params) {
  const [u, name] = urlOf(url);
  const [b, ctype] = prepareBody(body);
  return n.asyncRequest(String(method).toUpperCase(), u, b, params, ctype, name);
}

function batchItem(item) {
  if (typeof item === 'string' || (item && typeof item === 'object' && (item[TEMPLATE] !== undefined))) {
    const [u, name] = urlOf(item);
    return ['GET', u, null, undefined, null, name];
  }
  let method, url, body, params;
  if (Array.isArray(item)) {
    [method, url, body, params] = item;
  } else if (item && typeof item === 'object') {
    ({ method, url, body, params } = item);
  } else {
    throw new TypeError('invalid batch request: ' + String(item));
  }
  if (url === undefined) throw new TypeError('a batch request must have a url');
  const [u, name] = urlOf(url);
  const [b, ctype] = prepareBody(body);
  return [String(method || 'GET').toUpperCase(), u, b, params, ctype, name];
}

export function batch(requests) {
  if (Array.isArray(requests)) {
    return n.batch(requests.map(batchItem));
  }
  if (requests && typeof requests === 'object') {
    const keys = Object.keys(requests);
    const results = n.batch(keys.map((k) => batchItem(requests[k])));
    const out = {};
    keys.forEach((k, i) => { out[k] = results[i]; });
    return out;
  }
  throw new TypeError('http.batch() expects an array or an object of requests');
}

export function url(strings, ...values) {
  let u = '', name = '';
  strings.forEach((s, i) => {
    u += s; name += s;
    if (i < values.length) { u += String(values[i]); name += '${}'; }
  });
  return { url: u, [TEMPLATE]: name, toString() { return u; } };
}

export function expectedStatuses(...args) {
  const ranges = [];
  for (const a of args) {
    if (typeof a === 'number' && Number.isInteger(a)) ranges.push([a, a]);
    else if (a && typeof a === 'object' && Number.isInteger(a.min) && Number.isInteger(a.max)) ranges.push([a.min, a.max]);
    else throw new TypeError('expectedStatuses() takes status codes (integers) or {min, max} objects, got ' + JSON.stringify(a));
  }
  return n.expectedStatuses(ranges);
}

export function setResponseCallback(cb) { n.setResponseCallback(cb); }

export class CookieJar {
  constructor() { n.newJar(this); }
  cookiesForURL(u) { return n.jarCookiesForURL(this, String(u)); }
  set(u, name, value, opts) { n.jarSet(this, String(u), String(name), String(value), opts); }
  clear(u) { n.jarClear(this, String(u)); }
  delete(u, name) { n.jarDelete(this, String(u), String(name)); }
}

export function cookieJar() {
  return n.vuJar(CookieJar.prototype);
}

export const TLS_1_0 = 'tls1.0';
export const TLS_1_1 = 'tls1.1';
export const TLS_1_2 = 'tls1.2';
export const TLS_1_3 = 'tls1.3';
export const OCSP_STATUS_GOOD = 'good';
export const OCSP_STATUS_REVOKED = 'revoked';
export const OCSP_STATUS_UNKNOWN = 'unknown';
export const OCSP_STATUS_SERVER_FAILED = 'server_failed';
export const OCSP_STATUS_TRY_LATER = 'try_later';
export const OCSP_REASON_UNSPECIFIED = 'unspecified';

export default {
  request, get, head, post, put, patch, del, options, asyncRequest, batch, file, url,
  expectedStatuses, setResponseCallback, cookieJar, CookieJar, FileData,
  TLS_1_0, TLS_1_1, TLS_1_2, TLS_1_3,
  OCSP_STATUS_GOOD, OCSP_STATUS_REVOKED, OCSP_STATUS_UNKNOWN, OCSP_STATUS_SERVER_FAILED, OCSP_STATUS_TRY_LATER,
  OCSP_REASON_UNSPECIFIED,
};
