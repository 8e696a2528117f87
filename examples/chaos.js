// Chaos test (seed 000 "Chaos Test": database failure, cache failure,
// network issues; phases "normal operation 30 s, inject failure 60 s,
// recovery 30 s"). Traffic goes to the service through a Stampede fault
// proxy; at the phase boundaries the script tells the chaos agent to inject
// and to restore the fault, and every request is tagged with its phase
// (`phase: baseline | inject | recover`), so thresholds and the pipeline's
// recovery gate can tell the phases apart.
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
import { envInt, envNumber, envString, formatDuration, ms } from './lib/config.js';

const AGENT = __ENV.CHAOS_AGENT;
const TARGET = __ENV.CHAOS_TARGET_ADDR;
if (!AGENT || !TARGET) {
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
const VUS = envInt('VUS', 5);
const BASELINE_MS = Math.round(30000 * TIME_SCALE);
const INJECT_MS = Math.round(60000 * TIME_SCALE);
const RECOVER_MS = Math.round(30000 * TIME_SCALE);

function phase(name, startMs, durationMs) {
  return {
    executor: 'constant-vus',
    vus: VUS,
    startTime: formatDuration(startMs),
    duration: formatDuration(durationMs),
    gracefulStop: '0s',
    tags: { phase: name },
    exec: 'traffic',
  };
}

function control(exec, startMs) {
  return {
    executor: 'per-vu-iterations',
    vus: 1,
    iterations: 1,
    startTime: formatDuration(startMs),
    tags: { phase: 'control' },
    exec,
  };
}

export const options = {
  scenarios: {
    baseline: phase('baseline', 0, BASELINE_MS),
    inject_fault: control('injectFault', BASELINE_MS),
    inject: phase('inject', BASELINE_MS, INJECT_MS),
    restore_fault: control('restoreFault', BASELINE_MS + INJECT_MS),
    recover: phase('recover', BASELINE_MS + INJECT_MS, RECOVER_MS),
  },
  thresholds: {
    // Before the fault the service is healthy.
    'http_req_failed{phase:baseline}': ['rate<0.01'],
    'http_req_duration{phase:baseline}': [`p(95)<${ms(500)}`],
    // The agent took every command.
    'checks{phase:control}': ['rate==1'],
  },
};

const PARAMS = { timeout: '2s', tags: { endpoint: 'products_list' } };

export function traffic() {
  const res = http.get(`http://${TARGET}/api/products?limit=10`, PARAMS);
  check(res, { 'status is 200': (r) => r.status === 200 });
  sleep(0.1);
}

function agent(path, body) {
  const res = http.post(`http://${AGENT}${path}`, body ? JSON.stringify(body) : null, {
    headers: { 'Content-Type': 'application/json' },
    tags: { endpoint: 'chaos_agent' },
  });
  check(res, { 'the agent took the command': (r) => r.status === 200 });
  if (res.status !== 200) {
    console.error(`chaos agent ${path}: ${res.status} ${res.body}`);
  }
}

export function injectFault() {
  agent('/api/v1/targets/target/inject', { faults: FAULTS[FAULT], duration_ms: INJECT_MS + 5000 });
}

export function restoreFault() {
  agent('/api/v1/targets/target/restore');
}

// Runs after the test, also when it is interrupted: nothing stays injected.
export function teardown() {
  http.post(`http://${AGENT}/api/v1/restore`, null, { tags: { endpoint: 'chaos_agent' } });
}
