// User pool (seed 004, TaskForge's LoadTester, HTTP part): setup() registers
// a pool of test users (loadtest1@example.com ... in parallel, "already
// registered" is fine) and logs them all in. The VUs then send seed 004's
// weighted requests — GET /health 10, POST /tasks generate-pdf 30,
// compress-video 25, resize-image 35, GET /metrics 5 — each task request as
// a random user of the pool with that user's own bearer token, refreshed
// before it expires (and a new login when a refresh is refused).
// teardown() logs the pool out.
//
// Each VU keeps its own sessions (k6 VUs share no memory, and a refresh
// replaces a session's token pair): VU n uses USERS_PER_VU users of the
// pool, round-robin ("WebSocket Conn -> Round-Robin Assignment"), and picks
// one of them at random for every request ("HTTP Requests -> Random User
// Selection").
//
//   stampede run examples/user-pool.js                                     # 10 VUs, 20 users, 10 s
//   stampede run -e VUS=50 -e USERS=20 -e DURATION=60s examples/user-pool.js    # seed 004's development config
//   stampede run -e VUS=200 -e USERS=100 -e DURATION=600s examples/user-pool.js # its production config
//
// VUS             concurrent users, seed 004's `concurrent` (default 10)
// DURATION        how long (default 10s; seed 004: 60s / 300s / 600s)
// USERS           size of the user pool (default 20)
// USERS_PER_VU    pool users each VU works as (default 3)
// TOKEN_LIFETIME  seconds a VU trusts an access token (default 840, seed 004's 14 min; 5 shows refreshes)
// THINK_TIME      pause in seconds after each request (default 0: as fast as autocannon)
// USER_PREFIX, USER_PASSWORD  the pool's e-mail prefix and password (default loadtest, testpassword123)
// LATENCY_FACTOR  multiplies the latency thresholds (default 1)

import http from 'k6/http';
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { BASE_URL, envDuration, envInt, envNumber, ms } from './lib/config.js';
import { randomItem, weightedRandom } from './lib/random.js';
import {
  TokenManager,
  authFailures,
  compressVideoTask,
  createTask,
  generatePdfTask,
  loginUsers,
  logout,
  poolUsers,
  refresh,
  registerUsers,
  resizeImageTask,
  testUsers,
} from './lib/tasks.js';

const USERS_PER_VU = envInt('USERS_PER_VU', 3);
const THINK_TIME = envNumber('THINK_TIME', 0);

export const options = {
  scenarios: {
    http_load: {
      executor: 'constant-vus',
      vus: envInt('VUS', 10),
      duration: envDuration('DURATION', '10s'),
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.001'], // seed 001's target: error rate < 0.1%
    http_req_duration: [`p(95)<${ms(500)}`],
    checks: ['rate>0.999'],
    auth_failures: ['count==0'],
    tasks_created: ['count>0'],
  },
  setupTimeout: '2m',
  teardownTimeout: '2m',
};

const users = poolUsers(testUsers);

export function setup() {
  // Creation Phase (Parallel), then Authentication Phase (Batch).
  const created = registerUsers(users);
  const sessions = loginUsers(users);
  console.log(`user pool: ${users.length} users (${created} new), all logged in`);
  return { sessions };
}

const tokens = new TokenManager();

// This VU's users: USERS_PER_VU of the pool, round-robin by VU number.
function myUsers() {
  const first = (exec.vu.idInTest - 1) * USERS_PER_VU;
  const mine = [];
  for (let i = 0; i < Math.min(USERS_PER_VU, users.length); i++) mine.push(users[(first + i) % users.length]);
  return mine;
}
let mine;

// Seed 004's request distribution.
const requests = [
  { method: 'GET', path: '/health', weight: 10 },
  { method: 'POST', path: '/tasks', setupRequest: generatePdfTask, weight: 30 },
  { method: 'POST', path: '/tasks', setupRequest: compressVideoTask, weight: 25 },
  { method: 'POST', path: '/tasks', setupRequest: resizeImageTask, weight: 35 },
  { method: 'GET', path: '/metrics', weight: 5 },
];

export default function () {
  if (!mine) mine = myUsers();
  const req = weightedRandom(requests);
  if (req.setupRequest) {
    const user = randomItem(mine); // Random user selection
    const token = tokens.getValidToken(user); // Fresh token
    if (token) {
      const res = createTask(token, req.setupRequest());
      if (res.status === 401) tokens.invalidate(user); // log in again next time
    }
  } else {
    const res = http.get(`${BASE_URL}${req.path}`, { tags: { endpoint: req.path.slice(1) } });
    check(res, { [`GET ${req.path}: 200`]: (r) => r.status === 200 });
  }
  if (THINK_TIME > 0) sleep(THINK_TIME);
}

export function teardown(data) {
  // Cleanup Phase: log out every session opened in setup(), refreshing
  // first any whose access token has expired in the meantime.
  let loggedOut = 0;
  data.sessions.forEach((session) => {
    const current = Date.now() > session.expiresAt ? refresh(session) : session;
    if (current && logout(current)) loggedOut++;
    else authFailures.add(1);
  });
  console.log(`user pool: ${loggedOut} of ${data.sessions.length} sessions logged out`);
}
