// Chaos test (seed 000 "Chaos Test": database failure, cache failure,
// network issues; phases "normal operation 30 s, inject failure 60 s,
// recovery 30 s"). Traffic goes to the service through a Stampede fault
// proxy; `stampede/chaos` declares the phases as scenarios with startTime,
// and at the phase boundaries the script tells the chaos agent to inject and
// to restore the fault. Every request is tagged with its phase (`phase:
// baseline | inject | recover`), so thresholds and the pipeline's recovery
// gate can tell the phases apart; the agent calls stay out of the metrics.
// (Stampede only: in k6, call the agent's API with http.post instead.)
//
//   stampede pipeline run examples/pipeline.yaml      # starts the agent and proxy itself
//   # by hand: an agent with a proxy named "target" in front of the demo target
//   stampede chaos proxy --name target --upstream 127.0.0.1:3000
//   stampede run -e CHAOS_AGENT=127.0.0.1:<api> -e CHAOS_TARGET_ADDR=127.0.0.1:<proxy> examples/chaos.js
//
// CHAOS_AGENT        the agent's API address (host:port), required
// CHAOS_TARGET_ADDR  the proxy's address (host:port), required
// FAULT              partition (default: nothing gets through), latency
//                    (+300 ms a response), errors (half the requests answer
//                    503, as a service whose database is down), reset
//                    (connections reset)
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
import { envInt, envNumber, envString, ms } from './lib/config.js';

const TARGET = __ENV.CHAOS_TARGET_ADDR;
if (!__ENV.CHAOS_AGENT || !TARGET) {
  throw new Error('set CHAOS_AGENT and CHAOS_TARGET_ADDR (see the header of examples/chaos.js)');
}
const FAULTS = {
  partition: { blackhole: true },
  latency: { latency_ms: 300 },
  errors: { error_rate: 0.5, error_status: 503 },
  reset: { reset: true },
};
const FAULT = envString('FAULT', 'partition');
if (!FAULTS[FAULT]) {
  throw new Error(`FAULT must be one of ${Object.keys(FAULTS).join(', ')}, got ${FAULT}`);
}
const TIME_SCALE = envNumber('TIME_SCALE', 0.1);
const INJECT_MS = Math.round(60000 * TIME_SCALE);

export const options = {
  // baseline, inject_fault, inject, restore_fault, recover
  scenarios: chaos.phases({
    baseline: Math.round(30000 * TIME_SCALE),
    inject: INJECT_MS,
    recover: Math.round(30000 * TIME_SCALE),
    vus: envInt('VUS', 5),
    exec: 'traffic',
  }),
  thresholds: {
    // Before the fault the service is healthy.
    'http_req_failed{phase:baseline}': ['rate<0.01'],
    'http_req_duration{phase:baseline}': [`p(95)<${ms(500)}`],
  },
};

const PARAMS = { timeout: '2s', tags: { endpoint: 'products_list' } };

export function traffic() {
  const res = http.get(`http://${TARGET}/api/products?limit=10`, PARAMS);
  check(res, { 'status is 200': (r) => r.status === 200 });
  sleep(0.1);
}

export function injectFault() {
  // The deadline is the dead man's switch: the agent restores by itself
  // if this test dies mid-fault.
  chaos.agent().inject('target', FAULTS[FAULT], { duration: INJECT_MS + 5000 });
}

export function restoreFault() {
  chaos.agent().restore('target');
}

// Runs after the test, also when it is interrupted: nothing stays injected.
export function teardown() {
  chaos.agent().restoreAll();
}
