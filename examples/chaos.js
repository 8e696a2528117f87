// Chaos test (seed 000 "Chaos Test": database failure, cache failure,
// network issues; phases "normal operation 30 s, inject failure 60 s,
// recovery 30 s"). Traffic goes to the service through a Stampede fault
// proxy; `stampede/chaos` declares the phases as scenarios with startTime,
// and at the phase boundaries the script tells the chaos agent to inject and
// to restore the fault. Every request is tagged with its phase (`phase:
// baseline | inject | recover`), so thresholds and the recovery time (in the
// end-of-test summary, the report and the pipeline's gate) can tell the
// phases apart; the agent calls stay out of the metrics.
// (Stampede only: in k6, call the agent's API with http.post instead.)
//
//   stampede pipeline run examples/pipeline.yaml      # starts the agent and proxy itself
//   # by hand: an agent with a proxy named "target" in front of the demo target
//   stampede chaos proxy --name target --upstream 127.0.0.1:3000
//   stampede run -e CHAOS_AGENT=127.0.0.1:<api> -e CHAOS_TARGET_ADDR=127.0.0.1:<proxy> examples/chaos.js
//   # the database and cache failures need the target's real dependencies:
//   # examples/chaos-deps.yaml (see its header), then -e FAULT=database or cache
//
// CHAOS_AGENT        the agent's API address (host:port), required
// CHAOS_TARGET_ADDR  the proxy's address (host:port), required
// FAULT              what breaks:
//   partition  (default) network partition: nothing gets through the proxy
//              in front of the service
//   database   the agent's target "database" is injected: a process fault
//              kills the target's real database (a proxy is cut off);
//              orders answer 503 after retries, and work again after
//   cache      the proxy "cache" between the target and its real Redis is
//              cut off: inventory reports are computed every time (slower,
//              never failed)
//   latency    +300 ms a response on the proxy in front of the service
//   errors     half the requests answer 503 at the proxy
//   reset      connections to the service are reset
// TIME_SCALE         multiplies the seed's 30 s / 60 s / 30 s (default 0.1)
// VUS                users (default 5)
// LATENCY_FACTOR     multiplies the latency thresholds (default 1)
//
// The fault is injected with a deadline (the inject phase plus 5 s), so the
// agent restores it by itself even if this script dies mid-fault; the
// agent also restores everything when it stops.

import http from 'k6/http';
import { check, sleep } from 'k6';
import chaos from 'stampede/chaos';
import { JSON_HEADERS, envInt, envNumber, envString, ms } from './lib/config.js';

const TARGET = __ENV.CHAOS_TARGET_ADDR;
if (!__ENV.CHAOS_AGENT || !TARGET) {
  throw new Error('set CHAOS_AGENT and CHAOS_TARGET_ADDR (see the header of examples/chaos.js)');
}

// Each fault: the agent's target, its proxy faults (none for a process
// fault), and the traffic that depends on what breaks.
const FAULTS = {
  partition: { target: 'target', faults: { blackhole: true }, traffic: 'products' },
  database: {
    target: 'database',
    // A proxy named "database" is cut off; a process fault takes no faults.
    faults: __ENV.CHAOS_DATABASE_ADDR ? { reset: true } : undefined,
    traffic: 'orders',
  },
  cache: { target: 'cache', faults: { blackhole: true }, traffic: 'report' },
  latency: { target: 'target', faults: { latency_ms: 300 }, traffic: 'products' },
  errors: { target: 'target', faults: { error_rate: 0.5, error_status: 503 }, traffic: 'products' },
  reset: { target: 'target', faults: { reset: true }, traffic: 'products' },
};
const FAULT = envString('FAULT', 'partition');
if (!FAULTS[FAULT]) {
  throw new Error(`FAULT must be one of ${Object.keys(FAULTS).join(', ')}, got ${FAULT}`);
}
const { target: FAULT_TARGET, faults: FAULT_FAULTS, traffic: TRAFFIC } = FAULTS[FAULT];
const TIME_SCALE = envNumber('TIME_SCALE', 0.1);
const INJECT_MS = Math.round(60000 * TIME_SCALE);
const PRODUCTS = envInt('PRODUCTS', 1000);

export const options = {
  // baseline, inject_fault, inject, restore_fault, recover
  scenarios: chaos.phases({
    baseline: Math.round(30000 * TIME_SCALE),
    inject: INJECT_MS,
    recover: Math.round(30000 * TIME_SCALE),
    vus: envInt('VUS', 5),
    exec: 'traffic',
    // Recovered: at most 1% errors (and, for the cache, p95 under a second)
    // two seconds in a row; the summary shows how long that took.
    slo: FAULT === 'cache' ? { error_rate: 0.01, p95_ms: ms(1000) } : { error_rate: 0.01 },
    k: 2,
  }),
  thresholds: {
    // Before the fault the service is healthy.
    'http_req_failed{phase:baseline}': ['rate<0.01'],
    'http_req_duration{phase:baseline}': [`p(95)<${ms(500)}`],
  },
};

const ORDER_ANSWERS = http.expectedStatuses({ min: 200, max: 299 }, 409);

const REQUESTS = {
  products: () =>
    http.get(`http://${TARGET}/api/products?limit=10`, {
      timeout: '2s',
      tags: { endpoint: 'products_list' },
    }),
  // Orders need the database: one unit of a random product. Out of stock
  // (409) is a healthy answer, not a failure.
  orders: () =>
    http.post(
      `http://${TARGET}/api/orders`,
      JSON.stringify({ items: [{ product_id: 1 + Math.floor(Math.random() * PRODUCTS), quantity: 1 }] }),
      {
        headers: JSON_HEADERS,
        timeout: '2s',
        tags: { endpoint: 'orders_create' },
        responseCallback: ORDER_ANSWERS,
      },
    ),
  // The inventory report is cached: without the cache it is computed again.
  report: () =>
    http.get(`http://${TARGET}/api/reports/inventory`, {
      timeout: '5s',
      tags: { endpoint: 'inventory_report' },
    }),
};

export function traffic() {
  const res = REQUESTS[TRAFFIC]();
  check(res, { 'answered': (r) => (r.status >= 200 && r.status < 300) || r.status === 409 });
  sleep(0.1);
}

export function injectFault() {
  // The deadline is the dead man's switch: the agent restores by itself
  // if this test dies mid-fault.
  chaos.agent().inject(FAULT_TARGET, FAULT_FAULTS, { duration: INJECT_MS + 5000 });
}

export function restoreFault() {
  chaos.agent().restore(FAULT_TARGET);
}

// Runs after the test, also when it is interrupted: nothing stays injected.
export function teardown() {
  chaos.agent().restoreAll();
}
