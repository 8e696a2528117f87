// Load test (seed 001 Phase 1.1 api-load-test.js, seed 000 "Load Test:
// sustained, 80/20 mix"): users of one tenant browse (40%), search (30%),
// order (20%) and run reports (10%) with 1-5 s of think time, so 80% of the
// actions read and 20% write. The shape is seed 001's baseConfig (ramp to
// 100 VUs in 2m, hold 5m, ramp down 2m), scaled down by default.
//
//   stampede run examples/load.js                          # 10 VUs, ~14 s
//   stampede run -e SCALE=1 -e TIME_SCALE=1 examples/load.js    # seed 001: 100 VUs, 9 min
//   stampede run -e SCALE=10 -e TIME_SCALE=2.2 examples/load.js # seed 000: 1000 VUs, ~20 min
//
// SCALE       VU multiplier of baseConfig's 100 VUs (default 0.1)
// TIME_SCALE  duration multiplier of baseConfig's 9 minutes (default 0.025)
// TIER        tenant whose token the users send (default professional; see below)
// SLEEP_MIN, SLEEP_MAX  think time in seconds (default 1 and 5)
// LATENCY_FACTOR        multiplies every latency threshold (default 1)

import { baseConfig, baseThresholds, envNumber, envString, ms, scaleStages } from './lib/config.js';
import { endpointThresholds } from './lib/baseline.js';
import { loginUser, userJourney } from './lib/shop.js';
import { checkTier } from './lib/tiers.js';

const SCALE = envNumber('SCALE', 0.1);
const TIME_SCALE = envNumber('TIME_SCALE', 0.025);

// Seed 001 defaults to the free tier, whose plan allows 20 requests/s: 100
// users with 1-5 s of think time make about 30/s and would be rate limited
// (429). The professional tier's 2000/s leaves room for SCALE up to ~50;
// TIER=free shows the free plan's limit at work.
const TIER = checkTier(envString('TIER', 'professional'));

export const options = {
  stages: scaleStages(baseConfig.stages, { vus: SCALE, time: TIME_SCALE }),
  thresholds: Object.assign(
    baseThresholds(), // baseConfig: p(95)<500, error rate under 10%
    {
      // Success metrics: error rate < 0.1% under normal load, p95 < 500 ms for reads.
      http_req_failed: [baseConfig.thresholds.http_req_failed[0], 'rate<0.001'],
      'http_req_duration{kind:read}': [`p(95)<${ms(500)}`],
      // Both halves of the mix ran.
      'http_reqs{kind:read}': ['count>0'],
      'http_reqs{kind:write}': ['count>0'],
      checks: ['rate>0.999'],
    },
    endpointThresholds(), // baseline.yaml: p50/p95/p99 and error rate per endpoint
  ),
};

export function setup() {
  // Login and get tokens for different tenant tiers
  return {
    tokens: {
      free: loginUser('free-tier@example.com'),
      starter: loginUser('starter-tier@example.com'),
      professional: loginUser('pro-tier@example.com'),
      enterprise: loginUser('enterprise-tier@example.com'),
    },
  };
}

export default function (data) {
  const token = data.tokens[TIER];
  // Simulate realistic user behavior: browse 0.4, search 0.3, order 0.2,
  // report 0.1, then sleep(randomBetween(1, 5)).
  userJourney(token);
}
