// Database load (seed 001 Phase 6.2 "Query Performance Under Load"): an even
// mix of a simple select (products?limit=10), a complex aggregation
// (analytics/inventory-summary), a heavy join (reports/order-details?include=all)
// and a bulk write (100 inventory adjustments). Requests are tagged
// query=simple|aggregation|join|write and held to seed 001's
// baseline.yaml query_performance (simple p95 < 10 ms, join p95 < 100 ms,
// aggregation p95 < 500 ms) and "no query > 100 ms at P95" for the write.
//
//   stampede run examples/database-load.js                          # 5 VUs, 10 s
//   stampede run -e VUS=100 -e DURATION=10m examples/database-load.js  # the seed's pool of 100 connections
//
// VUS        virtual users (default 5; seed 001's connection pool: 100)
// DURATION   how long (default 10s)
// ADJUSTMENTS  adjustments per write (default 100, as in the seed)
// ORDERS     orders placed in setup() so the join has rows (default 50)
// SLEEP      pause in seconds after each request (default 0, as in the seed)
// LATENCY_FACTOR multiplies the latency thresholds and the check's 1 s (default 1)

import http from 'k6/http';
import { check, sleep } from 'k6';
import { BASE_URL, JSON_HEADERS, envDuration, envInt, envNumber, ms } from './lib/config.js';
import { baseline } from './lib/baseline.js';
import { PRODUCTS, generateBulkAdjustments, orderBody } from './lib/shop.js';
import { randomIntBetween } from './lib/random.js';

const ADJUSTMENTS = envInt('ADJUSTMENTS', 100);
const SLEEP = envNumber('SLEEP', 0);
const q = baseline.database_metrics.query_performance;

export const options = {
  vus: envInt('VUS', 5),
  duration: envDuration('DURATION', '10s'),
  thresholds: {
    'http_req_duration{query:simple}': [`p(95)<${ms(q.simple_select_p95)}`],
    'http_req_duration{query:aggregation}': [`p(95)<${ms(q.aggregation_p95)}`],
    'http_req_duration{query:join}': [`p(95)<${ms(q.complex_join_p95)}`],
    'http_req_duration{query:write}': [`p(95)<${ms(100)}`], // "No query > 100ms at P95"
    http_req_failed: ['rate<0.001'],
    checks: ['rate>0.99'],
  },
};

export function setup() {
  // Orders for the join to read.
  const n = envInt('ORDERS', 50);
  for (let i = 0; i < n; i++) {
    http.post(
      `${BASE_URL}/api/orders`,
      orderBody([{ product_id: String(randomIntBetween(1, PRODUCTS)), quantity: 1 }]),
      { headers: JSON_HEADERS, tags: { query: 'setup' }, responseCallback: http.expectedStatuses(201, 409) },
    );
  }
}

export default function () {
  const scenarios = [
    // Simple query
    () => http.get(`${BASE_URL}/api/products?limit=10`, { tags: { query: 'simple' } }),

    // Complex aggregation
    () => http.get(`${BASE_URL}/api/analytics/inventory-summary`, { tags: { query: 'aggregation' } }),

    // Heavy join
    () => http.get(`${BASE_URL}/api/reports/order-details?include=all`, { tags: { query: 'join' } }),

    // Write operation. The seed passes the object itself, which k6 sends as
    // a form (adjustments=[object Object]); the API takes JSON.
    () =>
      http.post(
        `${BASE_URL}/api/inventory/adjustments`,
        JSON.stringify({ adjustments: generateBulkAdjustments(ADJUSTMENTS) }),
        { headers: JSON_HEADERS, tags: { query: 'write' } },
      ),
  ];

  // Execute random scenario
  const scenario = scenarios[Math.floor(Math.random() * scenarios.length)];
  const response = scenario();

  check(response, {
    'status is 200': (r) => r.status === 200,
    'response time OK': (r) => r.timings.duration < ms(1000),
  });
  if (SLEEP > 0) sleep(SLEEP);
}
