// The task service of seed 004 (TaskForge): users, their tokens, and the
// tasks they create. Used by user-pool.js, user-pool-ws.js and smoke.js.
//
// Seed 004 keeps one token map for the whole load tester. k6 VUs share no
// memory, so here every VU keeps its own sessions (a TokenManager): it logs a
// user in the first time it needs them, refreshes the token before it
// expires and logs in again if a refresh is refused. Refreshing replaces a
// session's token pair, so sessions are never shared between VUs.

import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { BASE_URL, JSON_HEADERS, envInt, envNumber, envString } from './config.js';
import { randomIntBetween, randomItem } from './random.js';

// Seed 004's CONFIG.testUsers.
export const testUsers = {
  count: envInt('USERS', 20),
  emailPrefix: envString('USER_PREFIX', 'loadtest'),
  emailDomain: 'example.com',
  password: envString('USER_PASSWORD', 'testpassword123'),
};

// How long a VU trusts an access token: seed 004 sets expiresAt to 14
// minutes (the service's tokens live 15). Lower it (TOKEN_LIFETIME=5) to
// see refreshes in a short run. The service's own expiry (expiresInMs,
// minus a minute of margin) always wins when it is shorter.
export const TOKEN_LIFETIME_MS = envNumber('TOKEN_LIFETIME', 14 * 60) * 1000;

export const authFailures = new Counter('auth_failures');
export const logins = new Counter('logins');
export const tokenRefreshes = new Counter('token_refreshes');
export const tasksCreated = new Counter('tasks_created');

const REGISTER_STATUSES = http.expectedStatuses(201, 409);

/** The pool's users: `{ id, email, password }` for 1..count (seed 004's factory). */
export function poolUsers(cfg = testUsers) {
  const users = [];
  for (let i = 1; i <= cfg.count; i++) {
    users.push({
      id: `user-${i}`,
      email: `${cfg.emailPrefix}${i}@${cfg.emailDomain}`,
      password: cfg.password,
    });
  }
  return users;
}

function registerRequest(user) {
  return {
    method: 'POST',
    url: `${BASE_URL}/auth/register`,
    body: JSON.stringify({ email: user.email, password: user.password, name: user.id }),
    params: {
      headers: JSON_HEADERS,
      tags: { endpoint: 'auth_register' },
      responseCallback: REGISTER_STATUSES,
    },
  };
}

function loginRequest(user) {
  return {
    method: 'POST',
    url: `${BASE_URL}/auth/login`,
    body: JSON.stringify({ email: user.email, password: user.password }),
    params: { headers: JSON_HEADERS, tags: { endpoint: 'auth_login' } },
  };
}

/**
 * Registers every user in parallel (http.batch, `batchSize` at a time);
 * 409 "already registered" is fine (seed 004 ignores it). Returns how many
 * were created now.
 */
export function registerUsers(users, batchSize = 20) {
  let created = 0;
  for (let i = 0; i < users.length; i += batchSize) {
    const chunk = users.slice(i, i + batchSize);
    const responses = http.batch(chunk.map(registerRequest));
    responses.forEach((res, j) => {
      const ok = check(res, {
        'user registered (or already there)': (r) => r.status === 201 || r.status === 409,
      });
      if (!ok) throw new Error(`registering ${chunk[j].email} failed: ${res.status} ${res.body}`);
      if (res.status === 201) created++;
    });
  }
  return created;
}

function sessionFrom(res) {
  const body = res.json();
  const serverMs = (body.expiresInMs || body.expiresIn * 1000) - 60 * 1000;
  return {
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    expiresAt: Date.now() + Math.max(1000, Math.min(TOKEN_LIFETIME_MS, serverMs)),
  };
}

function loggedIn(res, user) {
  const ok = check(res, {
    'logged in': (r) => r.status === 200 && !!r.json('accessToken') && !!r.json('refreshToken'),
  });
  if (!ok) {
    authFailures.add(1);
    console.error(`login of ${user.email} failed: ${res.status} ${res.body}`);
  }
  return ok;
}

/** Logs every user in, in parallel; returns their sessions in the same order. */
export function loginUsers(users, batchSize = 20) {
  const sessions = [];
  for (let i = 0; i < users.length; i += batchSize) {
    const chunk = users.slice(i, i + batchSize);
    http.batch(chunk.map(loginRequest)).forEach((res, j) => {
      if (!loggedIn(res, chunk[j])) throw new Error(`cannot log in ${chunk[j].email}`);
      logins.add(1);
      sessions.push(sessionFrom(res));
    });
  }
  return sessions;
}

