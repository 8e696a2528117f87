// The shop API of seed 001 (the multi-tenant product/order service): the
// helpers its scripts call but never define (loginUser, browseProducts,
// searchProducts, createOrder, generateReport, generateBulkAdjustments) and
// the weighted user behaviour of its api-load-test.js.
//
// Every request is tagged `endpoint` (the names of seed 001's
// baseline.yaml: products_list, products_search, orders_create,
// reports_generate, ...) and `kind` (`read` or `write`), so thresholds and
// outputs can tell them apart.

import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter } from 'k6/metrics';
import { BASE_URL, JSON_HEADERS, envNumber } from './config.js';
import { randomBetween, randomIntBetween, randomItem, weightedRandom } from './random.js';
import { TIER_EMAILS } from './tiers.js';

export const FLASH_PRODUCT_ID = 'flash-sale-product-001';

// Products in the demo catalogue ("1" to "N"; `stampede target --products N`).
export const PRODUCTS = envNumber('PRODUCTS', 1000);

const CATEGORIES = [
  'electronics', 'books', 'clothing', 'home', 'garden',
  'toys', 'sports', 'beauty', 'grocery', 'automotive',
];
const SEARCH_TERMS = [
  'headphones', 'keyboard', 'novel', 'jacket', 'lamp', 'chair', 'puzzle',
  'yoga', 'coffee', 'dash cam', 'wireless', 'premium', 'vintage', 'eco',
];
const SORTS = ['relevance', 'price_asc', 'price_desc', 'rating', 'name'];

// Orders of out-of-stock products are answered 409: correct behaviour, not a
// failure of the service, so those requests do not count in http_req_failed.
const ORDER_STATUSES = http.expectedStatuses({ min: 200, max: 399 }, 409);

export const ordersCreated = new Counter('orders_created');
export const ordersOutOfStock = new Counter('orders_out_of_stock');

/** Request params: bearer token (when given), tags and extra headers. */
export function params(token, tags, extra = {}) {
  const headers = Object.assign({}, extra.headers || {});
  if (token) headers.Authorization = `Bearer ${token}`;
  return Object.assign({}, extra, { headers, tags });
}

/**
 * Logs in a shop tenant (seed 001's setup(): `loginUser('free-tier@example.com')`)
 * and returns its bearer token. Throws when the login fails, so a setup()
 * that cannot log in stops the test instead of measuring 401s.
 */
export function loginUser(email, password = 'stampede-examples') {
  const res = http.post(`${BASE_URL}/api/auth/login`, JSON.stringify({ email, password }), {
    headers: JSON_HEADERS,
    tags: { endpoint: 'auth_login', kind: 'auth' },
  });
  const ok = check(res, { 'login succeeded': (r) => r.status === 200 && !!r.json('token') });
  if (!ok) throw new Error(`login of ${email} failed: ${res.status} ${res.body}`);
  return res.json('token');
}

/** Tokens of every tier's tenant, `{ free, starter, professional, enterprise }`. */
export function loginAllTiers(tiers = Object.keys(TIER_EMAILS)) {
  const tokens = {};
  for (const tier of tiers) tokens[tier] = loginUser(TIER_EMAILS[tier]);
  return tokens;
}

// In-stock products this VU has seen while browsing: what it orders.
const seen = [];
const SEEN_MAX = 200;

function remember(items) {
  for (const p of items || []) {
    // Keep a margin so concurrent buyers rarely empty a product between a
    // listing and an order.
    if (p.category !== 'flash-sale' && p.stock >= 5) {
      seen.push(String(p.id));
      if (seen.length > SEEN_MAX) seen.shift();
    }
  }
}

/** GET /api/products with pagination (and sometimes a category). */
export function browseProducts(token) {
  const page = randomIntBetween(1, Math.max(1, Math.floor(PRODUCTS / 20)));
  const res =
    Math.random() < 0.3
      ? http.get(
          http.url`${BASE_URL}/api/products?category=${randomItem(CATEGORIES)}&limit=20&page=${randomIntBetween(1, 5)}`,
          params(token, { endpoint: 'products_list', kind: 'read' }),
        )
      : http.get(
          http.url`${BASE_URL}/api/products?page=${page}&limit=20`,
          params(token, { endpoint: 'products_list', kind: 'read' }),
        );
  check(res, {
    'products listed': (r) => r.status === 200 && Array.isArray(r.json('items')),
  });
  if (res.status === 200) remember(res.json('items'));
  return res;
}

