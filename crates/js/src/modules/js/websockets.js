// k6/experimental/websockets (and k6/websockets): the browser-like
// WebSocket. The connection is a chain of the VU's asynchronous operations
// (stampede:native/k6/experimental/websockets), which calls #event here.
import n from 'stampede:native/k6/experimental/websockets';
import { cookieJar } from 'k6/http';
import { withCookies, storeCookies } from 'stampede:ws-cookies';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const EVENTS = ['open', 'message', 'error', 'close', 'ping', 'pong'];
const OPTIONS = ['headers', 'tags', 'jar', 'compression'];

function goError(message) {
  const e = new Error(message);
  e.name = 'GoError';
  return e;
}

// --- Blob --------------------------------------------------------------------
function bytesOf(part) {
  if (part instanceof Blob) return part._bytes();
  if (part instanceof ArrayBuffer) return new Uint8Array(part.slice(0));
  if (ArrayBuffer.isView(part)) {
    return new Uint8Array(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength));
  }
  return new Uint8Array(n.encode(String(part)));
}

export class Blob {
  #bytes;
  #type;

  constructor(parts, options) {
    const chunks = [];
    let size = 0;
    if (parts !== undefined && parts !== null) {
      for (const p of parts) {
        const b = bytesOf(p);
        chunks.push(b);
        size += b.length;
      }
    }
    const all = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    this.#bytes = all;
    const t = options !== undefined && options !== null && options.type !== undefined ? String(options.type) : '';
    this.#type = /^[\x20-\x7e]*$/.test(t) ? t.toLowerCase() : '';
  }

