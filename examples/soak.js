// Soak test (seed 001 Phase 5.1 "Extended Duration Test"; seed 000 "Soak
// Test (2+ hours): 500 VUs, memory leaks"; seed 003 "Scenario 3: 50 VUs,
// 30m"): the load test's user mix held for hours, with seed 001's soak
// thresholds (p95 < 500 ms, error rate < 1%). Pair it with memory-leak.js
// (or watch /api/metrics) to see whether the service's memory stays flat.
//
//   stampede run examples/soak.js                                         # 10 VUs, ~14 s
//   stampede run -e VUS=400 -e RAMP_DURATION=5m -e SOAK_DURATION=4h examples/soak.js  # seed 001
//   stampede run -e VUS=500 -e RAMP_DURATION=5m -e SOAK_DURATION=2h examples/soak.js  # seed 000
//
// VUS            users held during the soak (default 10; seed 001: 400)
// SOAK_DURATION  how long they are held (default 10s; seed 001: 4h)
// RAMP_DURATION  ramp up, and down (default 2s; seed 001: 5m)
// TIER           tenant the users log in as (default enterprise: 10 000 requests/s)
// SLEEP_MIN, SLEEP_MAX  think time in seconds (default 1 and 5)
// LATENCY_FACTOR multiplies the latency thresholds (default 1)

import { envDuration, envInt, envString, ms } from './lib/config.js';
import { loginUser, userJourney } from './lib/shop.js';
import { TIER_EMAILS, checkTier } from './lib/tiers.js';

const VUS = envInt('VUS', 10);
const RAMP = envDuration('RAMP_DURATION', '2s');
const TIER = checkTier(envString('TIER', 'enterprise'));

// Seed 001's k6/tests/soak-test.js with its 400 VUs, 5m and 4h as variables.
export const options = {
  stages: [
    { duration: RAMP, target: VUS }, // Ramp up
    { duration: envDuration('SOAK_DURATION', '10s'), target: VUS }, // Stay at VUS users for SOAK_DURATION
    { duration: RAMP, target: 0 }, // Ramp down
  ],
  thresholds: {
    http_req_duration: [`p(95)<${ms(500)}`],
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

export function setup() {
  return { token: loginUser(TIER_EMAILS[TIER]) };
}

export default function (data) {
  userJourney(data.token);
}