/** GET /api/products/search with filters. */
export function searchProducts(token) {
  const q = randomItem(SEARCH_TERMS);
  const minPrice = randomIntBetween(0, 50);
  const maxPrice = minPrice + randomIntBetween(20, 500);
  const res = http.get(
    http.url`${BASE_URL}/api/products/search?q=${encodeURIComponent(q)}&min_price=${minPrice}&max_price=${maxPrice}&in_stock=true&sort=${randomItem(SORTS)}&limit=20`,
    params(token, { endpoint: 'products_search', kind: 'read' }),
  );
  check(res, {
    'search answered': (r) => r.status === 200 && typeof r.json('total') === 'number',
  });
  if (res.status === 200) remember(res.json('items'));
  return res;
}

/** GET /api/products/{id}. */
export function viewProduct(token, id) {
  const res = http.get(
    http.url`${BASE_URL}/api/products/${id}`,
    params(token, { endpoint: 'products_get', kind: 'read' }),
  );
  check(res, { 'product found': (r) => r.status === 200 && r.json('id') === String(id) });
  return res;
}

/** The body of an order of `items` (`[{product_id, quantity}]`). */
export function orderBody(items) {
  return JSON.stringify({ items });
}

/**
 * POST /api/orders with one or two products this VU has seen in stock
 * (any product when it has seen none yet). 201 is an order, 409 an
 * out-of-stock answer (counted in orders_out_of_stock).
 */
export function createOrder(token) {
  const n = Math.random() < 0.7 ? 1 : 2;
  const items = [];
  for (let i = 0; i < n; i++) {
    const id = seen.length ? randomItem(seen) : String(randomIntBetween(1, PRODUCTS));
    if (!items.some((it) => it.product_id === id)) {
      items.push({ product_id: id, quantity: randomIntBetween(1, 2) });
    }
  }
  const res = http.post(
    `${BASE_URL}/api/orders`,
    orderBody(items),
    params(token, { endpoint: 'orders_create', kind: 'write' }, {
      headers: JSON_HEADERS,
      responseCallback: ORDER_STATUSES,
    }),
  );
  check(res, {
    'order created or out of stock': (r) => r.status === 201 || r.status === 409,
  });
  if (res.status === 201) ordersCreated.add(1);
  if (res.status === 409) ordersOutOfStock.add(1);
  return res;
}

/** GET /api/reports/inventory (the deliberately heavy report). */
export function generateReport(token) {
  const res = http.get(
    `${BASE_URL}/api/reports/inventory`,
    params(token, { endpoint: 'reports_generate', kind: 'read' }),
  );
  check(res, {
    'report generated': (r) => r.status === 200 && !!r.json('totals'),
  });
  return res;
}

/**
 * `n` inventory adjustments of distinct products (seed 001's
 * database-load.js). Deltas are deliveries (+1 to +10): an adjustment
 * batch is all or nothing, and the catalogue has products with no stock,
 * so a negative delta would make most batches a 409.
 */
export function generateBulkAdjustments(n) {
  const ids = new Set();
  const count = Math.min(n, PRODUCTS);
  while (ids.size < count) ids.add(String(randomIntBetween(1, PRODUCTS)));
  return Array.from(ids, (id) => ({ product_id: id, delta: randomIntBetween(1, 10) }));
}

// Seed 001's api-load-test.js: what a user does, weighted.
export const scenarios = [
  { weight: 0.4, fn: browseProducts },
  { weight: 0.3, fn: searchProducts },
  { weight: 0.2, fn: createOrder },
  { weight: 0.1, fn: generateReport },
];

// Think time between actions (seed 001: sleep(randomBetween(1, 5))).
export const SLEEP_MIN = envNumber('SLEEP_MIN', 1);
export const SLEEP_MAX = envNumber('SLEEP_MAX', 5);

/** One user action picked by weight, then think time; returns the action's response. */
export function userJourney(token, { sleepMin = SLEEP_MIN, sleepMax = SLEEP_MAX } = {}) {
  const scenario = weightedRandom(scenarios);
  const res = scenario.fn(token);
  sleep(randomBetween(sleepMin, sleepMax));
  return res;
}