  get size() { return this.#bytes.length; }

  get type() { return this.#type; }

  _bytes() { return this.#bytes.slice(); }

  arrayBuffer() { return Promise.resolve(this.#bytes.slice().buffer); }

  bytes() { return Promise.resolve(this.#bytes.slice()); }

  text() { return Promise.resolve(n.decode(this.#bytes)); }

  slice(start, end, contentType) {
    const len = this.#bytes.length;
    const rel = (v, d) => {
      if (v === undefined) return d;
      const x = Math.trunc(Number(v)) || 0;
      return x < 0 ? Math.max(len + x, 0) : Math.min(x, len);
    };
    const from = rel(start, 0);
    const to = Math.max(rel(end, len), from);
    return new Blob([this.#bytes.subarray(from, to)], { type: contentType === undefined ? '' : contentType });
  }
}

// --- WebSocket ---------------------------------------------------------------
export class WebSocket {
  #id;
  #url;
  #jar;
  #state = CONNECTING;
  #binaryType = 'blob';
  #protocol = '';
  #extensions = [];
  #on = { open: null, message: null, error: null, close: null, ping: null, pong: null };
  #listeners = { open: [], message: [], error: [], close: [], ping: [], pong: [] };

  constructor(url, protocols, params) {
    if (url === undefined || url === null) throw goError('WebSocket requires a url');
    const u = String(url);
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(u);
    const scheme = m ? m[1].toLowerCase() : '';
    if (scheme !== 'ws' && scheme !== 'wss') {
      throw goError(`WebSocket requires url with scheme ws or wss, but got "${scheme}"`);
    }
    const hash = u.indexOf('#');
    if (hash >= 0 && hash < u.length - 1) {
      throw goError(`WebSocket requires no url fragment, but got "${u.slice(hash + 1)}"`);
    }
    let protos = [];
    if (protocols !== undefined && protocols !== null) {
      protos = Array.isArray(protocols) ? protocols.map(String) : [String(protocols)];
    }
    let headers;
    let tags;
    let jar;
    if (params !== undefined && params !== null) {
      for (const k of Object.keys(params)) {
        if (!OPTIONS.includes(k)) throw goError(`unknown WebSocket's option ${k}`);
      }
      headers = params.headers;
      tags = params.tags;
      if (params.jar !== undefined && params.jar !== null) jar = params.jar;
      if (params.compression !== undefined) {
        const algo = String(params.compression).trim();
        if (algo !== 'deflate') {
          throw goError(`unsupported compression algorithm '${algo}', supported algorithm is 'deflate'`);
        }
      }
    }
    this.#jar = jar === undefined ? cookieJar() : jar;
    this.#url = u;
    this.#id = n.open(u, protos, { headers: withCookies(headers, this.#jar, u), tags },
      (kind, a, b, c, d) => this.#event(kind, a, b, c, d));
  }

  get url() { return this.#url; }

  get readyState() { return this.#state; }

  get bufferedAmount() { return n.buffered(this.#id); }

  get extensions() { return this.#extensions; }

  get protocol() { return this.#protocol; }

  get binaryType() { return this.#binaryType; }

  set binaryType(t) {
    if (t !== 'blob' && t !== 'arraybuffer') {
      throw goError(`unknown binaryType ${t}, the supported ones are "blob" and "arraybuffer"`);
    }
    this.#binaryType = t;
  }

  get onopen() { return this.#on.open; }

  set onopen(fn) { this.#setOn('open', fn); }

  get onmessage() { return this.#on.message; }

  set onmessage(fn) { this.#setOn('message', fn); }

  get onerror() { return this.#on.error; }

  set onerror(fn) { this.#setOn('error', fn); }

  get onclose() { return this.#on.close; }

  set onclose(fn) { this.#setOn('close', fn); }

  get onping() { return this.#on.ping; }

  set onping(fn) { this.#setOn('ping', fn); }

  get onpong() { return this.#on.pong; }

  set onpong(fn) { this.#setOn('pong', fn); }

  // onopen, onmessage, ...: one handler each, run before the listeners.
  #setOn(type, fn) {
    if (fn === undefined || fn === null) {
      this.#on[type] = null;
      return;
    }
    if (typeof fn !== 'function') throw goError(`a value for 'on${type}' should be callable`);
    this.#on[type] = fn;
  }

  addEventListener(type, handler) {
    if (typeof handler !== 'function') {
      throw goError(`handler for event type "${type}" isn't a callable function`);
    }
    const list = this.#listeners[type];
    if (list === undefined || !EVENTS.includes(type)) {
      console.warn(`can't add event handler: unknown event type: ${type}`);
      return;
    }
    list.push(handler);
  }

  send(data) {
    this.#assertOpen();
    if (typeof data === 'string') {
      n.send(this.#id, data, false);
    } else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data) || data instanceof Blob) {
      n.send(this.#id, bytesOf(data), true);
    } else {
      throw goError(`unsupported send type ${data === null ? 'null' : typeof data}`);
    }
  }

  ping() {
    this.#assertOpen();
    n.ping(this.#id);
  }

  close(code, reason) {
    if (this.#state === CLOSED || this.#state === CLOSING) return;
    const c = code === undefined || code === null || Number(code) === 0 ? 1000 : Math.trunc(Number(code));
    this.#state = CLOSING;
    n.close(this.#id, c, reason === undefined || reason === null ? '' : String(reason));
  }

  #assertOpen() {
    if (this.#state !== OPEN) throw goError('InvalidStateError');
  }

  #event(kind, a, b, c, d) {
    switch (kind) {
      case 'open':
        if (d !== undefined) storeCookies(this.#jar, this.#url, d);
        if (this.#state !== CONNECTING) return;
        this.#state = OPEN;
        this.#protocol = a;
        this.#extensions = b;
        this.#guarded('open', this.#newEvent('open'));
        return;
      case 'message': {
        if (this.#state !== OPEN) return;
        let data = a;
        if (b) data = this.#binaryType === 'blob' ? new Blob([a]) : a;
        const ev = this.#newEvent('message');
        ev.data = data;
        ev.origin = this.#url;
        this.#guarded('message', ev);
        return;
      }
      case 'ping':
      case 'pong':
        this.#fire(kind, this.#newEvent(kind));
        return;
      case 'close':
        if (d !== undefined) storeCookies(this.#jar, this.#url, d);
        this.#closed(a, b, c);
        return;
    }
  }

  // Runs listeners whose exception closes the socket (k6: the error and
  // close listeners run, then the exception ends the iteration).
  #guarded(type, ev) {
    try {
      this.#fire(type, ev);
    } catch (e) {
      n.abort(this.#id);
      this.#closed(String(e), undefined, '');
      throw e;
    }
  }

  #closed(error, code, reason) {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    if (error !== undefined && error !== null) {
      const ev = this.#newEvent('error');
      ev.error = error;
      this.#fire('error', ev);
    }
    const ev = this.#newEvent('close');
    if (code !== undefined) ev.code = code;
    ev.reason = reason === undefined ? '' : reason;
    this.#fire('close', ev);
  }

  #newEvent(type) {
    return { type, target: this, timestamp: Date.now() };
  }

  #fire(type, ev) {
    const on = this.#on[type];
    if (on !== null) on(ev);
    for (const l of this.#listeners[type].slice()) l(ev);
  }
}

export default { WebSocket, Blob };
