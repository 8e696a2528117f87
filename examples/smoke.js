// Smoke test (seed 000 "Smoke Test (1 min): quick validation", seed 001
// "Smoke tests on every PR"): one or two VUs call every main endpoint of the
// demo target once per iteration and check the answers, so a broken
// deployment fails in seconds, before any load test runs.
//
//   stampede run examples/smoke.js                          # 1 VU, 10 s
//   stampede run -e VUS=5 -e DURATION=1m examples/smoke.js  # seed 000: 5 VUs, 1 min
//
// VUS        virtual users (default 1; seed 000: at most 5)
// DURATION   how long (default 10s; seed 000: 1m)
// TIER       shop tenant to log in as (default professional)
// LATENCY_FACTOR  multiplies the latency thresholds (default 1)

import http from 'k6/http';
import { check, group, sleep } from 'k6';
import exec from 'k6/execution';
import { BASE_URL, JSON_HEADERS, envDuration, envInt, envString, ms } from './lib/config.js';
import { TIER_EMAILS, checkTier } from './lib/tiers.js';
import { loginUser, params } from './lib/shop.js';
import { createTask, getTask, login, logout, refresh, registerUsers } from './lib/tasks.js';

const TIER = checkTier(envString('TIER', 'professional'));

export const options = {
  vus: envInt('VUS', 1),
  duration: envDuration('DURATION', '10s'),
  thresholds: {
    checks: ['rate==1'], // every check of every endpoint passes
    http_req_failed: ['rate<0.001'], // seed 001: error rate < 0.1%
    http_req_duration: [`p(95)<${ms(500)}`], // seed 001: p95 < 500 ms
    'http_req_duration{endpoint:reports_generate}': [`p(95)<${ms(5000)}`], // baseline.yaml
  },
};

// Answers the smoke test provokes on purpose (an unknown product, a sold-out
// order, a revoked token) are expected, not failures.
const expect404 = { responseCallback: http.expectedStatuses(404) };
const expect409 = { responseCallback: http.expectedStatuses(409) };
const expect401 = { responseCallback: http.expectedStatuses(401) };

export function setup() {
  const res = http.get(`${BASE_URL}/health`);
  if (res.status !== 200) {
    throw new Error(`${BASE_URL}/health answered ${res.status}: is the target running (stampede target)?`);
  }
  return { token: loginUser(TIER_EMAILS[TIER]) };
}

function json(body) {
  return JSON.stringify(body);
}

function shop(token) {
  group('shop', () => {
    const list = http.get(`${BASE_URL}/api/products?page=1&limit=5`, params(token, { endpoint: 'products_list' }));
    check(list, {
      'products: 200 with 5 items': (r) => r.status === 200 && r.json('items.#') === 5,
      'products: total and pages': (r) => r.json('total') > 0 && r.json('pages') > 0,
    });

    const search = http.get(
      `${BASE_URL}/api/products/search?q=lamp&in_stock=true&sort=price_asc&limit=10`,
      params(token, { endpoint: 'products_search' }),
    );
    check(search, {
      'search: 200': (r) => r.status === 200,
      'search: only in-stock items': (r) => (r.json('items') || []).every((p) => p.stock > 0),
    });

    const one = http.get(`${BASE_URL}/api/products/1`, params(token, { endpoint: 'products_get' }));
    check(one, { 'product 1: 200': (r) => r.status === 200 && r.json('id') === '1' });
    const missing = http.get(
      `${BASE_URL}/api/products/no-such-product`,
      params(token, { endpoint: 'products_get' }, expect404),
    );
    check(missing, { 'unknown product: 404 with an error': (r) => r.status === 404 && !!r.json('error') });

    // Order something in stock, then read the order back.
    const inStock = (list.json('items') || []).find((p) => p.stock > 1) || { id: '1' };
    const order = http.post(
      `${BASE_URL}/api/orders`,
      json({ items: [{ product_id: inStock.id, quantity: 1 }] }),
      params(token, { endpoint: 'orders_create' }, { headers: JSON_HEADERS }),
    );
    check(order, {
      'order: 201 with an id': (r) => r.status === 201 && !!r.json('id'),
      'order: Location header': (r) => !!r.headers['Location'],
    });
    if (order.status === 201) {
      const back = http.get(
        http.url`${BASE_URL}/api/orders/${order.json('id')}`,
        params(token, { endpoint: 'orders_get' }),
      );
      check(back, { 'order: readable': (r) => r.status === 200 && r.json('id') === order.json('id') });
    }
    // More units than a product has (quantities go up to 1000 and restocked
    // products may hold more, hence the lowest stock of the page; the margin
    // covers other VUs' restocking meanwhile).
    const scarce = (list.json('items') || []).reduce((a, p) => (a && a.stock <= p.stock ? a : p), null);
    if (scarce && scarce.stock < 900) {
      const tooMany = http.post(
        `${BASE_URL}/api/orders`,
        json({ items: [{ product_id: scarce.id, quantity: scarce.stock + 100 }] }),
        params(token, { endpoint: 'orders_create' }, Object.assign({ headers: JSON_HEADERS }, expect409)),
      );
      check(tooMany, {
        'order beyond stock: 409': (r) => r.status === 409 && r.json('available') < scarce.stock + 100,
      });
    }

    const report = http.get(`${BASE_URL}/api/reports/inventory`, params(token, { endpoint: 'reports_generate' }));
    check(report, { 'inventory report: 200': (r) => r.status === 200 && !!r.json('totals') });
    const summary = http.get(
      `${BASE_URL}/api/analytics/inventory-summary`,
      params(token, { endpoint: 'analytics_summary' }),
    );
    check(summary, { 'inventory summary: 200': (r) => r.status === 200 && !!r.json('categories') });
    const details = http.get(
      `${BASE_URL}/api/reports/order-details?include=all&limit=5`,
      params(token, { endpoint: 'order_details' }),
    );
    check(details, { 'order details: 200': (r) => r.status === 200 && Array.isArray(r.json('orders')) });

    const adjust = http.post(
      `${BASE_URL}/api/inventory/adjustments`,
      json({ adjustments: [{ product_id: '2', delta: 1 }] }),
      params(token, { endpoint: 'inventory_adjust' }, { headers: JSON_HEADERS }),
    );
    check(adjust, { 'inventory adjustment: applied': (r) => r.status === 200 && r.json('applied') === 1 });

    const id = `smoke-${exec.vu.idInTest}`;
    const imported = http.post(
      `${BASE_URL}/api/bulk/import`,
      json([{ id, name: 'Smoke Test Widget', category: 'home', price: 9.99, stock: 10 }]),
      params(token, { endpoint: 'bulk_import' }, { headers: JSON_HEADERS }),
    );
    check(imported, {
      // 201 when something was imported; 200 when every id already existed.
      'bulk import: imported or skipped': (r) =>
        (r.status === 201 || r.status === 200) && r.json('imported') + (r.json('skipped') || []).length >= 1,
    });

    const metrics = http.get(`${BASE_URL}/api/metrics`, { tags: { endpoint: 'api_metrics' } });
    check(metrics, {
      'api metrics: memory usage': (r) => r.status === 200 && r.json('process.memory_usage_mb') > 0,
    });
  });
}