/** POST /auth/login: a new session, or null. */
export function login(user) {
  const r = loginRequest(user);
  const res = http.post(r.url, r.body, r.params);
  if (!loggedIn(res, user)) return null;
  logins.add(1);
  return sessionFrom(res);
}

/** POST /auth/refresh: the session's new token pair, or null when refused. */
export function refresh(session) {
  const res = http.post(`${BASE_URL}/auth/refresh`, JSON.stringify({ refreshToken: session.refreshToken }), {
    headers: JSON_HEADERS,
    tags: { endpoint: 'auth_refresh' },
  });
  const ok = check(res, { 'token refreshed': (r) => r.status === 200 && !!r.json('accessToken') });
  if (!ok) return null;
  tokenRefreshes.add(1);
  return sessionFrom(res);
}

/** POST /auth/logout with the session's access token. */
export function logout(session) {
  const res = http.post(`${BASE_URL}/auth/logout`, '{}', {
    headers: Object.assign({ Authorization: `Bearer ${session.accessToken}` }, JSON_HEADERS),
    tags: { endpoint: 'auth_logout' },
  });
  return check(res, { 'logged out': (r) => r.status === 200 });
}

/**
 * A VU's sessions, one per user it has used (seed 004's token manager:
 * proactive refresh before expiry, re-authentication when refresh fails).
 */
export class TokenManager {
  constructor() {
    this.tokens = new Map();
  }

  /** Takes over an existing session (e.g. one opened in setup()). */
  adopt(user, session) {
    this.tokens.set(user.email, Object.assign({}, session));
  }

  /** A valid access token for `user`, or null when the user cannot log in. */
  getValidToken(user) {
    let tokenData = this.tokens.get(user.email);
    // Check if token is expired or missing
    if (!tokenData || Date.now() > tokenData.expiresAt) {
      let fresh = tokenData && tokenData.refreshToken ? refresh(tokenData) : null; // Try refresh first
      if (!fresh) fresh = login(user); // Re-authenticate
      if (!fresh) {
        this.tokens.delete(user.email);
        return null;
      }
      tokenData = fresh;
      this.tokens.set(user.email, tokenData);
    }
    return tokenData.accessToken;
  }

  /** Forgets a user's session (after a 401), so the next use logs in. */
  invalidate(user) {
    this.tokens.delete(user.email);
  }

  /** Logs out every session this manager holds. */
  logoutAll() {
    let ok = 0;
    for (const session of this.tokens.values()) if (logout(session)) ok++;
    this.tokens.clear();
    return ok;
  }
}

// Seed 004's random test data.
const PDF_URLS = [
  'https://example.com/reports/q1.html',
  'https://example.com/invoices/2024-001.html',
  'https://example.com/docs/handbook.html',
];
const VIDEO_URLS = ['https://example.com/videos/intro.mp4', 'https://example.com/videos/demo.mov'];
const IMAGE_URLS = ['https://example.com/images/photo1.jpg', 'https://example.com/images/banner.png'];

export function generatePdfTask() {
  return { type: 'generate-pdf', payload: { url: randomItem(PDF_URLS) } };
}

export function compressVideoTask() {
  return {
    type: 'compress-video',
    payload: { url: randomItem(VIDEO_URLS), bitrate: randomItem(['500k', '1M', '2M']) },
  };
}

export function resizeImageTask() {
  return {
    type: 'resize-image',
    payload: { url: randomItem(IMAGE_URLS), width: randomIntBetween(100, 1920), height: randomIntBetween(100, 1080) },
  };
}

/** POST /tasks as `token`; returns the response (201 with taskId). */
export function createTask(token, task) {
  const res = http.post(`${BASE_URL}/tasks`, JSON.stringify(task), {
    headers: Object.assign({ Authorization: `Bearer ${token}` }, JSON_HEADERS),
    tags: { endpoint: 'tasks_create', task_type: task.type },
  });
  const ok = check(res, {
    'task created': (r) => r.status === 201 && !!r.json('taskId'),
  });
  if (ok) tasksCreated.add(1, { task_type: task.type });
  if (res.status === 401) authFailures.add(1);
  return res;
}

/** GET /tasks/{id} as `token`. */
export function getTask(token, id) {
  return http.get(http.url`${BASE_URL}/tasks/${id}`, {
    headers: { Authorization: `Bearer ${token}` },
    tags: { endpoint: 'tasks_get' },
  });
}
