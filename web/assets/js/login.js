// The login page: posts the credentials to `/api/v1/auth/login` (which sets
// the HttpOnly session cookie) and goes to `?next=` — only a path on this
// server, never another site (no open redirect).

import { api } from './api.js';
import * as theme from './theme.js';

theme.init();
const $ = (x) => document.getElementById(x);

/** `?next=` if it is a path on this origin, else `/`. */
function next() {
  const n = new URLSearchParams(location.search).get('next') || '/';
  return n.startsWith('/') && !n.startsWith('//') && !n.startsWith('/\\') ? n : '/';
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('login-error');
  err.hidden = true;
  $('submit').disabled = true;
  try {
    await api('POST', '/api/v1/auth/login', { username: $('username').value, password: $('password').value });
    location.assign(next());
  } catch (e) {
    err.textContent = e.status === 401 ? 'Wrong user name or password.' : e.message;
    err.hidden = false;
    $('password').select();
  } finally {
    $('submit').disabled = false;
  }
});
$('username').focus();