function flashSale() {
  group('flash sale', () => {
    // A sale of its own per VU, restarted every iteration: one unit.
    const product = `smoke-flash-${exec.vu.idInTest}`;
    const init = http.post(`${BASE_URL}/init`, json({ productId: product, quantity: 1 }), { headers: JSON_HEADERS });
    check(init, { 'init: 200': (r) => r.status === 200 && r.json('quantity') === 1 });

    const order = (key, user, extra) =>
      http.post(
        `${BASE_URL}/order`,
        json({ productId: product, userId: user }),
        Object.assign({ redirects: 0, headers: Object.assign({ 'x-idempotency-key': key }, JSON_HEADERS) }, extra),
      );
    const key = `smoke-${exec.vu.idInTest}-${exec.vu.iterationInInstance}`;
    const first = order(key, 'smoke-user-1');
    check(first, { 'order: accepted': (r) => r.status === 200 && r.json('status') === 'accepted' });
    const replay = order(key, 'smoke-user-1');
    check(replay, {
      'same key: replayed, not sold twice': (r) =>
        r.status === 200 && r.headers['Idempotent-Replayed'] === 'true' && r.json('orderId') === first.json('orderId'),
    });
    const second = order(`${key}-b`, 'smoke-user-2', expect409);
    check(second, { 'second buyer: 409 sold out': (r) => r.status === 409 });

    const verify = http.get(`${BASE_URL}/verify?productId=${product}`);
    check(verify, {
      'verify: nothing oversold': (r) =>
        r.status === 200 && r.json('oversold') === false && r.json('orders_accepted') === 1 && r.json('remaining') === 0,
    });
    const waiting = http.get(`${BASE_URL}/waiting-room?productId=${product}`);
    check(waiting, { 'waiting room: HTML page': (r) => r.status === 200 && r.body.indexOf('<html') >= 0 });
  });
}

function taskService() {
  group('task service', () => {
    const user = {
      id: `smoke-${exec.vu.idInTest}`,
      email: `smoke${exec.vu.idInTest}@example.com`,
      password: 'smoke-password',
    };
    registerUsers([user]);
    const session = login(user);
    if (!session) return;
    const created = createTask(session.accessToken, { type: 'resize-image', payload: { width: 64, height: 64 } });
    if (created.status === 201) {
      const task = getTask(session.accessToken, created.json('taskId'));
      check(task, { 'task: readable by its owner': (r) => r.status === 200 && !!r.json('status') });
    }
    const renewed = refresh(session);
    if (!renewed) return;
    const stale = http.post(`${BASE_URL}/tasks`, json({ type: 'generate-pdf' }), {
      headers: Object.assign({ Authorization: `Bearer ${session.accessToken}` }, JSON_HEADERS),
      tags: { endpoint: 'tasks_create' },
      responseCallback: expect401.responseCallback,
    });
    check(stale, { 'refreshed-away token: 401': (r) => r.status === 401 });
    logout(renewed);
    const after = http.get(`${BASE_URL}/tasks/${created.json('taskId') || 'unknown'}`, {
      headers: { Authorization: `Bearer ${renewed.accessToken}` },
      tags: { endpoint: 'tasks_get' },
      responseCallback: expect401.responseCallback,
    });
    check(after, { 'logged-out token: 401': (r) => r.status === 401 });
  });
}

function ops() {
  group('ops', () => {
    check(http.get(`${BASE_URL}/health`), { 'health: ok': (r) => r.status === 200 && r.json('status') === 'ok' });
    check(http.get(`${BASE_URL}/metrics`), {
      'metrics: Prometheus text': (r) => r.status === 200 && r.body.indexOf('http_requests_total') >= 0,
    });
  });
}

export default function (data) {
  shop(data.token);
  flashSale();
  taskService();
  ops();
  sleep(1);
}
