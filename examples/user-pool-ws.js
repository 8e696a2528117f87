// User pool with WebSocket task status (seed 004, TaskForge's LoadTester,
// WebSocket part), with k6/experimental/websockets; k6 runs it as is.
//
// setup() registers and logs in the pool (as user-pool.js). Each VU is a
// client connected as one user of the pool, round-robin ("User Pool (20
// users) -> WebSocket Connections (50)"): an iteration creates tasks over
// HTTP, opens `GET /ws?token=...`, subscribes to them
// (`{"type":"subscribe","taskId"}`), adds a new task and subscription every
// 2 s as seed 004's simulateWebSocketActivity does, follows the status
// updates until every task completes, then closes. teardown() logs out.
//
//   k6 run examples/user-pool-ws.js                                  # 10 clients, 20 users, 20 s
//   k6 run -e VUS=50 -e USERS=20 -e DURATION=60s examples/user-pool-ws.js    # seed 004's development config
//
// VUS              WebSocket clients, seed 004's connections (default 10)
// DURATION         how long (default 20s)
// USERS            size of the user pool (default 20)
// TASKS            tasks subscribed to when a session opens (default 2)
// EXTRA_TASKS      tasks added, one every 2 s, while the session is open (default 1)
// SESSION_TIMEOUT  seconds before a session that is still waiting gives up (default 30)
// TOKEN_LIFETIME, USER_PREFIX, USER_PASSWORD, LATENCY_FACTOR  as in user-pool.js

import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { setInterval, clearInterval, setTimeout, clearTimeout } from 'k6/timers';
import { WebSocket } from 'k6/experimental/websockets';
import { WS_URL, envDuration, envInt, envNumber, ms } from './lib/config.js';
import { randomItem } from './lib/random.js';
import {
  TokenManager,
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

const TASKS = envInt('TASKS', 2);
const EXTRA_TASKS = envInt('EXTRA_TASKS', 1);
const SESSION_TIMEOUT_MS = envNumber('SESSION_TIMEOUT', 30) * 1000;

const subscriptions = new Counter('task_subscriptions');
const statusUpdates = new Counter('task_status_updates');
const tasksCompleted = new Counter('tasks_completed');
const tasksFailed = new Counter('tasks_failed');
const wsErrors = new Counter('ws_errors');
const wsTimeouts = new Counter('ws_timeouts');
const completionTime = new Trend('task_completion_time', true);

export const options = {
  scenarios: {
    ws_clients: {
      executor: 'constant-vus',
      vus: envInt('VUS', 10),
      duration: envDuration('DURATION', '20s'),
      gracefulStop: '30s',
    },
  },
  thresholds: {
    ws_errors: ['count==0'],
    ws_timeouts: ['count==0'],
    tasks_completed: ['count>0'],
    task_status_updates: ['count>0'],
    ws_connecting: [`p(95)<${ms(500)}`],
    http_req_failed: ['rate<0.001'],
    checks: ['rate>0.999'],
  },
  setupTimeout: '2m',
};

const users = poolUsers(testUsers);
const tokens = new TokenManager();

export function setup() {
  registerUsers(users);
  return { sessions: loginUsers(users) };
}

const TASK_KINDS = [generatePdfTask, compressVideoTask, resizeImageTask];

export default function () {
  // Round-robin: client n is user n modulo the pool's size.
  const user = users[(exec.vu.idInTest - 1) % users.length];
  const token = tokens.getValidToken(user);
  if (!token) return;

  const started = {}; // taskId -> creation time
  const pending = new Set();
  const newTask = () => {
    const res = createTask(token, randomItem(TASK_KINDS)());
    if (res.status !== 201) return null;
    const id = res.json('taskId');
    started[id] = Date.now();
    pending.add(id);
    return id;
  };
  const first = [];
  for (let i = 0; i < TASKS; i++) {
    const id = newTask();
    if (id) first.push(id);
  }

  const ws = new WebSocket(`${WS_URL}/ws?token=${encodeURIComponent(token)}`);
  let added = 0;
  let activity = null;
  let timeout = null;
  const subscribe = (taskId) => {
    ws.send(JSON.stringify({ type: 'subscribe', taskId }));
    subscriptions.add(1);
  };
  const finish = () => {
    if (activity !== null) clearInterval(activity);
    if (timeout !== null) clearTimeout(timeout);
    activity = timeout = null;
    ws.close();
  };

  ws.onopen = () => {
    first.forEach(subscribe);
    // Seed 004's activity simulation: a new subscription every 2 s.
    activity = setInterval(() => {
      if (added >= EXTRA_TASKS) {
        clearInterval(activity);
        activity = null;
        return;
      }
      added++;
      const id = newTask();
      if (id) subscribe(id);
    }, 2000);
    timeout = setTimeout(() => {
      wsTimeouts.add(1);
      console.error(`client ${exec.vu.idInTest} (${user.email}): ${pending.size} tasks still pending, giving up`);
      finish();
    }, SESSION_TIMEOUT_MS);
    if (first.length === 0 && EXTRA_TASKS === 0) finish();
  };

  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    check(message, { 'message is status or pong': (m) => m.type === 'status' || m.type === 'pong' });
    if (message.type === 'error') {
      wsErrors.add(1);
      console.error(`client ${exec.vu.idInTest}: ${message.error}`);
      return;
    }
    if (message.type !== 'status') return;
    statusUpdates.add(1, { status: message.status });
    if (message.status === 'completed' || message.status === 'failed') {
      if (pending.delete(message.taskId)) {
        (message.status === 'completed' ? tasksCompleted : tasksFailed).add(1);
        completionTime.add(Date.now() - started[message.taskId]);
      }
      if (pending.size === 0 && added >= EXTRA_TASKS) finish();
    }
  };

  ws.onerror = (e) => {
    wsErrors.add(1);
    console.error(`client ${exec.vu.idInTest} (${user.email}): ${e.error}`);
    finish();
  };
}

export function teardown(data) {
  data.sessions.forEach((session) => {
    const current = Date.now() > session.expiresAt ? refresh(session) : session;
    if (current) logout(current);
  });
}
