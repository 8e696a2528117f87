// The server's JSON API, same origin, with the session cookie: one fetch
// helper whose failures are `ApiError`s carrying the platform's error body
// (`{"error": {"code", "message", "details"}}`). A 401 sends the browser to
// the login page, which comes back here afterwards.

/** A failed API call: HTTP status, error code, message and details. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || 'http_error';
    this.details = e.details || [];
  }
}

/** Goes to the login page, asking it to come back to this page. */
export function toLogin() {
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
}

/** Calls the API; resolves to the parsed JSON (or null), rejects with `ApiError`. */
export async function api(method, url, body) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(url, init);
  const type = r.headers.get('content-type') || '';
  const data = type.includes('json') ? await r.json().catch(() => null) : null;
  if (r.status === 401 && !url.startsWith('/api/v1/auth/login')) toLogin();
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

/** `GET url`. */
export const get = (url) => api('GET', url);

/** `encodeURIComponent`, short. */
export const enc = encodeURIComponent;
