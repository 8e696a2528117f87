// Memory-leak detection (seed 001 Phase 5.2): regular traffic (ten product
// listings per iteration) while sampling the service's own memory from
// GET /api/metrics (`process.memory_usage_mb`) into the `memory_usage_mb`
// trend. `memory_growth_mb` is each sample minus the memory measured in
// setup(); its threshold fails the run when the service grows by more than
// MAX_GROWTH_MB, which a leak does over a long enough run.
//
//   stampede run examples/memory-leak.js                          # 5 VUs, 10 s
//   stampede run -e VUS=400 -e DURATION=4h examples/memory-leak.js  # alongside seed 001's 4 h soak
//
// VUS            virtual users (default 5)
// DURATION       how long (default 10s; seed 001's soak: 4h)
// MAX_GROWTH_MB  allowed growth over the run in MB (default 50)
// SLEEP          pause in seconds after each iteration (default 0, as in the seed)
// LATENCY_FACTOR multiplies the latency thresholds (default 1)

import http from 'k6/http';
import { check, sleep } from 'k6';
import { Trend } from 'k6/metrics';
import { BASE_URL, envDuration, envInt, envNumber, ms } from './lib/config.js';

const memoryUsage = new Trend('memory_usage_mb');
const memoryGrowth = new Trend('memory_growth_mb');

const MAX_GROWTH_MB = envNumber('MAX_GROWTH_MB', 50);
const SLEEP = envNumber('SLEEP', 0);

export const options = {
  vus: envInt('VUS', 5),
  duration: envDuration('DURATION', '10s'),
  thresholds: {
    memory_growth_mb: [`max<${MAX_GROWTH_MB}`],
    memory_usage_mb: ['max>0'], // the metrics endpoint answered
    http_req_duration: [`p(95)<${ms(500)}`],
    http_req_failed: ['rate<0.001'],
  },
};

function memoryNow() {
  const metricsResponse = http.get(`${BASE_URL}/api/metrics`, { tags: { endpoint: 'api_metrics' } });
  if (metricsResponse.status !== 200) return null;
  const metrics = JSON.parse(metricsResponse.body);
  return metrics.process.memory_usage_mb;
}

export function setup() {
  const baseline = memoryNow();
  if (baseline === null) throw new Error(`${BASE_URL}/api/metrics is not answering`);
  console.log(`memory before the test: ${baseline} MB`);
  return { baselineMb: baseline };
}

export default function (data) {
  // Regular operations
  const responses = [];
  for (let i = 0; i < 10; i++) {
    responses.push(http.get(`${BASE_URL}/api/products`, { tags: { endpoint: 'products_list' } }));
  }
  check(responses, { 'products listed': (rs) => rs.every((r) => r.status === 200) });

  // Check memory metrics endpoint
  const mb = memoryNow();
  if (mb !== null) {
    memoryUsage.add(mb);
    memoryGrowth.add(mb - data.baselineMb);
  }
  if (SLEEP > 0) sleep(SLEEP);
}

export function teardown(data) {
  const mb = memoryNow();
  if (mb !== null) console.log(`memory after the test: ${mb} MB (${(mb - data.baselineMb).toFixed(1)} MB more)`);
}
