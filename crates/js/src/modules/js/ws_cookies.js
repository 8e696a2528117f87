// The cookie jar of k6/ws and k6/experimental/websockets: the handshake
// sends the jar's cookies for the URL and stores the Set-Cookie lines of its
// response. The jar is reached through its public methods (http.CookieJar).

// ws:// and wss:// as the cookie jar sees them.
function httpURL(url) {
  return url.replace(/^ws(s?):/i, 'http$1:');
}

// The jar's cookies for `url` as a Cookie header value.
function cookieHeader(jar, url) {
  const cookies = jar.cookiesForURL(httpURL(url));
  const parts = [];
  for (const name of Object.keys(cookies)) {
    for (const v of cookies[name]) parts.push(`${name}=${v}`);
  }
  return parts.join('; ');
}

// Adds the jar's cookies to the request headers (after a Cookie header the
// script set, as Go's jar does).
export function withCookies(headers, jar, url) {
  const out = {};
  if (headers !== undefined && headers !== null) {
    for (const k of Object.keys(headers)) out[k] = headers[k];
  }
  const cookie = cookieHeader(jar, url);
  if (cookie === '') return out;
  const key = Object.keys(out).find((k) => k.toLowerCase() === 'cookie');
  if (key === undefined || out[key] === undefined || out[key] === null || out[key] === '') {
    if (key !== undefined) delete out[key];
    out.Cookie = cookie;
  } else {
    out[key] = `${out[key]}; ${cookie}`;
  }
  return out;
}

// Stores a handshake response's Set-Cookie lines in the jar.
export function storeCookies(jar, url, lines) {
  const u = httpURL(url);
  for (const line of lines) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const opts = {};
    for (const a of attrs) {
      const i = a.indexOf('=');
      const k = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
      const v = i < 0 ? '' : a.slice(i + 1).trim();
      if (k === 'domain') opts.domain = v;
      else if (k === 'path') opts.path = v;
      else if (k === 'max-age') opts.max_age = Number(v);
      else if (k === 'expires') opts.expires = v;
      else if (k === 'secure') opts.secure = true;
      else if (k === 'httponly') opts.http_only = true;
    }
    jar.set(u, pair.slice(0, eq).trim(), pair.slice(eq + 1).trim(), opts);
  }
}
