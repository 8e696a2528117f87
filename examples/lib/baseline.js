// Seed 001, Phase 2.1 (k6/benchmarks/baseline.yaml) as JavaScript:
// latencies in milliseconds, error rates as fractions (0.01% = 0.0001).
import { ms } from './config.js';

export const baseline = {
  api_endpoints: {
    products_list: { p50: 50, p95: 200, p99: 500, error_rate: 0.0001 },
    products_search: { p50: 100, p95: 400, p99: 800, error_rate: 0.0001 },
    orders_create: { p50: 150, p95: 500, p99: 1000, error_rate: 0.001 },
    reports_generate: { p50: 2000, p95: 5000, p99: 10000, error_rate: 0.01 },
  },
  database_metrics: {
    connection_pool: { size: 100, active_avg: 20, wait_time_p95: 5 },
    query_performance: {
      simple_select_p95: 10,
      complex_join_p95: 100,
      aggregation_p95: 500,
    },
  },
  cache_metrics: {
    hit_rate: 0.85,
    get_latency_p95: 2,
    set_latency_p95: 5,
  },
};

/**
 * Thresholds for every endpoint of `baseline.api_endpoints` on requests
 * tagged `endpoint:<name>`: p50/p95/p99 on http_req_duration (times
 * LATENCY_FACTOR) and the error rate on http_req_failed.
 */
export function endpointThresholds(endpoints = baseline.api_endpoints) {
  const t = {};
  for (const [name, b] of Object.entries(endpoints)) {
    t[`http_req_duration{endpoint:${name}}`] = [
      `p(50)<${ms(b.p50)}`,
      `p(95)<${ms(b.p95)}`,
      `p(99)<${ms(b.p99)}`,
    ];
    t[`http_req_failed{endpoint:${name}}`] = [`rate<${b.error_rate}`];
  }
  return t;
}
