// k6/ws: ws.connect blocks the iteration until its socket closes. The
// socket's loop runs natively (stampede:native/k6/ws) and calls back into
// the handlers and timers kept here.
import n from 'stampede:native/k6/ws';
import { cookieJar } from 'k6/http';
import { withCookies, storeCookies } from 'stampede:ws-cookies';

const now = globalThis.__stampede_now;

function goError(message) {
  const e = new Error(message);
  e.name = 'GoError';
  return e;
}

// What the error handlers receive: a Go error, as k6 hands it over. Close
// errors also carry `code` and `text`.
function wsError(message, code, reason) {
  const e = code === undefined || code === null ? {} : { code, text: reason };
  Object.defineProperty(e, 'error', { value: () => message });
  Object.defineProperty(e, 'toString', { value: () => message });
  return e;
}

function delayOf(name, ms) {
  const d = Number(ms);
  if (!(d > 0)) {
    throw goError(`${name} requires a >0 timeout parameter, received ${(Number.isNaN(d) ? 0 : d).toFixed(2)}`);
  }
  return d;
}

class Socket {
  constructor(handle) {
    Object.defineProperty(this, '_h', { value: handle });
    Object.defineProperty(this, '_handlers', { value: new Map() });
    Object.defineProperty(this, '_timers', { value: [] });
  }

  on(event, handler) {
    if (typeof handler !== 'function') return;
    const key = String(event);
    let list = this._handlers.get(key);
    if (list === undefined) this._handlers.set(key, (list = []));
    list.push(handler);
  }

  send(message) {
    const err = this._h.send(String(message));
    if (err !== undefined && err !== null) this._fire('error', err);
  }

  sendBinary(message) {
    if (arguments.length === 0) throw goError('missing argument, expected ArrayBuffer');
    if (!(message instanceof ArrayBuffer)) {
      const type = message === null || message === undefined
        ? String(message)
        : (message.constructor && message.constructor.name) || typeof message;
      throw goError(`expected ArrayBuffer as argument, received: ${type}`);
    }
    const err = this._h.sendBinary(message);
    if (err !== undefined && err !== null) this._fire('error', err);
  }

  ping() {
    const err = this._h.ping();
    if (err !== undefined && err !== null) this._fire('error', err);
  }

  close(code) {
    // k6: going away by default; an explicit argument is taken as an integer.
    const c = arguments.length === 0 ? 1001 : Math.trunc(Number(code)) || 0;
    if (this._h.close(c)) this._fire('close', c);
  }

  setTimeout(fn, ms) {
    const d = delayOf('setTimeout', ms);
    this._timers.push({ fn, at: now() + d, every: 0 });
  }

  setInterval(fn, ms) {
    const d = delayOf('setInterval', ms);
    this._timers.push({ fn, at: now() + d, every: d });
  }

  // Called by the native loop.
  _fire(event, a, b, c) {
    const list = this._handlers.get(event);
    if (list === undefined) return;
    const arg = event === 'error' ? wsError(a, b, c) : a;
    for (const h of list.slice()) {
      if (arg === undefined) h(); else h(arg);
    }
  }

  // Milliseconds until the next timer is due, or -1.
  _nextTimer() {
    let min = Infinity;
    for (const t of this._timers) if (t.at < min) min = t.at;
    return min === Infinity ? -1 : Math.max(0, min - now());
  }

  // Runs the earliest timer if it is due.
  _runTimer() {
    let due = -1;
    for (let i = 0; i < this._timers.length; i++) {
      if (due < 0 || this._timers[i].at < this._timers[due].at) due = i;
    }
    if (due < 0) return;
    const t = this._timers[due];
    const at = now();
    if (t.at > at) return;
    if (t.every > 0) {
      // A ticker: late ticks are dropped, as Go's.
      t.at += t.every;
      if (t.at <= at) t.at = at + t.every;
    } else {
      this._timers.splice(due, 1);
    }
    t.fn();
  }
}

function shape(params, url) {
  let headers, tags, jar;
  if (params !== undefined && params !== null) {
    headers = params.headers;
    // k6 reads a tags string as an object of its characters.
    tags = typeof params.tags === 'string' ? { ...params.tags } : params.tags;
    if (params.jar !== undefined && params.jar !== null) jar = params.jar;
    const c = params.compression;
    if (c !== undefined && c !== null) {
      const algo = String(c).trim();
      if (algo !== '' && algo !== 'deflate') {
        throw goError(`unsupported compression algorithm '${algo}', supported algorithm is 'deflate'`);
      }
    }
  }
  if (jar === undefined) jar = cookieJar();
  return { headers: withCookies(headers, jar, url), tags, jar };
}

export function connect(url, ...args) {
  let params, fn;
  if (args.length === 2) {
    params = args[0];
    fn = args[1];
  } else if (args.length === 1) {
    fn = args[0];
  } else {
    throw goError('invalid number of arguments to ws.connect');
  }
  if (typeof fn !== 'function') throw goError('last argument to ws.connect must be a function');
  const u = String(url);
  const shaped = shape(params, u);
  const res = n.connect(u, shaped, fn, (handle) => new Socket(handle));
  if (res._setCookies !== undefined) storeCookies(shaped.jar, u, res._setCookies);
  return res;
}

export default { connect };
